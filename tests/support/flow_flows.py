"""A workflow for flow-control tests: it records when it began and ended (an activity on
each side, into `LOG`), so a test can see the order a key's workflows ran in and whether two
overlapped; `FAIL` names event bodies' `n` values whose workflow fails."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError


@dataclass
class Record:
    spans: dict[str, list[float]] = field(default_factory=dict)  # workflow id -> [begin, end]
    order: list[str] = field(default_factory=list)  # workflow ids as they began

    def clear(self) -> None:
        self.spans.clear()
        self.order.clear()


LOG = Record()
FAIL: set[int] = set()


@activity.defn(name="flow_probe_mark")
async def flow_probe_mark(mark: list[str]) -> None:
    workflow_id, edge = mark
    if edge == "begin":
        LOG.order.append(workflow_id)
        LOG.spans[workflow_id] = [time.monotonic(), 0.0]
    else:
        LOG.spans[workflow_id][1] = time.monotonic()


@workflow.defn(name="FlowProbeWorkflow")
class FlowProbeWorkflow:
    @workflow.run
    async def run(self, event: dict[str, Any]) -> int:
        me = workflow.info().workflow_id
        once = RetryPolicy(maximum_attempts=3)
        timeout = timedelta(seconds=10)
        await workflow.execute_activity(
            flow_probe_mark, [me, "begin"], start_to_close_timeout=timeout, retry_policy=once
        )
        body = event.get("body") or {}
        await workflow.sleep(timedelta(milliseconds=float(body.get("ms", 50))))
        await workflow.execute_activity(
            flow_probe_mark, [me, "end"], start_to_close_timeout=timeout, retry_policy=once
        )
        if body.get("n") in FAIL:
            raise ApplicationError(f"event {body.get('n')} fails", non_retryable=True)
        return int(body.get("n", 0))
