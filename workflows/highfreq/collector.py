"""What the batch and debounce collectors share: dedupe that survives continue-as-new, and
starting the route's workflow once per (route, key, sequence).

A collector completes after `idle_seconds` without events; the next event for its key starts
a new one. Target ids therefore hold the collector chain's first run id as well as the
sequence, so a later chain for the same key never collides with an earlier one's targets.
"""

from __future__ import annotations

import contextlib
from collections import deque
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.start_batch import start_batch_workflow
    from webhook_gateway.contracts.batching import StartBatchInput
    from webhook_gateway.contracts.highfreq import CollectorInput, CollectorStatus, EventBatch
    from workflows.dedupe import DeliveryLog

SEEN_CARRIED = 1_000
DELIVERED_KEPT = 20
START_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,  # never give up: these events were acknowledged
)


class CollectorState:
    def __init__(self, data: CollectorInput) -> None:
        self.data = data
        self.sequence = data.sequence
        self.delivered: deque[str] = deque(data.delivered, maxlen=DELIVERED_KEPT)
        self._seen = DeliveryLog()
        self._recent: deque[str] = deque(maxlen=SEEN_CARRIED)
        for delivery_id in data.seen:
            self.first_time(delivery_id)

    def first_time(self, delivery_id: str) -> bool:
        if not self._seen.first_time(delivery_id):
            return False
        self._recent.append(delivery_id)
        return True

    def should_rotate(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.data.history_events
        )

    def _next_target_id(self) -> str:
        data = self.data
        chain = workflow.info().first_execution_run_id
        workflow_id = f"{data.workflow_id_prefix}{data.key}-{chain}-{self.sequence}"
        self.sequence += 1
        return workflow_id

    async def start_target(self, argument: Any) -> str:
        """Start the route's workflow for the next sequence number as a child (abandoned on
        close); a duplicate is done."""
        data = self.data
        workflow_id = self._next_target_id()
        # Already started: this run is a retry of a task that started it before.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                data.workflow,
                argument,
                id=workflow_id,
                task_queue=data.task_queue,
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        self.delivered.append(workflow_id)
        return workflow_id

    async def start_batch(self, batch: EventBatch) -> str:
        """Start the route's workflow for the next sequence number from a local activity: the
        collector's history gets a marker, not the batch again, and no child's events."""
        data = self.data
        workflow_id = self._next_target_id()
        await workflow.execute_local_activity(
            start_batch_workflow,
            StartBatchInput(
                workflow=data.workflow, task_queue=data.task_queue, workflow_id=workflow_id,
                batch=batch,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=START_RETRY,
        )  # fmt: skip
        self.delivered.append(workflow_id)
        return workflow_id

    def status(self, buffered: int) -> CollectorStatus:
        return CollectorStatus(
            buffered=buffered, sequence=self.sequence, delivered=list(self.delivered)
        )

    def carried(self, **update: Any) -> CollectorInput:
        return self.data.model_copy(
            update={
                "sequence": self.sequence,
                "seen": list(self._recent),
                "delivered": list(self.delivered),
                **update,
            }
        )
