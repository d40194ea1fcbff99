"""Group commit: many concurrent requests, few Temporal RPCs, every ack still durable.

Each request joins the queue of its shard (crc32 of the delivery id). One flusher per shard
sends what is queued as one signal-with-start to the shard's inbox workflow, at most
`max_batch` events and `max_batch_bytes` per call, waiting up to `max_wait_ms` for a batch
to fill; while a call is in flight the next batch gathers. A request is answered when the
call carrying it succeeded, and a failed call fails exactly the requests it carried.

Backpressure: each shard's backlog is estimated as the inbox's last reported backlog plus
what was sent since; past `max_backlog` new requests get 503 + Retry-After, so an inbox's
history stays bounded even when its worker is down (queries then fail and the estimate
only grows); a shard without traffic is asked ten times less often. The same query
reports the pace at which each inbox starts its events' workflows (it adapts to what
Temporal sustains: `activities/pacing.py`), kept for metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from webhook_gateway.config.highfreq import GroupCommitConfig
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.highfreq import (
    INBOX_SIGNAL,
    INBOX_WORKFLOW,
    InboxBatch,
    InboxInput,
    InboxStatus,
    PendingStart,
    StartEventsPacing,
    inbox_workflow_id,
    shard_of,
)
from webhook_gateway.dispatch.temporal_errors import temporal_errors
from webhook_gateway.dispatch.waiters import fail_all
from webhook_gateway.errors import GatewayError, TemporalUnavailable

log = logging.getLogger("hooktide.group_commit")

#: A shard nothing was sent or asked of since its inbox's last answer is asked this many
#: times less often: its backlog can only shrink meanwhile, and each query costs its worker
#: a workflow activation (which a drain needs for the workflows it started).
IDLE_REFRESH_EVERY = 10


@dataclass(frozen=True, kw_only=True)
class CommitStats:
    """A snapshot for metrics: batch sizes so far and each shard's estimated backlog."""

    route: str
    batches: int
    events: int
    failed_batches: int
    failed_events: int
    rejected_backlog: int
    last_batch_size: int
    max_batch_size: int
    queued: tuple[int, ...]
    estimated_backlog: tuple[int, ...]
    #: Each inbox's starts per second when last asked (None: not known yet).
    start_rate: tuple[float | None, ...] = ()

    @property
    def mean_batch_size(self) -> float:
        return self.events / self.batches if self.batches else 0.0


@dataclass
class _Waiting:
    item: PendingStart
    future: asyncio.Future[None]


@dataclass
class _Shard:
    index: int
    workflow_id: str
    queue: deque[_Waiting] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    reported: int = 0  # the inbox's backlog when last asked
    sent_since: int = 0  # events committed to it since that answer
    rate: float | None = None  # the inbox's pace of starts when last asked
    demand: int = 0  # requests for it since that answer (refused ones too)

    @property
    def estimate(self) -> int:
        return self.reported + self.sent_since + len(self.queue)


class GroupCommitter:
    """The gateway side of one group-commit route. Create and close it in a running loop."""

    def __init__(
        self,
        client: Client,
        *,
        route: str,
        workflow: str,
        task_queue: str,
        config: GroupCommitConfig,
        rpc_timeout: float,
        retry_after: int,
    ) -> None:
        self.client = client
        self.route = route
        self.workflow = workflow
        self.task_queue = task_queue
        self.config = config
        self._rpc_timeout = rpc_timeout
        self._retry_after = retry_after
        pacing = config.pacing.capped(config.start_rate)
        self._pacing = StartEventsPacing(**pacing.model_dump())
        self._shards = [
            _Shard(index=i, workflow_id=inbox_workflow_id(route, i)) for i in range(config.shards)
        ]
        self._closing = False
        self._batches = self._events = self._failed_batches = self._failed_events = 0
        self._rejected = self._last_batch = self._max_batch = 0
        self._rounds = self._queries = 0  # of the backlog refresher
        self._tasks = [asyncio.create_task(self._flusher(s)) for s in self._shards]
        self._tasks.append(asyncio.create_task(self._refresher()))

    async def submit(self, event: WebhookEvent, workflow_id: str) -> None:
        """Returns once an inbox durably holds the event; raises a `GatewayError` otherwise."""
        if self._closing:
            raise TemporalUnavailable(
                "The gateway is shutting down; retry later.", retry_after=self._retry_after
            )
        shard = self._shards[shard_of(event.delivery_id, len(self._shards))]
        shard.demand += 1
        if shard.estimate >= self.config.max_backlog:
            self._rejected += 1
            raise TemporalUnavailable(
                f"Route '{self.route}' has {shard.estimate} events waiting for their workflows "
                f"(limit {self.config.max_backlog}); retry later.",
                retry_after=self._retry_after,
            )
        size = len(event.model_dump_json()) + len(workflow_id) + 16
        waiting = _Waiting(
            PendingStart(workflow_id=workflow_id, event=event, size=size),
            asyncio.get_running_loop().create_future(),
        )
        shard.queue.append(waiting)
        shard.wakeup.set()
        await waiting.future

    def stats(self) -> CommitStats:
        return CommitStats(
            route=self.route,
            batches=self._batches,
            events=self._events,
            failed_batches=self._failed_batches,
            failed_events=self._failed_events,
            rejected_backlog=self._rejected,
            last_batch_size=self._last_batch,
            max_batch_size=self._max_batch,
            queued=tuple(len(s.queue) for s in self._shards),
            estimated_backlog=tuple(s.estimate for s in self._shards),
            start_rate=tuple(s.rate for s in self._shards),
        )

    async def aclose(self, timeout: float = 10.0) -> None:
        """Refuse new requests, commit (or fail) what is queued, then stop the tasks."""
        self._closing = True
        for shard in self._shards:
            shard.wakeup.set()
        flushers, refresher = self._tasks[:-1], self._tasks[-1]
        refresher.cancel()
        _, pending = await asyncio.wait(flushers, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for shard in self._shards:
            fail_all(
                (w.future for w in shard.queue),
                TemporalUnavailable("The gateway stopped; retry later."),
            )
            shard.queue.clear()

    # ---- flushing ------------------------------------------------------------------------

    async def _flusher(self, shard: _Shard) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not shard.queue:
                if self._closing:
                    return
                shard.wakeup.clear()
                await shard.wakeup.wait()
                continue
            # Let the batch fill: the first waiter has waited at most max_wait_ms.
            deadline = loop.time() + self.config.max_wait_ms / 1000
            while len(shard.queue) < self.config.max_batch and not self._closing:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                shard.wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(shard.wakeup.wait(), remaining)
            batch = self._take(shard)
            if batch:
                await self._commit(shard, batch)

    def _take(self, shard: _Shard) -> list[_Waiting]:
        batch: list[_Waiting] = []
        size = 0
        while shard.queue and len(batch) < self.config.max_batch:
            waiting = shard.queue[0]
            if batch and size + waiting.item.size > self.config.max_batch_bytes:
                break
            shard.queue.popleft()
            # A request whose sender went away was never acked: no need to send it.
            if not waiting.future.done():
                batch.append(waiting)
                size += waiting.item.size
        return batch

    async def _commit(self, shard: _Shard, batch: list[_Waiting]) -> None:
        payload = InboxBatch(
            workflow=self.workflow,
            task_queue=self.task_queue,
            items=[w.item for w in batch],
            pacing=self._pacing,
        )
        start = InboxInput(
            route=self.route,
            shard=shard.index,
            history_events=self.config.inbox_history_events,
            history_bytes=self.config.inbox_history_bytes,
            start_chunk=self.config.start_chunk,
            start_concurrency=self.config.start_concurrency,
            start_rate=self.config.start_rate,
            pacing=self._pacing,
        )
        try:
            with temporal_errors(retry_after=self._retry_after):
                await asyncio.wait_for(
                    self.client.start_workflow(
                        INBOX_WORKFLOW,
                        start,
                        id=shard.workflow_id,
                        task_queue=self.task_queue,
                        start_signal=INBOX_SIGNAL,
                        start_signal_args=[payload],
                        rpc_timeout=timedelta(seconds=self._rpc_timeout),
                    ),
                    timeout=self._rpc_timeout + 0.5,
                )
        except GatewayError as exc:
            self._failed_batches += 1
            self._failed_events += len(batch)
            fail_all((w.future for w in batch), exc)
            return
        except Exception as exc:  # never leave a request hanging
            log.exception("group commit to %s failed unexpectedly", shard.workflow_id)
            self._failed_batches += 1
            self._failed_events += len(batch)
            fail_all(
                (w.future for w in batch),
                TemporalUnavailable(f"Group commit failed: {type(exc).__name__}"),
            )
            return
        shard.sent_since += len(batch)
        self._batches += 1
        self._events += len(batch)
        self._last_batch = len(batch)
        self._max_batch = max(self._max_batch, len(batch))
        for waiting in batch:
            if not waiting.future.done():
                waiting.future.set_result(None)

    # ---- backlog -------------------------------------------------------------------------

    async def _refresher(self) -> None:
        while True:
            every = self._rounds % IDLE_REFRESH_EVERY == 0
            due = [s for s in self._shards if every or s.demand or s.sent_since or s.queue]
            await asyncio.gather(*(self._refresh(s) for s in due))
            self._rounds += 1
            await asyncio.sleep(self.config.backlog_refresh_ms / 1000)

    async def _refresh(self, shard: _Shard) -> None:
        sent_before, shard.demand = shard.sent_since, 0
        self._queries += 1
        handle = self.client.get_workflow_handle(shard.workflow_id)
        started = time.monotonic()
        try:
            status = await asyncio.wait_for(
                handle.query(
                    "backlog",
                    result_type=InboxStatus,
                    rpc_timeout=timedelta(seconds=self._rpc_timeout),
                ),
                timeout=self._rpc_timeout + 0.5,
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:  # no inbox yet: nothing waits
                shard.reported, shard.sent_since = 0, shard.sent_since - sent_before
            return
        except Exception:  # no worker or no server: keep counting what we send
            log.debug("backlog query of %s failed after %.1fs", shard.workflow_id,
                      time.monotonic() - started)  # fmt: skip
            return
        shard.reported = status.backlog
        shard.sent_since -= sent_before
        shard.rate = status.rate
