"""InboxWorkflow: one shard of a group-commit route's events, each to be its own workflow.

The gateway signals-with-start batches of events here (`webhook_gateway/group_commit.py`);
the inbox starts their workflows in chunks through the `start_events` activity, at the pace
Temporal sustains, so a burst waits here instead of being refused. The ids were derived by
the gateway and starts reject duplicates: an event delivered twice still gets one workflow.

The pace adapts (`activities/pacing.py`): each chunk's activity begins at the pace the one
before ended with, which the inbox keeps from the activity's result (so replay sees the same
value) and carries through continue-as-new. Its settings come with each batch, so a changed
route file reaches a running inbox. Runs recorded before adaptive pacing (without the
`ADAPTIVE_PACE` marker) keep their fixed `start_rate`.

Before its history grows large it continues as new, carrying the events not yet started;
if they would not fit comfortably in one payload it first drains until they do. Ask it how
much is waiting, and at what pace it starts them, with the `backlog` query.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.start_events import start_events
    from webhook_gateway.contracts.highfreq import (
        INBOX_SIGNAL,
        INBOX_WORKFLOW,
        PAYLOAD_BUDGET,
        InboxBatch,
        InboxInput,
        InboxStatus,
        StartEventsInput,
        StartEventsPacing,
        StartEventsResult,
    )

#: Carried backlog above this is drained first (Temporal's payload limit is 2 MB).
CARRY_BUDGET = PAYLOAD_BUDGET
START_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,  # never give up: these events were acknowledged
)
#: The patch that made the pace adaptive: a heartbeat timeout, and the pace carried along.
ADAPTIVE_PACE = "adaptive-start-pace"
#: A paced activity heartbeats after each start; at least this long is allowed between two.
HEARTBEAT = timedelta(seconds=60)
#: A chunk is about this long at the current pace (at most `start_chunk` events), so the pace
#: it ends with, and the backlog query, are seldom older than that; but never under
#: `MIN_CHUNK` events, so that a pace recovering from its floor has room to rise in one.
CHUNK_SECONDS = 10.0
MIN_CHUNK = 20
#: No pace is slower, whatever an older gateway's settings say (the pacer's own floor).
MIN_RATE = 0.01
#: The latency target protects acks: while no batch arrives, starts may be this many times
#: slower before the pace falls (Temporal's refusals and the workers' queue still count).
IDLE_TARGET_FACTOR = 4.0


@workflow.defn(name=INBOX_WORKFLOW)
class InboxWorkflow:
    @workflow.init
    def __init__(self, data: InboxInput) -> None:
        self._data = data
        self._backlog: deque[InboxBatch] = deque(b for b in data.backlog if b.items)
        self._pending = sum(len(b.items) for b in self._backlog)
        self._bytes = sum(i.size for b in self._backlog for i in b.items)
        self._received = 0
        self._started = data.started
        self._duplicates = data.duplicates
        self._failed = data.failed
        self._rate = data.rate
        self._latency_ms: float | None = None
        self._arrived = False  # a batch came since the last chunk began (acks are flowing)

    @workflow.run
    async def run(self, data: InboxInput) -> None:
        while True:
            await workflow.wait_condition(lambda: self._pending > 0 or self._should_rotate())
            if self._should_rotate() and self._bytes <= CARRY_BUDGET:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._next_input())
            if self._pending:
                await self._start_chunk()

    @workflow.signal(name=INBOX_SIGNAL)
    def events(self, batch: InboxBatch) -> None:
        if batch.pacing is not None:
            # The route's pacing now, already under its start_rate: a running inbox follows
            # a changed route file without being started anew.
            pace = batch.pacing
            self._data = self._data.model_copy(update={"pacing": pace, "start_rate": pace.max_rate})
            batch = batch.model_copy(update={"pacing": None})
        self._arrived = True
        if batch.items:
            self._backlog.append(batch)
            self._pending += len(batch.items)
            self._bytes += sum(i.size for i in batch.items)
            self._received += len(batch.items)

    @workflow.query(name="backlog")
    def status(self) -> InboxStatus:
        return InboxStatus(
            backlog=self._pending,
            received=self._received,
            started=self._started,
            duplicates=self._duplicates,
            failed=self._failed,
            rate=self._rate,
            latency_ms=self._latency_ms,
        )

    def _should_rotate(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._data.history_events
            or info.get_current_history_size() >= self._data.history_bytes
        )

    def _chunk(self, limit: int) -> tuple[list[InboxBatch], int, int]:
        """The oldest events, up to `limit` of them and about one payload budget."""
        chunk: list[InboxBatch] = []
        count = size = 0
        for batch in self._backlog:
            taken = []
            for item in batch.items:
                full = count >= limit or size + item.size > CARRY_BUDGET
                if full and count:
                    break
                taken.append(item)
                count += 1
                size += item.size
            if taken:
                chunk.append(batch.model_copy(update={"items": taken}))
            if len(taken) < len(batch.items):
                break
        return chunk, count, size

    def _drop(self, count: int, size: int) -> None:
        self._pending -= count
        self._bytes -= size
        while count:
            batch = self._backlog[0]
            if len(batch.items) <= count:
                count -= len(batch.items)
                self._backlog.popleft()
            else:
                self._backlog[0] = batch.model_copy(update={"items": batch.items[count:]})
                count = 0

    async def _start_chunk(self) -> None:
        if workflow.patched(ADAPTIVE_PACE):
            result, count, size = await self._start_adaptively()
        else:
            result, count, size = await self._start_at_fixed_rate()
        self._started += result.started
        self._duplicates += result.duplicates
        self._failed += len(result.failed)
        self._drop(count, size)

    async def _start_adaptively(self) -> tuple[StartEventsResult, int, int]:
        """About `CHUNK_SECONDS` of starts at the pace the last chunk ended with."""
        pacing = self._pacing()
        ceiling = pacing.max_rate or math.inf
        floor = min(pacing.min_rate, ceiling)
        begin = pacing.initial_rate if self._rate is None else self._rate
        self._rate = min(max(begin, floor), ceiling)
        limit = min(self._data.start_chunk, max(MIN_CHUNK, math.ceil(self._rate * CHUNK_SECONDS)))
        chunk, count, size = self._chunk(limit)
        if not self._arrived:
            relaxed = pacing.target_latency_ms * IDLE_TARGET_FACTOR
            pacing = pacing.model_copy(update={"target_latency_ms": relaxed})
        self._arrived = False
        result = await workflow.execute_activity(
            start_events,
            StartEventsInput(
                batches=chunk,
                concurrency=self._data.start_concurrency,
                rate=self._rate,
                pacing=pacing,
            ),
            start_to_close_timeout=timedelta(seconds=max(120.0, 2 * count / floor + 60)),
            heartbeat_timeout=max(HEARTBEAT, timedelta(seconds=3 / floor)),
            retry_policy=START_RETRY,
        )
        if result.rate is not None:
            self._rate = result.rate
        self._latency_ms = result.latency_ms
        return result, count, size

    async def _start_at_fixed_rate(self) -> tuple[StartEventsResult, int, int]:
        chunk, count, size = self._chunk(self._data.start_chunk)
        rate = self._data.start_rate
        paced = count / rate if rate else 0.0
        result = await workflow.execute_activity(
            start_events,
            StartEventsInput(batches=chunk, concurrency=self._data.start_concurrency, rate=rate),
            start_to_close_timeout=timedelta(seconds=max(120.0, 2 * paced + 60)),
            retry_policy=START_RETRY,
        )
        return result, count, size

    def _pacing(self) -> StartEventsPacing:
        """The gateway's pacing (the defaults from older gateways), under `start_rate`."""
        pacing = self._data.pacing or StartEventsPacing()
        cap = self._data.start_rate
        if cap is not None and (pacing.max_rate is None or cap < pacing.max_rate):
            pacing = pacing.model_copy(update={"max_rate": cap})
        floor = max(MIN_RATE, pacing.min_rate)
        return pacing if floor == pacing.min_rate else pacing.model_copy(update={"min_rate": floor})

    def _next_input(self) -> InboxInput:
        return self._data.model_copy(
            update={
                "rate": self._rate,
                "backlog": list(self._backlog),
                "started": self._started,
                "duplicates": self._duplicates,
                "failed": self._failed,
            }
        )
