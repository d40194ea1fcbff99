"""Histories of the flow-control sequencer, for the replay tests (`python -m
tests.support.record_histories flow`): each a short run started as the gateway starts one
(signal-with-start of `flow_events`), with a short idle time so that it completes.

- `sequencer_ordered_late`: ordered, `late: run`; 5 runs, then 3 (late) and 7 arrive in one
  signal, and 5 is redelivered (in an older gateway's one-event `flow_event`).
- `sequencer_concurrency_throttle`: 6 events, 3 at a time, 2 a second (no bursts).
- `sequencer_blocked_released`: ordered, 2 and 4 fail: 2 is released with skip, 4 is reset
  once fixed and released with redrive (watched with `flow_statuses`).
- `sequencer_continued_as_new` and `sequencer_carried`: both runs of one that continued as
  new (after 40 events) while its first workflow ran, queue and seen ids carried.
"""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle

from tests.flow.support import flow_worker, probe_event, run_ids, start_sequencer
from tests.support.flow_flows import FAIL, LOG
from tests.support.polling import eventually
from webhook_gateway.contracts.flow import (
    EVENT_SIGNAL,
    EVENTS_SIGNAL,
    QUEUE_QUERY,
    RELEASE_SIGNAL,
    FlowEvent,
    FlowEvents,
    FlowSettingsWire,
    ReleaseInput,
    SequencerInput,
    SequencerView,
)
from webhook_gateway.operator import lookup

ORDERED = FlowSettingsWire(limit=1, ordered_by=True, late="run", on_failure="block")
THROTTLED = FlowSettingsWire(limit=3, per_second=2, burst=1, on_failure="continue")


async def record_sequencers(client: Client, folder: Path) -> None:
    LOG.clear()
    FAIL.clear()
    recorder = _Recorder(client, f"record-flow-{uuid.uuid4().hex[:6]}", folder)
    async with flow_worker(client, recorder.queue):
        await recorder.ordered_late()
        await recorder.concurrency_throttle()
        await recorder.blocked_released()
    await _Recorder(client, f"record-flow-{uuid.uuid4().hex[:6]}", folder).continued_as_new()


class _Recorder:
    def __init__(self, client: Client, queue: str, folder: Path) -> None:
        self.client, self.queue, self.folder = client, queue, folder

    def event(self, tag: str, n: int, settings: FlowSettingsWire, **body: Any) -> FlowEvent:
        order = n if settings.ordered_by else None
        return probe_event(tag, f"d{n}", queue=self.queue, order=order, settings=settings,
                           n=n, ms=body.pop("ms", 0), **body)  # fmt: skip

    def events(self, tag: str, settings: FlowSettingsWire, *ns: int) -> FlowEvents:
        return FlowEvents(events=[self.event(tag, n, settings) for n in ns])

    async def start(
        self, tag: str, settings: FlowSettingsWire, *first: FlowEvent, **fields: Any
    ) -> WorkflowHandle[Any, Any]:
        start = SequencerInput(target=tag, key="k", route=tag, settings=settings,
                               idle_seconds=0.5, **fields)  # fmt: skip
        return await start_sequencer(self.client, start, *first, queue=self.queue)

    async def view(self, handle: WorkflowHandle[Any, Any], ok: Any) -> SequencerView:
        view: SequencerView = await eventually(
            lambda: handle.query(QUEUE_QUERY, result_type=SequencerView), ok, timeout=60
        )
        assert ok(view), view
        return view

    async def save(self, name: str, handle: WorkflowHandle[Any, Any], run_id: str | None) -> None:
        history = await self.client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        (self.folder / f"{name}.json").write_text(history.to_json(), encoding="utf-8")

    async def ordered_late(self) -> None:
        tag = f"rec-late-{uuid.uuid4().hex[:6]}"
        handle = await self.start(tag, ORDERED, self.event(tag, 5, ORDERED, ms=500))
        await self.view(handle, lambda v: v.started == 1)
        await handle.signal(EVENTS_SIGNAL, self.events(tag, ORDERED, 3, 7))
        await handle.signal(EVENT_SIGNAL, self.event(tag, 5, ORDERED))
        await handle.result()
        await self.save("sequencer_ordered_late", handle, handle.result_run_id)

    async def concurrency_throttle(self) -> None:
        tag = f"rec-throttle-{uuid.uuid4().hex[:6]}"
        handle = await self.start(tag, THROTTLED, *self.events(tag, THROTTLED, 0, 1, 2).events)
        await handle.signal(EVENTS_SIGNAL, self.events(tag, THROTTLED, 3, 4, 5))
        await handle.result()
        await self.save("sequencer_concurrency_throttle", handle, handle.result_run_id)

    async def blocked_released(self) -> None:
        tag = f"rec-blocked-{uuid.uuid4().hex[:6]}"
        FAIL.update({2, 4})
        handle = await self.start(tag, ORDERED, self.event(tag, 1, ORDERED))
        await handle.signal(EVENTS_SIGNAL, self.events(tag, ORDERED, 2, 3, 4, 5))
        for n, action in ((2, "skip"), (4, "redrive")):
            blocked = f"{tag}-d{n}"
            view = await self.view(
                handle, lambda v, wid=blocked: v.blocked and v.blocked.workflow_id == wid
            )
            assert view.blocked is not None
            if action == "redrive":
                FAIL.clear()
                failed = await self.client.get_workflow_handle(view.blocked.workflow_id).describe()
                [step] = await lookup.plan(self.client, [failed])
                await lookup.execute(self.client, step)
            await handle.signal(
                RELEASE_SIGNAL, ReleaseInput(action=action, workflow_id=blocked, by="rec")
            )
        await handle.result()
        await self.save("sequencer_blocked_released", handle, handle.result_run_id)

    async def continued_as_new(self) -> None:
        """Everything is sent before the worker runs (as in tests/flow/test_continue_as_new):
        its first task starts d0, and the run, past 40 events, continues as new."""
        tag = f"rec-can-{uuid.uuid4().hex[:6]}"
        handle = await self.start(
            tag, ORDERED, self.event(tag, 0, ORDERED, ms=1500), history_events=40
        )
        for n in [1, 2, *itertools.islice(itertools.cycle(range(3)), 31)]:
            await handle.signal(EVENTS_SIGNAL, self.events(tag, ORDERED, n))
        first = handle.result_run_id
        assert first is not None
        async with flow_worker(self.client, self.queue):
            await handle.result()
        chain = await run_ids(self.client, handle.id, first)
        await self.save("sequencer_continued_as_new", handle, chain[0])
        await self.save("sequencer_carried", handle, chain[1])
