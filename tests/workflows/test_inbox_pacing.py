"""InboxWorkflow's adaptive pace on the dev server: each chunk begins at the pace the chunk
before ended with, through continue-as-new too; an older gateway's `start_rate` caps it; and
with the real `start_events`, every event gets exactly one workflow."""

from __future__ import annotations

import json
import uuid

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.start_events import start_events
from tests.support.polling import eventually
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.highfreq import (
    InboxBatch,
    InboxInput,
    InboxStatus,
    PendingStart,
    StartEventsInput,
    StartEventsPacing,
    StartEventsResult,
)
from workflows.highfreq.inbox import InboxWorkflow

#: Nothing polls it: the workflows the real activity starts just wait.
UNPOLLED = "inbox-pacing-unpolled"
InboxHandle = WorkflowHandle[InboxWorkflow, None]
seen: list[StartEventsInput] = []


@activity.defn(name="start_events")
async def pace_plus_one(data: StartEventsInput) -> StartEventsResult:
    """Starts nothing; ends each chunk one start per second faster than it began."""
    seen.append(data)
    count = sum(len(b.items) for b in data.batches)
    return StartEventsResult(started=count, rate=(data.rate or 0.0) + 1.0, latency_ms=12.5)


@activity.defn(name="start_events")
async def slows_to_half(data: StartEventsInput) -> StartEventsResult:
    """Starts nothing; ends each chunk at half a start per second."""
    seen.append(data)
    return StartEventsResult(started=sum(len(b.items) for b in data.batches), rate=0.5)


def batch(prefix: str, count: int) -> InboxBatch:
    def item(n: int) -> PendingStart:
        wid = f"{prefix}-{n}"
        event = WebhookEvent(route="t", delivery_id=wid, received_at="2026-01-01T00:00:00Z")
        return PendingStart(workflow_id=wid, event=event, size=200)

    items = [item(n) for n in range(count)]
    return InboxBatch(workflow="OrderWorkflow", task_queue=UNPOLLED, items=items)


async def start_inbox(
    client: Client, queue: str, start: InboxInput, events: InboxBatch
) -> InboxHandle:
    return await client.start_workflow(
        InboxWorkflow.run, start, id=f"inbox-pacing-{uuid.uuid4().hex[:8]}", task_queue=queue,
        start_signal="events", start_signal_args=[events],
    )  # fmt: skip


async def drained(client: Client, handle: InboxHandle, count: int) -> InboxStatus:
    latest = client.get_workflow_handle(handle.id)
    return await eventually(
        lambda: latest.query(InboxWorkflow.status),
        lambda s: s.backlog == 0 and s.started + s.duplicates == count,
        timeout=60,
    )


async def carried_rate(client: Client, handle: InboxHandle) -> float | None:
    """The pace the first run handed to its continuation."""
    first = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
    last = [e async for e in first.fetch_history_events()][-1]
    assert last.HasField("workflow_execution_continued_as_new_event_attributes")
    payload = last.workflow_execution_continued_as_new_event_attributes.input.payloads[0]
    rate: float | None = json.loads(payload.data)["rate"]
    return rate


async def test_each_chunk_begins_at_the_pace_the_last_ended_with_across_continue_as_new(
    client: Client,
) -> None:
    queue = f"inbox-pacing-{uuid.uuid4().hex[:8]}"
    start = InboxInput(
        route="t", shard=0, history_events=20, start_chunk=5,
        pacing=StartEventsPacing(initial_rate=7.0, min_rate=2.0),
    )  # fmt: skip
    seen.clear()
    async with Worker(client, task_queue=queue, workflows=[InboxWorkflow],
                      activities=[pace_plus_one]):  # fmt: skip
        handle = await start_inbox(client, queue, start, batch(queue, 40))
        status = await drained(client, handle, 40)
    carried = await carried_rate(client, handle)
    await client.get_workflow_handle(handle.id).terminate("test over")

    rates = [d.rate for d in seen]
    assert rates == [7.0 + n for n in range(8)]  # 8 chunks of 5, each one faster
    assert carried is not None and carried in rates[1:]  # handed on mid-way, then resumed
    assert start.pacing is not None
    relaxed = start.pacing.model_copy(update={"target_latency_ms": 4 * 500.0})
    # Only the first chunk had batches arriving (acks to protect): then the target relaxes.
    assert [d.pacing for d in seen] == [start.pacing] + [relaxed] * 7
    assert (status.rate, status.latency_ms) == (15.0, 12.5)


async def test_a_chunk_holds_about_ten_seconds_of_starts_at_the_pace(client: Client) -> None:
    queue = f"inbox-pacing-{uuid.uuid4().hex[:8]}"
    start = InboxInput(route="t", shard=0, start_chunk=100,
                       pacing=StartEventsPacing(initial_rate=3.0, min_rate=0.5))  # fmt: skip
    seen.clear()
    async with Worker(client, task_queue=queue, workflows=[InboxWorkflow],
                      activities=[slows_to_half]):  # fmt: skip
        handle = await start_inbox(client, queue, start, batch(queue, 60))
        await drained(client, handle, 60)
    await client.get_workflow_handle(handle.id).terminate("test over")

    sizes = [sum(len(b.items) for b in d.batches) for d in seen]
    assert sizes == [30, 20, 10]  # 10 s at 3/s, then at 0.5/s never under 20 (the rest: 10)


async def test_a_running_inbox_follows_the_pacing_its_batches_bring(client: Client) -> None:
    queue = f"inbox-pacing-{uuid.uuid4().hex[:8]}"
    start = InboxInput(route="t", shard=0, pacing=StartEventsPacing(initial_rate=7.0))
    changed = StartEventsPacing(initial_rate=7.0, max_rate=3.0)  # the route file, edited
    handle = await start_inbox(client, queue, start, batch(f"{queue}-a", 5))
    second = batch(f"{queue}-b", 5).model_copy(update={"pacing": changed})
    await handle.signal(InboxWorkflow.events, second)
    seen.clear()
    async with Worker(client, task_queue=queue, workflows=[InboxWorkflow],
                      activities=[pace_plus_one]):  # fmt: skip
        await drained(client, handle, 10)
    await client.get_workflow_handle(handle.id).terminate("test over")

    assert [(d.rate, d.pacing) for d in seen] == [(3.0, changed)]
    assert all(b.pacing is None for b in seen[0].batches)  # not copied with every event


async def test_an_older_gateways_start_rate_caps_the_adaptive_pace(client: Client) -> None:
    queue = f"inbox-pacing-{uuid.uuid4().hex[:8]}"
    older = InboxInput(route="t", shard=0, start_chunk=10, start_rate=2.5)  # no pacing field
    seen.clear()
    async with Worker(client, task_queue=queue, workflows=[InboxWorkflow],
                      activities=[pace_plus_one]):  # fmt: skip
        handle = await start_inbox(client, queue, older, batch(queue, 10))
        await drained(client, handle, 10)
    await client.get_workflow_handle(handle.id).terminate("test over")

    assert len(seen) == 1
    assert seen[0].pacing == StartEventsPacing(max_rate=2.5)  # the defaults, under the cap
    assert seen[0].rate == 2.5


async def test_every_acknowledged_event_gets_exactly_one_workflow_across_continue_as_new(
    client: Client,
) -> None:
    queue = f"inbox-pacing-{uuid.uuid4().hex[:8]}"
    start = InboxInput(
        route="t", shard=0, history_events=20, start_chunk=7,
        pacing=StartEventsPacing(initial_rate=20.0, increase=20.0),
    )  # fmt: skip
    first, second = batch(f"{queue}-a", 30), batch(f"{queue}-b", 30)
    async with Worker(client, task_queue=queue, workflows=[InboxWorkflow],
                      activities=[start_events]):  # fmt: skip
        handle = await start_inbox(client, queue, start, first)
        await handle.signal(InboxWorkflow.events, second)
        await handle.signal(InboxWorkflow.events, first)  # a redelivered batch: no new starts
        status = await drained(client, handle, 90)
    carried = await carried_rate(client, handle)
    await client.get_workflow_handle(handle.id).terminate("test over")
    found = await eventually(
        lambda: client.count_workflows(f"WorkflowId STARTS_WITH '{queue}-'"),
        lambda c: c.count == 60,
    )

    assert (status.started, status.duplicates, status.failed) == (60, 30, 0)
    assert found.count == 60
    assert carried is not None and carried >= 1.0
    assert status.rate is not None and status.latency_ms is not None
