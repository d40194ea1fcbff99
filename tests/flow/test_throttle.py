"""`throttle` on the time-skipping server (its timers fire on time, where the dev server's
fire on a one-second tick): a key's starts never exceed `burst + per_second * t` in any
window of t seconds, and nothing is dropped.

The sequencer's own clock is its workflow task's start time (the history's
WorkflowTaskStarted before each StartChildWorkflowExecutionInitiated): its starts obey the
bucket exactly. The children's start times as Temporal records them follow a moment later."""

from __future__ import annotations

import itertools
from datetime import datetime

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from tests.flow.support import completed_on, ended, flow_gateway
from tests.support.flow_flows import LOG
from tests.support.polling import eventually

RATE, BURST = 5.0, 2


def most_in_a_window(times: list[datetime], *, slack: float = 0.0) -> float:
    """The largest excess of starts over `BURST + RATE * t` in any window [t_i, t_j]."""
    times = sorted(times)
    worst = float("-inf")
    for i, j in itertools.combinations_with_replacement(range(len(times)), 2):
        span = (times[j] - times[i]).total_seconds() + slack
        worst = max(worst, (j - i + 1) - (BURST + RATE * span))
    return worst


async def start_times(handle: WorkflowHandle[object, object]) -> dict[str, datetime]:
    """Child workflow id -> the sequencer's clock when it started it."""
    history = await handle.fetch_history()
    task_started: datetime | None = None
    found: dict[str, datetime] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            task_started = event.event_time.ToDatetime()
        if event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            assert task_started is not None
            attributes = event.start_child_workflow_execution_initiated_event_attributes
            found[attributes.workflow_id] = task_started
    return found


async def test_a_keys_starts_keep_to_burst_plus_rate_and_none_is_dropped(
    time_skipping: WorkflowEnvironment,
) -> None:
    client = time_skipping.client
    throttle = {"key": "body.account", "per_second": RATE, "burst": BURST}
    async with flow_gateway(client, throttle=throttle) as flow:
        ids = [await flow.accepted({"account": "t", "n": n, "ms": 0}) for n in range(8)]
        sequencer = flow.sequencer("t")
        async with flow.worker(), completed_on(time_skipping, sequencer):
            assert await eventually(lambda: ended(ids), bool), LOG.spans
        status = await sequencer.describe()
        started = await start_times(sequencer)
        recorded = {w: (await client.get_workflow_handle(w).describe()).start_time for w in ids}

    assert status.status == WorkflowExecutionStatus.COMPLETED
    assert sorted(LOG.order) == sorted(ids) == sorted(started)  # all ran, once each
    assert most_in_a_window(list(started.values())) <= 1e-6
    # Not merely spread out: at the bucket's pace (8 starts, 2 at once, then 5 a second).
    first, last = min(started.values()), max(started.values())
    assert (last - first).total_seconds() < (len(ids) - BURST) / RATE + 0.5
    # Temporal's own start times: the same, but for the latency of each start.
    assert most_in_a_window([t for t in recorded.values() if t], slack=0.3) <= 1e-6
