"""Record workflow histories for the replay tests.

Run after changing a workflow on purpose, to add histories of the new version (keep the old
files: they are what running workflows were recorded with):

    .venv/bin/python -m tests.support.record_histories            # everything
    .venv/bin/python -m tests.support.record_histories highfreq   # inbox, batch, debounce only
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.support.net import free_port
from tests.support.signing import order_payload
from webhook_gateway.devserver import TemporalDevServer
from webhook_gateway.event import WebhookEvent
from webhook_gateway.highfreq import CollectorInput, InboxBatch, InboxInput, PendingStart
from worker import build_worker
from workflows.batch import BatchCollectorWorkflow
from workflows.debounce import DebounceCollectorWorkflow
from workflows.inbox import InboxWorkflow
from workflows.order import OrderWorkflow
from workflows.ticket import TicketWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


def event(delivery_id: str, body: Any) -> WebhookEvent:
    return WebhookEvent(
        route="recorded",
        delivery_id=delivery_id,
        received_at=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
        body=body,
    )


async def record(client: Client, queue: str) -> None:
    async def save(name: str, workflow_id: str) -> None:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")

    for name, body in (
        ("order_accepted", order_payload("H-1")),
        ("order_rejected", {"id": "H-2", "lines": []}),
    ):
        wid = f"rec-{name}-{uuid.uuid4().hex[:6]}"
        await client.execute_workflow(
            OrderWorkflow.run, event(name, body), id=wid, task_queue=queue
        )
        await save(name, wid)

    wid = f"rec-ticket-{uuid.uuid4().hex[:6]}"
    handle = await client.start_workflow(
        TicketWorkflow.run, id=wid, task_queue=queue, start_signal="webhook",
        start_signal_args=[event("t1", {"comment": "first"})],
    )  # fmt: skip
    await handle.signal("webhook", event("t1", {"comment": "first"}))
    await handle.execute_update("webhook", event("t2", {"comment": "second"}))
    await handle.signal("webhook", event("t3", {"action": "close"}))
    await handle.result()
    await save("ticket_closed", wid)


async def record_highfreq(client: Client, queue: str) -> None:
    """Short-lived runs of the high-frequency workflows (tiny thresholds, short timers)."""

    async def save(name: str, workflow_id: str, run_id: str | None = None) -> None:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")

    tag = uuid.uuid4().hex[:6]
    wid = f"rec-inbox-{tag}"
    items = [
        PendingStart(workflow_id=f"rec-inbox-order-{tag}-{n}", event=event(f"i{n}", {}), size=300)
        for n in range(12)
    ]
    start = InboxInput(route="recorded", shard=0, history_events=14, start_chunk=4)
    handle = await client.start_workflow(
        InboxWorkflow.run, start, id=wid, task_queue=queue, start_signal="events",
        start_signal_args=[InboxBatch(workflow="NoSuchWorkflow", task_queue=f"{queue}-none",
                                      items=items[:6])],
    )  # fmt: skip
    await handle.signal(
        "events", InboxBatch(workflow="NoSuchWorkflow", task_queue=f"{queue}-none", items=items[6:])
    )
    first_run = handle.first_execution_run_id or handle.result_run_id
    for _ in range(300):
        status = await client.get_workflow_handle(wid).query(InboxWorkflow.status)
        if status.backlog == 0 and status.started == 12:
            break
        await asyncio.sleep(0.1)
    await save("inbox_continued_as_new", wid, first_run)
    await client.get_workflow_handle(wid).terminate("recorded")

    def collector(**fields: Any) -> CollectorInput:
        return CollectorInput(
            route="recorded", key="k", task_queue=queue, workflow_id_prefix=f"rec-{tag}-",
            idle_seconds=0.5, **fields,
        )  # fmt: skip

    wid = f"rec-batch-{tag}"
    handle = await client.start_workflow(
        BatchCollectorWorkflow.run,
        collector(workflow="EventBatchWorkflow", max_size=2, max_wait_seconds=0.5),
        id=wid, task_queue=queue, start_signal="event", start_signal_args=[event("b1", {"n": 1})],
    )  # fmt: skip
    for n in (2, 2, 3):
        await handle.signal("event", event(f"b{n}", {"n": n}))
    status = await handle.result()
    await save("batch_collector", wid)
    await client.get_workflow_handle(status.delivered[0]).result()
    await save("event_batch", status.delivered[0])

    wid = f"rec-debounce-{tag}"
    handle = await client.start_workflow(
        DebounceCollectorWorkflow.run,
        collector(workflow="OrderWorkflow", period_seconds=0.3),
        id=wid, task_queue=queue, start_signal="event",
        start_signal_args=[event("d1", order_payload("D-1"))],
    )  # fmt: skip
    await handle.signal("event", event("d2", order_payload("D-2")))
    await handle.result()
    await save("debounce_collector", wid)


async def main(only: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = TemporalDevServer(db_file=Path(tmp) / "t.db", port=free_port(), ui_port=None)
        server.start()
        try:
            await server.wait_ready()
            client = await Client.connect(server.address, data_converter=pydantic_data_converter)
            queue = f"record-{uuid.uuid4().hex[:6]}"
            async with build_worker(client, queue):
                if only != "highfreq":
                    await record(client, queue)
                await record_highfreq(client, queue)
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
