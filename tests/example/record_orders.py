"""Recording OrderWorkflow histories with the example's real peers (run through
`python -m tests.support.record_histories orders`): completed, rejected as invalid,
approved through the update, and failed with compensation."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowFailureError

from tests.example.support import APPROVAL_SECRET, large_order, order_env, peers
from tests.support.polling import eventually
from webhook_gateway.contracts.approval_tokens import read_token
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.order import ApprovalDecision
from workflows.example.order import OrderWorkflow


def _event(name: str, body: Any) -> WebhookEvent:
    return WebhookEvent(
        route="recorded", delivery_id=name, received_at=datetime(2026, 11, 27, 12, tzinfo=UTC),
        body=body,
    )  # fmt: skip


async def record_orders(client: Client, queue: str, histories: Path) -> None:
    async def save(name: str, workflow_id: str) -> None:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        (histories / f"{name}.json").write_text(history.to_json(), encoding="utf-8")

    with tempfile.TemporaryDirectory() as tmp:
        async with peers(Path(tmp)) as (inventory, crm, mail):
            os.environ.update(order_env(inventory, crm, mail))
            for name, body in (
                ("order_completed", large_order("H-1") | {"lines": [
                    {"sku": "BOOK", "quantity": 1, "unit_price": "9.50"}]}),
                ("order_rejected", {"id": "H-2", "lines": []}),
            ):  # fmt: skip
                wid = f"rec-{name}-{uuid.uuid4().hex[:6]}"
                await client.execute_workflow(
                    OrderWorkflow.run, _event(name, body), id=wid, task_queue=queue
                )
                await save(name, wid)

            wid = f"rec-order_approved-{uuid.uuid4().hex[:6]}"
            handle = await client.start_workflow(
                OrderWorkflow.run, _event("approved", large_order("H-3")), id=wid,
                task_queue=queue,
            )  # fmt: skip
            await eventually(mail.subjects, lambda s: any(x.startswith("Approval") for x in s))
            nonce = read_token(APPROVAL_SECRET, mail.approval_token()).nonce
            await handle.execute_update(
                OrderWorkflow.decide, ApprovalDecision(nonce=nonce, approved=True, by="recorder")
            )
            await handle.result()
            await save("order_approved", wid)

            await crm.faults(status=422, times=-1)
            wid = f"rec-order_failed-{uuid.uuid4().hex[:6]}"
            with contextlib.suppress(WorkflowFailureError):  # it fails, as recorded
                await client.execute_workflow(
                    OrderWorkflow.run, _event("failed", large_order("H-4") | {"lines": [
                        {"sku": "BOOK", "quantity": 2, "unit_price": "9.50"}]}),
                    id=wid, task_queue=queue,
                )  # fmt: skip
            await save("order_failed", wid)
