"""BatchCollectorWorkflow: a batch route's events for one key, delivered as lists.

Fed by signal-with-start: `events` carries the events of every concurrent request for the
key (the gateway coalesces them, `webhook_gateway/dispatch/collect_commit.py`), `event` one
event (older gateways); repeated delivery ids are dropped. A batch
goes to a new run of the route's workflow (argument: `EventBatch`) as soon as it holds
`max_size` events or `max_bytes`, or `max_wait_seconds` after its oldest event arrived
(a durable timer), whichever comes first. Nothing caps `max_size` but the payload limit:
a batch is cut by bytes too, counting each event as the length of its JSON, which the
gateway measures and sends with it (`CollectedEvent`). After `idle_seconds` without
events the collector completes; an event that arrives meanwhile is seen before the
completion (Temporal replays it first). The route's workflow is started by a local
activity (`activities/start_batch.py`); runs recorded before that started it as a child.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from webhook_gateway.contracts.batching import COLLECT_MANY_SIGNAL, CollectedEvents
    from webhook_gateway.contracts.events import WebhookEvent
    from webhook_gateway.contracts.highfreq import (
        BATCH_WORKFLOW,
        COLLECT_SIGNAL,
        PAYLOAD_BUDGET,
        CollectedEvent,
        CollectorInput,
        CollectorStatus,
        EventBatch,
    )
    from workflows.highfreq.collector import CollectorState

#: Batches start from a local activity instead of as child workflows.
LOCAL_START_PATCH = "batch-start-by-local-activity"


def _measured(event: WebhookEvent) -> int:
    """Only for events that came without a size (older gateways, runs continued by older
    code): measured as those runs measured them, so their histories replay."""
    return len(event.model_dump_json(exclude={"size"}))


@workflow.defn(name=BATCH_WORKFLOW)
class BatchCollectorWorkflow:
    @workflow.init
    def __init__(self, data: CollectorInput) -> None:
        self._state = CollectorState(data)
        sizes = data.buffer_sizes
        if len(sizes) != len(data.buffer):
            sizes = [_measured(e) for e in data.buffer]
        self._buffer: list[tuple[WebhookEvent, int]] = list(zip(data.buffer, sizes, strict=True))
        self._bytes = sum(size for _, size in self._buffer)
        # When the oldest buffered event arrived (workflow time, seconds).
        self._opened: float | None = data.burst_started if self._buffer else None

    @workflow.run
    async def run(self, data: CollectorInput) -> CollectorStatus:
        while True:
            if not self._buffer:
                if self._state.should_rotate():
                    workflow.continue_as_new(
                        self._state.carried(buffer=[], buffer_sizes=[], burst_started=None)
                    )
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: bool(self._buffer), timeout=timedelta(seconds=data.idle_seconds)
                    )
                if not self._buffer and workflow.all_handlers_finished():
                    return self._state.status(0)
                continue
            remaining = (self._opened or 0.0) + data.max_wait_seconds - _now()
            if not self._full() and remaining > 0:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(self._full, timeout=timedelta(seconds=remaining))
            await self._flush()
            if self._state.should_rotate() and self._bytes <= PAYLOAD_BUDGET:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    self._state.carried(
                        buffer=[e for e, _ in self._buffer],
                        buffer_sizes=[size for _, size in self._buffer],
                        burst_started=self._opened,
                    )
                )

    @workflow.signal(name=COLLECT_SIGNAL)
    def event(self, event: CollectedEvent) -> None:
        if not self._state.first_time(event.delivery_id):
            return
        if not self._buffer:
            self._opened = _now()
        size = event.size if event.size is not None else _measured(event)
        self._buffer.append((event, size))
        self._bytes += size

    @workflow.signal(name=COLLECT_MANY_SIGNAL)
    def events(self, carried: CollectedEvents) -> None:
        for event in carried.events:
            self.event(event)

    @workflow.query
    def status(self) -> CollectorStatus:
        return self._state.status(len(self._buffer))

    def _full(self) -> bool:
        data = self._state.data
        return len(self._buffer) >= data.max_size or self._bytes >= data.max_bytes

    async def _flush(self) -> None:
        data = self._state.data
        taken: list[WebhookEvent] = []
        size = 0
        for event, event_size in self._buffer:
            if len(taken) >= data.max_size or (taken and size + event_size > data.max_bytes):
                break
            taken.append(event)
            size += event_size
        del self._buffer[: len(taken)]
        self._bytes -= size
        # What is left (the batch was full) starts its wait now.
        self._opened = _now() if self._buffer else None
        batch = EventBatch(
            route=data.route, key=data.key, sequence=self._state.sequence, events=taken
        )
        if workflow.patched(LOCAL_START_PATCH):
            await self._state.start_batch(batch)
        else:
            await self._state.start_target(batch)


def _now() -> float:
    return workflow.now().timestamp()
