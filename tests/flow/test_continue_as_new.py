"""A sequencer continues as new (here after 40 history events) while one of its key's
workflows runs and others wait, on the real dev server: the new run holds the queue, watches
the running one (flow_statuses, polled) so the next starts only once it has closed, and
still knows the delivery ids it has seen, so a redelivery after the continue-as-new does
not run again."""

from __future__ import annotations

import asyncio
import itertools
import uuid

from temporalio.client import Client, WorkflowExecutionStatus

from tests.flow.support import (
    children_started,
    ended,
    flow_worker,
    probe_event,
    run_ids,
    spans,
    start_sequencer,
)
from tests.support.flow_flows import FAIL, LOG
from tests.support.polling import eventually
from webhook_gateway.contracts.flow import (
    EVENTS_SIGNAL,
    FlowEvent,
    FlowEvents,
    FlowSettingsWire,
    SequencerInput,
)

ORDERED = FlowSettingsWire(limit=1, ordered_by=True, on_failure="block")


async def test_queue_running_workflow_and_dedupe_survive_continue_as_new(client: Client) -> None:
    LOG.clear()
    FAIL.clear()
    queue, tag = f"flow-can-{uuid.uuid4().hex[:8]}", f"can{uuid.uuid4().hex[:6]}"

    def event(n: int, ms: float = 0) -> FlowEvent:
        return probe_event(tag, f"d{n}", queue=queue, order=n, settings=ORDERED, n=n, ms=ms)

    start = SequencerInput(target=tag, key="k", route=tag, settings=ORDERED, history_events=40,
                           idle_seconds=1)  # fmt: skip
    # With no worker yet: d0 (slow) and d1-d3 wait, and 30 redeliveries of them fill the
    # history, so the run continues as new right after it has started d0.
    handle = await start_sequencer(client, start, event(0, ms=1500), queue=queue)
    for n in [1, 2, 3, *itertools.islice(itertools.cycle(range(4)), 30)]:
        await handle.signal(EVENTS_SIGNAL, FlowEvents(events=[event(n)]))
    first_run = handle.result_run_id
    ids = [f"{tag}-d{n}" for n in range(4)]

    async with flow_worker(client, queue):
        first = client.get_workflow_handle(handle.id, run_id=first_run)
        described = await eventually(
            first.describe, lambda d: d.status == WorkflowExecutionStatus.CONTINUED_AS_NEW
        )
        assert described.status == WorkflowExecutionStatus.CONTINUED_AS_NEW
        # d0 again: it ran already, before the continue-as-new.
        await handle.signal(EVENTS_SIGNAL, FlowEvents(events=[event(0)]))
        assert await eventually(lambda: ended(ids), bool, timeout=60), LOG.spans
        await handle.result()  # idle: it completes
        assert first_run is not None
        chain = await run_ids(client, handle.id, first_run)
        started = [
            w
            for run in chain
            for w in await children_started(client.get_workflow_handle(handle.id, run_id=run))
        ]
        carried = await client.get_workflow_handle(handle.id, run_id=chain[1]).fetch_history()

    input_payloads = carried.events[0].workflow_execution_started_event_attributes.input.payloads
    [second] = await client.data_converter.decode(input_payloads, [SequencerInput])
    assert isinstance(second, SequencerInput)
    assert [r.workflow_id for r in second.running] == [ids[0]]
    assert [q.delivery_id for q in second.queue] == ["d1", "d2", "d3"]
    assert sorted(second.seen) == ["d0", "d1", "d2", "d3"]
    assert len(chain) >= 2
    assert started == ids  # each started once, in order, across the runs
    assert LOG.order == ids
    for before, after in itertools.pairwise(spans(ids)):
        assert before[1] <= after[0], "the next started while the carried one ran"


async def test_redeliveries_alone_still_make_it_continue_as_new(client: Client) -> None:
    """A key whose head runs long (or is blocked) and gets only redeliveries: each is a
    signal in the history, so they too must bring the continue-as-new."""
    LOG.clear()
    FAIL.clear()
    queue, tag = f"flow-can-{uuid.uuid4().hex[:8]}", f"can{uuid.uuid4().hex[:6]}"
    slow = probe_event(tag, "d0", queue=queue, order=0, settings=ORDERED, n=0, ms=3000)
    start = SequencerInput(target=tag, key="k", route=tag, settings=ORDERED, history_events=40,
                           idle_seconds=1)  # fmt: skip
    async with flow_worker(client, queue):
        handle = await start_sequencer(client, start, slow, queue=queue)
        first = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        assert await eventually(lambda: f"{tag}-d0" in LOG.spans, bool)
        again = FlowEvents(events=[slow])
        await asyncio.gather(*(handle.signal(EVENTS_SIGNAL, again) for _ in range(30)))
        described = await eventually(
            first.describe, lambda d: d.status != WorkflowExecutionStatus.RUNNING
        )
        await handle.result()

    assert described.status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    assert described.history_length <= 50, "it went on past history_events"
    assert LOG.order == [f"{tag}-d0"]
