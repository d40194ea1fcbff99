"""`start_events`: an inbox's chunk of events, one workflow each (for group-commit routes).

Each start uses the id the gateway derived from the delivery id, with conflict policy FAIL and
reuse policy REJECT_DUPLICATE, exactly as a per-request start: "already started" means the
event has its workflow, so it counts as done. A retry of the activity repeats the chunk and
starts only what is still missing.

The starts go at the pace `StartPacer` sets (`activities/pacing.py`): it rises while Temporal
answers quickly and falls when it is slow or refuses, or when the started workflows' task
queue shows their workers falling behind (asked every second). A refused start (RESOURCE_EXHAUSTED,
UNAVAILABLE, DEADLINE_EXCEEDED) is sent again at the lower pace, up to `ATTEMPTS` times; then,
as on any other transient error, the activity fails and Temporal retries it with backoff. The
pace reached is heartbeated, so a retry resumes from it, and returned, so the inbox carries it
into its next chunk. An error no retry can fix (say, an invalid id) is reported per event
instead of blocking the inbox forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.pacing import Slot, StartPacer
from activities.task_queue_backlog import oldest_workflow_task_age
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.highfreq import StartEventsInput, StartEventsResult

log = logging.getLogger("hooktide.inbox")

PERMANENT = frozenset({RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.FAILED_PRECONDITION})
#: Temporal saying "not so fast": the pace falls and the start is sent again.
REFUSED = frozenset(
    {RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED}
)
#: Sends of one start that may be refused before the activity fails (and Temporal retries it).
ATTEMPTS = 5
#: A start not answered by then counts as refused.
START_TIMEOUT = timedelta(seconds=10)
#: How often the started workflows' task queues are asked how far behind their workers are.
QUEUE_PROBE_SECONDS = 1.0


class _Window:
    """At most `size()` holders at once; the size may change between entries."""

    def __init__(self, size: Callable[[], int]) -> None:
        self._size = size
        self._busy = 0
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._busy < self._size())
            self._busy += 1

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        async with self._changed:
            self._busy -= 1
            self._changed.notify_all()


async def _watch_queues(client: Client, queues: set[str], pacer: StartPacer) -> None:
    """Until cancelled: the oldest waiting workflow task of `queues`, to the pacer."""
    while True:
        await asyncio.sleep(QUEUE_PROBE_SECONDS)
        ages = [await oldest_workflow_task_age(client, queue) for queue in sorted(queues)]
        known = [age for age in ages if age is not None]
        if known:
            pacer.record_queue(max(known))


def _resumed_rate(details: object) -> float | None:
    """The pace the previous attempt heartbeated, if any."""
    if isinstance(details, (list, tuple)) and details:
        last = details[-1]
        if isinstance(last, (int, float)) and not isinstance(last, bool) and last > 0:
            return float(last)
    return None


@activity.defn
async def start_events(data: StartEventsInput) -> StartEventsResult:
    client = activity.client()
    loop = asyncio.get_running_loop()
    resumed = _resumed_rate(activity.info().heartbeat_details) if data.pacing else None
    pacer = StartPacer(
        data.pacing, rate=resumed or data.rate, concurrency=data.concurrency, clock=loop.time
    )
    window = _Window(lambda: pacer.window)
    todo: deque[tuple[str, str, str, WebhookEvent, int]] = deque(
        (batch.workflow, batch.task_queue, item.workflow_id, item.event, 1)
        for batch in data.batches
        for item in batch.items
    )
    result = StartEventsResult()
    failures: list[BaseException] = []

    async def send(slot: Slot, workflow: str, task_queue: str, workflow_id: str,
                   event: WebhookEvent) -> None:  # fmt: skip
        await asyncio.sleep(max(0.0, slot.at - loop.time()))
        sent = loop.time()
        try:
            await client.start_workflow(
                workflow,
                event,
                id=workflow_id,
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                rpc_timeout=START_TIMEOUT,
            )
        except WorkflowAlreadyStartedError:
            result.duplicates += 1
        else:
            result.started += 1
        pacer.record(slot, loop.time() - sent)

    async def starter() -> None:
        while todo and not failures:
            workflow, task_queue, workflow_id, event, attempt = todo.popleft()
            async with window:
                slot = pacer.reserve()
                try:
                    await send(slot, workflow, task_queue, workflow_id, event)
                except RPCError as exc:
                    if exc.status in REFUSED and attempt < ATTEMPTS:
                        pacer.record(slot, loop.time() - slot.at, refused=True)
                        todo.appendleft((workflow, task_queue, workflow_id, event, attempt + 1))
                    elif exc.status in PERMANENT:
                        log.error(
                            "cannot start %s: %s (%s)", workflow_id, exc.message, exc.status.name
                        )
                        result.failed.append(workflow_id)
                    else:
                        failures.append(exc)
                except Exception as exc:
                    failures.append(exc)
            if pacer.adaptive:
                activity.heartbeat(pacer.rate)

    watching = data.pacing is not None and data.pacing.max_queue_seconds is not None
    queues = {batch.task_queue for batch in data.batches}
    watcher = asyncio.create_task(_watch_queues(client, queues, pacer)) if watching else None
    try:
        await asyncio.gather(*(starter() for _ in range(max(1, data.concurrency))))
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    # Every start sent has finished either way; one transient failure retries the chunk.
    if failures:
        raise failures[0]
    if pacer.adaptive:
        result.rate = pacer.rate
        result.latency_ms = None if pacer.latency is None else round(pacer.latency * 1000, 1)
    return result
