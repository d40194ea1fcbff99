"""Record workflow histories for the replay tests.

Run after changing a workflow on purpose, to add histories of the new version (keep the old
files: they are what running workflows were recorded with):

    .venv/bin/python -m tests.support.record_histories
"""

from __future__ import annotations

import asyncio
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
from worker import build_worker
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


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = TemporalDevServer(db_file=Path(tmp) / "t.db", port=free_port(), ui_port=None)
        server.start()
        try:
            await server.wait_ready()
            client = await Client.connect(server.address, data_converter=pydantic_data_converter)
            queue = f"record-{uuid.uuid4().hex[:6]}"
            async with build_worker(client, queue):
                await record(client, queue)
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
