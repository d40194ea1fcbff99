"""DebounceCollectorWorkflow: the last event of each burst for one key.

Fed by signal-with-start (one per request; repeated delivery ids are dropped). Every new
event restarts a `period_seconds` timer; when it fires the latest event goes to a new run of
the route's workflow (argument: the `WebhookEvent` itself). With `max_wait_seconds` a
never-ending burst still delivers that long after it began. After `idle_seconds` without
events the collector completes; an event arriving meanwhile is seen first.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from webhook_gateway.contracts.events import WebhookEvent
    from webhook_gateway.contracts.highfreq import (
        COLLECT_SIGNAL,
        DEBOUNCE_WORKFLOW,
        CollectorInput,
        CollectorStatus,
    )
    from workflows.highfreq.collector import CollectorState


@workflow.defn(name=DEBOUNCE_WORKFLOW)
class DebounceCollectorWorkflow:
    @workflow.init
    def __init__(self, data: CollectorInput) -> None:
        self._state = CollectorState(data)
        self._last: WebhookEvent | None = data.buffer[-1] if data.buffer else None
        self._burst_started = data.burst_started if self._last else None
        self._version = self._settled = 0

    @workflow.run
    async def run(self, data: CollectorInput) -> CollectorStatus:
        while True:
            if self._last is None:
                if self._state.should_rotate():
                    workflow.continue_as_new(self._state.carried(buffer=[], burst_started=None))
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: self._last is not None,
                        timeout=timedelta(seconds=data.idle_seconds),
                    )
                if self._last is None and workflow.all_handlers_finished():
                    return self._state.status(0)
                continue
            if self._state.should_rotate():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    self._state.carried(buffer=[self._last], burst_started=self._burst_started)
                )
            wait = data.period_seconds
            if data.burst_max_seconds is not None and self._burst_started is not None:
                wait = min(wait, self._burst_started + data.burst_max_seconds - _now())
            self._settled = self._version
            if wait > 0:
                try:
                    await workflow.wait_condition(self._changed, timeout=timedelta(seconds=wait))
                    continue  # another event: the period starts again
                except TimeoutError:
                    pass
            if self._changed():
                continue
            last, self._last, self._burst_started = self._last, None, None
            await self._state.start_target(last)

    @workflow.signal(name=COLLECT_SIGNAL)
    def event(self, event: WebhookEvent) -> None:
        if not self._state.first_time(event.delivery_id):
            return
        if self._last is None:
            self._burst_started = _now()
        self._last = event
        self._version += 1

    def _changed(self) -> bool:
        return self._version != self._settled

    @workflow.query
    def status(self) -> CollectorStatus:
        return self._state.status(0 if self._last is None else 1)


def _now() -> float:
    return workflow.now().timestamp()
