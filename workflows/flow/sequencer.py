"""HooktideSequencer: one target's events for one key, run in order, a bounded number at a
time, at a bounded pace; each event as a workflow of its own (config/flow.py, the route
file's `ordered`, `concurrency`, `throttle`).

- **Held durably.** The gateway acks an event once its signal is in this workflow's history.
  A delivery id seen before is dropped here (the last `SEEN_CARRIED` are carried across
  continue-as-new); beyond that, the event's own workflow id (REJECT_DUPLICATE) refuses it.
- **Order.** Waiting events are kept sorted by the sender's order (`ordered.by`), ties and
  events without it by arrival here. The head starts once fewer than `limit` of the key's
  workflows run, it has waited `settle_seconds`, and the throttle has a token. An event
  older than the last one started is late: run anyway, skipped, or kept as failed (`late`).
- **Failure.** With `on_failure: block` a failed, timed-out, terminated or canceled workflow
  blocks the key until the `release` signal: `skip` goes on, `redrive` waits for the run an
  operator started again (`hooktide flow release`).
- **Continue-as-new** carries the queue, the running workflows (watched afterwards with
  the local activity `flow_statuses`), the block, the late ones, the order reached and the
  throttle's bucket. A sequencer with nothing to do for `idle_seconds` completes (events kept
  as late are listed in the `queue` query until then, and in the worker's log as it closes);
  the next event starts a new one.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    CancelledError,
    ChildWorkflowError,
    TerminatedError,
    WorkflowAlreadyStartedError,
)
from temporalio.exceptions import TimeoutError as WorkflowTimeout
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from webhook_gateway.contracts import search_attributes as sa
    from webhook_gateway.contracts.flow import (
        EVENT_SIGNAL,
        EVENTS_SIGNAL,
        QUEUE_QUERY,
        RELEASE_SIGNAL,
        SEQUENCER_WORKFLOW,
        STATUSES_ACTIVITY,
        Blocked,
        FlowEvent,
        FlowEvents,
        Queued,
        ReleaseInput,
        Running,
        SequencerInput,
        SequencerView,
    )
    from workflows.dedupe import DeliveryLog

SEEN_CARRIED = 2_000
POLL_FIRST, POLL_MAX = timedelta(seconds=1), timedelta(seconds=30)
ENDED = {"failed", "timed-out", "terminated", "canceled"}
STATUS_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10), maximum_attempts=0)


def _rank(order: float | str | None) -> tuple[int, float, str]:
    """Numbers before strings, each in their own order; None (no order) sorts last."""
    if order is None:
        return (2, 0.0, "")
    if isinstance(order, str):
        return (1, 0.0, order)
    return (0, float(order), "")


@workflow.defn(name=SEQUENCER_WORKFLOW)
class SequencerWorkflow:
    @workflow.init
    def __init__(self, data: SequencerInput) -> None:
        self.data = data
        self.settings = data.settings
        self.queue: list[Queued] = list(data.queue)
        self.running: dict[str, Running] = {r.workflow_id: r for r in data.running}
        #: Started before the last continue-as-new: watched by asking, not by events.
        self.inherited: set[str] = set(self.running)
        self.blocked = data.blocked
        self.late = list(data.late)
        self.last_order = data.last_order
        self.arrivals = data.arrivals
        self.started = data.started
        self.tokens = data.tokens
        self.tokens_at = data.tokens_at
        self._seen = DeliveryLog(capacity=SEEN_CARRIED * 2)
        self._recent: deque[str] = deque(maxlen=SEEN_CARRIED)
        for delivery_id in data.seen:
            self._first_time(delivery_id)
        self._changed = False
        self._watcher: asyncio.Task[None] | None = None
        self._children: set[asyncio.Task[None]] = set()

    # --- signals and the query ------------------------------------------------------------

    @workflow.signal(name=EVENT_SIGNAL)
    def event(self, given: FlowEvent) -> None:
        if not self._first_time(given.delivery_id):
            return
        self.settings = given.settings
        self.arrivals += 1
        queued = Queued(
            delivery_id=given.delivery_id,
            workflow=given.workflow,
            workflow_id=given.workflow_id,
            task_queue=given.task_queue,
            event=given.event,
            order=given.order if given.settings.ordered_by else None,
            priority=given.priority,
            arrival=self.arrivals,
            arrived_at=workflow.now(),
        )
        keys = [self._sort_key(q) for q in self.queue]
        self.queue.insert(bisect.bisect_right(keys, self._sort_key(queued)), queued)
        self._changed = True

    @workflow.signal(name=EVENTS_SIGNAL)
    def events(self, given: FlowEvents) -> None:
        for one in given.events:
            self.event(one)

    @workflow.signal(name=RELEASE_SIGNAL)
    def release(self, given: ReleaseInput) -> None:
        blocked = self.blocked
        if blocked is None or blocked.workflow_id != given.workflow_id:
            return
        self.blocked = None
        if given.action == "redrive":  # the operator's new run: wait for it as for any other
            self.running[blocked.workflow_id] = Running(
                delivery_id=blocked.delivery_id,
                workflow_id=blocked.workflow_id,
                started_at=workflow.now(),
            )
            self.inherited.add(blocked.workflow_id)
        self._set_status("open")
        self._changed = True

    @workflow.query(name=QUEUE_QUERY)
    def view(self) -> SequencerView:
        return SequencerView(
            target=self.data.target,
            key=self.data.key,
            waiting=len(self.queue),
            oldest_waiting_at=min((q.arrived_at for q in self.queue), default=None),
            next_up=[q.delivery_id for q in self.queue[:10]],
            running=list(self.running.values()),
            blocked=self.blocked,
            late=[q.delivery_id for q in self.late],
            last_order=self.last_order,
            started=self.started,
            settings=self.settings,
        )

    # --- the loop ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, data: SequencerInput) -> None:
        idle_since = workflow.now()
        while not self._should_rotate():
            if self.inherited and (self._watcher is None or self._watcher.done()):
                self._watcher = asyncio.create_task(self._watch_inherited())
            wait = self._head_wait()
            if wait is not None and wait <= timedelta(0):
                await self._start_head()
                continue
            busy = bool(self.queue or self.running or self.blocked)
            if self.late and not workflow.patched("late-kept-until-idle"):
                busy = True  # before: events kept as late held the sequencer open for good
            if busy:
                idle_since = workflow.now()
            elif workflow.now() - idle_since >= timedelta(seconds=data.idle_seconds):
                break
            timeout = (
                wait
                if wait is not None
                else (None if busy else timedelta(seconds=data.idle_seconds))
            )
            self._changed = False
            # Redeliveries (dropped) and the watcher's polls change nothing, yet grow the
            # history: they too must bring the continue-as-new.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._changed or self._should_rotate(), timeout=timeout
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.queue or self.running or self.blocked or (self.late and self._should_rotate()):
            workflow.continue_as_new(self._carried())
        if self.late:
            workflow.logger.warning(
                "sequencer %s closes after %s s idle; late events never run: %s",
                workflow.info().workflow_id,
                data.idle_seconds,
                ", ".join(q.delivery_id for q in self.late),
            )

    def _should_rotate(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.data.history_events
        )

    def _head_wait(self) -> timedelta | None:
        """How long until the head may start; None while it cannot (nothing waits, the key
        is blocked, or `limit` workflows run)."""
        if not self.queue or self.blocked is not None:
            return None
        limit = self.settings.limit
        if limit is not None and len(self.running) >= limit:
            return None
        now = workflow.now()
        settle = self.queue[0].arrived_at + timedelta(seconds=self.settings.settle_seconds)
        wait = max(settle - now, timedelta(0))
        if self.settings.per_second is not None:
            tokens = self._tokens(now)
            if tokens < 1:
                wait = max(wait, timedelta(seconds=(1 - tokens) / self.settings.per_second))
        return wait

    def _tokens(self, now: datetime) -> float:
        rate, burst = self.settings.per_second or 0.0, float(self.settings.burst)
        if self.tokens is None or self.tokens_at is None:
            return burst
        return min(burst, self.tokens + (now - self.tokens_at).total_seconds() * rate)

    async def _start_head(self) -> None:
        head = self.queue.pop(0)
        now = workflow.now()
        late = (
            self.settings.ordered_by
            and head.order is not None
            and self.last_order is not None
            and _rank(head.order) < _rank(self.last_order)
        )
        if late and self.settings.late == "skip":
            self._count("late-skipped")
            return
        if late and self.settings.late == "fail":
            self.late.append(head)
            self._count("late-failed")
            return
        try:
            handle = await workflow.start_child_workflow(
                head.workflow,
                head.event,
                id=head.workflow_id,
                task_queue=head.task_queue,
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                priority=head.priority.temporal() if head.priority else Priority.default,
            )
        except WorkflowAlreadyStartedError:  # a redelivery of one that ran already
            self._count("duplicate")
            return
        self.started += 1
        if self.settings.per_second is not None:
            self.tokens, self.tokens_at = self._tokens(now) - 1, now
        if head.order is not None and (
            self.last_order is None or _rank(head.order) > _rank(self.last_order)
        ):
            self.last_order = head.order
        self.running[head.workflow_id] = Running(
            delivery_id=head.delivery_id, workflow_id=head.workflow_id, started_at=now,
            order=head.order,
        )  # fmt: skip
        self._count("late-run" if late else "started")
        self._waited(now - head.arrived_at)
        child = asyncio.create_task(self._await_child(handle, head.workflow_id))
        self._children.add(child)
        child.add_done_callback(self._children.discard)

    async def _await_child(self, handle: Any, workflow_id: str) -> None:
        try:
            await handle
            status = "completed"
        except ChildWorkflowError as exc:
            status = _child_status(exc)
        self._closed(workflow_id, status)

    async def _watch_inherited(self) -> None:
        delay = POLL_FIRST
        while self.inherited:
            await workflow.sleep(delay)
            statuses: dict[str, str] = await workflow.execute_local_activity(
                STATUSES_ACTIVITY,
                sorted(self.inherited),
                result_type=dict[str, str],
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=STATUS_RETRY,
            )
            for workflow_id, status in sorted(statuses.items()):
                if status != "running":
                    self.inherited.discard(workflow_id)
                    self._closed(workflow_id, "failed" if status == "missing" else status)
            delay = min(delay * 2, POLL_MAX)

    def _closed(self, workflow_id: str, status: str) -> None:
        gone = self.running.pop(workflow_id, None)
        if gone is None:
            return
        self._count(status)
        if status in ENDED and self.settings.on_failure == "block":
            self.blocked = Blocked(
                delivery_id=gone.delivery_id,
                workflow_id=workflow_id,
                status=status,
                since=workflow.now(),
            )
            self._set_status("blocked")
        self._changed = True

    # --- bookkeeping ------------------------------------------------------------------------

    def _sort_key(self, queued: Queued) -> tuple[tuple[int, float, str], int]:
        return (_rank(queued.order), queued.arrival)

    def _first_time(self, delivery_id: str) -> bool:
        if not self._seen.first_time(delivery_id):
            return False
        self._recent.append(delivery_id)
        return True

    def _set_status(self, status: str) -> None:
        """HooktideStatus `blocked` / `open`, where the gateway set it at start (registered)."""
        if workflow.info().typed_search_attributes.get(sa.STATUS) is not None:
            workflow.upsert_search_attributes([sa.STATUS.value_set(status)])

    def _count(self, outcome: str) -> None:
        workflow.metric_meter().create_counter(
            "hooktide_flow_events", "Sequenced events, by what became of them."
        ).add(1, {"target": self.data.target, "outcome": outcome})

    def _waited(self, waited: timedelta) -> None:
        workflow.metric_meter().create_histogram_timedelta(
            "hooktide_flow_wait", "Time an event waited in its key's sequencer.", unit="ms"
        ).record(waited, {"target": self.data.target})

    def _carried(self) -> SequencerInput:
        return self.data.model_copy(
            update={
                "settings": self.settings,
                "queue": self.queue,
                "running": list(self.running.values()),
                "blocked": self.blocked,
                "late": self.late,
                "last_order": self.last_order,
                "arrivals": self.arrivals,
                "seen": list(self._recent),
                "tokens": self.tokens,
                "tokens_at": self.tokens_at,
                "started": self.started,
            }
        )


def _child_status(exc: ChildWorkflowError) -> str:
    cause = exc.cause
    if isinstance(cause, TerminatedError):
        return "terminated"
    if isinstance(cause, WorkflowTimeout):
        return "timed-out"
    if isinstance(cause, CancelledError):
        return "canceled"
    return "failed"
