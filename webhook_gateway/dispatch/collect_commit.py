"""Coalesced signals: concurrent requests for one long-lived workflow (a batch route's
collector, a flow-controlled key's sequencer) share one Temporal call.

Each collector workflow (a batch route's key) gets a lane while requests for it wait. A
lane sends one call at a time, carrying every event queued since the last one
(`CollectedEvents`, at most `MAX_EVENTS` events and `PAYLOAD_BUDGET` bytes): it waits up to
the route's `coalesce_wait_ms` for company, then the next batch gathers while the call is in
flight, so a busy key pays one history write (and one workflow task) per call instead of
one per request. A request is answered when the call carrying it succeeded, and a failed
call fails exactly the requests it carried. A lane ends as soon as its queue is empty:
there is no task per idle key. A collector this gateway has reached gets a plain signal
(cheaper for Temporal than signal-with-start); if it has completed since, the same call
falls back to signal-with-start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import TypedSearchAttributes
from temporalio.service import RPCError

from webhook_gateway.contracts.batching import COLLECT_MANY_SIGNAL, CollectedEvents
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.highfreq import PAYLOAD_BUDGET, CollectedEvent, CollectorInput
from webhook_gateway.dispatch.temporal_errors import temporal_errors, workflow_missing
from webhook_gateway.dispatch.waiters import fail_all
from webhook_gateway.errors import GatewayError, TemporalUnavailable

log = logging.getLogger("hooktide.collect_commit")

#: Events per signal: a collector's workflow task handles them all at once.
MAX_EVENTS = 100
#: Collectors remembered as running (each costs a failed signal once it has completed).
KNOWN_RUNNING = 10_000


def carried(event: WebhookEvent) -> CollectedEvent:
    """The event and the length of its JSON, without validating again what `WebhookEvent`
    validated (a JSON body is walked in full by validation)."""
    return CollectedEvent.model_construct(**dict(event), size=len(event.model_dump_json()))


def _collected(items: list[BaseModel]) -> BaseModel:
    return CollectedEvents(events=items)


@dataclass
class _Waiting:
    event: BaseModel
    size: int
    future: asyncio.Future[str | None]


@dataclass
class Lane:
    workflow: str
    task_queue: str
    start: BaseModel
    linger: float
    #: The signal, and what its one argument is made of the items it carries.
    signal: str = COLLECT_MANY_SIGNAL
    wrap: Callable[[list[BaseModel]], BaseModel] = _collected
    #: Set on the workflow when a call starts it.
    search_attributes: TypedSearchAttributes | None = None
    queue: deque[_Waiting] = field(default_factory=deque)
    full: asyncio.Event = field(default_factory=asyncio.Event)


class CollectCommitter:
    """The gateway side of every coalesced batch route (module docstring)."""

    def __init__(self, client: Client, *, rpc_timeout: float, retry_after: int) -> None:
        self.client = client
        self._rpc_timeout = rpc_timeout
        self._retry_after = retry_after
        self._lanes: dict[str, Lane] = {}
        #: Collectors a signal-with-start reached, most recent last.
        self._running: OrderedDict[str, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(
        self,
        collector_id: str,
        event: WebhookEvent,
        *,
        workflow: str,
        task_queue: str,
        start: CollectorInput,
        linger_ms: float = 0.0,
    ) -> str | None:
        """Returns once the collector durably holds `event`, with its run id if the call that
        carried it started or found the run (None for a plain signal); raises a `GatewayError`
        otherwise."""
        collected = carried(event)
        return await self.submit_item(
            collector_id, collected, collected.size or 0,
            lane=Lane(workflow, task_queue, start, linger_ms / 1000),
        )  # fmt: skip

    async def submit_item(
        self, workflow_id: str, item: BaseModel, size: int, *, lane: Lane
    ) -> str | None:
        """`submit` for any signal: `item` goes with the others queued for `workflow_id`
        in one `lane.signal` of `lane.wrap(items)` (`lane` is used for a new lane)."""
        waiting = _Waiting(item, size, asyncio.get_running_loop().create_future())
        found = self._lanes.get(workflow_id)
        if found is None:
            found = self._lanes[workflow_id] = lane
            task = asyncio.create_task(self._drain(workflow_id, found))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        found.queue.append(waiting)
        if len(found.queue) >= MAX_EVENTS:
            found.full.set()
        return await waiting.future

    def lanes(self) -> int:
        """Collectors with requests waiting or in flight."""
        return len(self._lanes)

    async def _drain(self, collector_id: str, lane: Lane) -> None:
        batch: list[_Waiting] = []
        try:
            while True:
                if lane.linger and len(lane.queue) < MAX_EVENTS:
                    lane.full.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(lane.linger):
                            await lane.full.wait()
                batch = self._take(lane)
                if not batch:
                    break
                await self._commit(collector_id, lane, batch)
        finally:
            del self._lanes[collector_id]
            # Cancelled (the loop is closing): what was queued or in flight is not acked.
            stopped = TemporalUnavailable("The gateway stopped; retry later.")
            fail_all((w.future for w in [*batch, *lane.queue]), stopped)

    @staticmethod
    def _take(lane: Lane) -> list[_Waiting]:
        batch: list[_Waiting] = []
        size = 0
        while lane.queue and len(batch) < MAX_EVENTS:
            waiting = lane.queue[0]
            if batch and size + waiting.size > PAYLOAD_BUDGET:
                break
            lane.queue.popleft()
            # A request whose sender went away was never acked: no need to send it.
            if not waiting.future.done():
                batch.append(waiting)
                size += waiting.size
        return batch

    async def _commit(self, collector_id: str, lane: Lane, batch: list[_Waiting]) -> None:
        carried = lane.wrap([w.event for w in batch])
        try:
            # Bounded in this task: `wait_for` starts a task per call before Python 3.12.
            with temporal_errors(retry_after=self._retry_after):
                async with asyncio.timeout(self._rpc_timeout + 0.5):
                    run_id = await self._deliver(collector_id, lane, carried)
        except GatewayError as exc:
            fail_all((w.future for w in batch), exc)
            return
        except Exception as exc:  # never leave a request hanging
            log.exception("collect to %s failed unexpectedly", collector_id)
            fail_all(
                (w.future for w in batch),
                TemporalUnavailable(f"Collect failed: {type(exc).__name__}"),
            )
            return
        for waiting in batch:
            if not waiting.future.done():
                waiting.future.set_result(run_id)

    async def _deliver(self, collector_id: str, lane: Lane, carried: BaseModel) -> str | None:
        """A plain signal to a collector this gateway saw running (cheaper for Temporal than a
        signal-with-start, and Temporal reports no run: None); signal-with-start otherwise,
        or when that one has completed meanwhile."""
        rpc_timeout = timedelta(seconds=self._rpc_timeout)
        if collector_id in self._running:
            handle = self.client.get_workflow_handle(collector_id)
            try:
                await handle.signal(lane.signal, carried, rpc_timeout=rpc_timeout)
            except RPCError as exc:
                if not workflow_missing(exc):
                    raise
                del self._running[collector_id]
            else:
                self._running.move_to_end(collector_id)
                return None
        started = await self.client.start_workflow(
            lane.workflow,
            lane.start,
            id=collector_id,
            task_queue=lane.task_queue,
            start_signal=lane.signal,
            start_signal_args=[carried],
            search_attributes=lane.search_attributes,
            rpc_timeout=rpc_timeout,
        )
        self._running[collector_id] = None
        if len(self._running) > KNOWN_RUNNING:
            self._running.popitem(last=False)
        return started.result_run_id
