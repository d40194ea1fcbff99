"""What the outside world hears: signed outbound events for the order's milestones, and an
email to operations for an outbound delivery that gave up (time-skipping server)."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from activities.outbound import DeliveryInput, DeliveryTarget
from tests.example.conftest import Peers
from tests.example.support import (
    SUBSCRIBER_SECRET,
    register_search_attributes,
    small_order,
    subscriber_service,
)
from tests.support.gateway import serve
from tests.support.peer import Peer, Reply
from tests.support.polling import eventually
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.secrets import SecretSource
from worker import build_worker
from workflows.example.order import OrderWorkflow
from workflows.outbound.delivery import WebhookDeliveryWorkflow


@pytest.fixture
async def registered(time_skipping: WorkflowEnvironment) -> None:
    await register_search_attributes(time_skipping.client)


async def test_completed_and_failed_orders_are_announced_signed_to_the_subscriber(
    time_skipping: WorkflowEnvironment, example: Peers, registered: None,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    async with subscriber_service(tmp_path) as sub:
        routes = tmp_path / "hooktide.yaml"
        routes.write_text(yaml.safe_dump({"routes": {}, "subscriptions": {"sub": {
            "url": f"{sub.base}/webhooks", "events": ["order.*"],
            "secret": {"env": "HOOKTIDE_SUBSCRIBER_SECRET"},
        }}}), encoding="utf-8")  # fmt: skip
        monkeypatch.setenv("HOOKTIDE_CONFIG", str(routes))
        monkeypatch.setenv("HOOKTIDE_SUBSCRIBER_SECRET", SUBSCRIBER_SECRET)
        monkeypatch.setenv("HOOKTIDE_ORDER_EVENTS", "true")
        queue = f"example-{uuid.uuid4().hex[:8]}"
        async with build_worker(time_skipping.client, queue):  # reads the settings above
            ids = []
            for order_id in ("N-1", "N-2"):
                if order_id == "N-2":
                    await example.crm.faults(status=400, times=-1)
                ids.append(f"order-{uuid.uuid4().hex}")
                handle = await time_skipping.client.start_workflow(
                    OrderWorkflow.run,
                    WebhookEvent(route="orders", delivery_id=order_id,
                                 received_at=datetime.now(UTC), body=small_order(order_id)),
                    id=ids[-1], task_queue=queue,
                )  # fmt: skip
                with contextlib.suppress(WorkflowFailureError):  # N-2 fails, on purpose
                    await handle.result()
            events = await eventually(lambda: sub.get("/events"), lambda e: e and len(e) == 2)

    by_type = {e["type"]: e["data"] for e in events}
    assert set(by_type) == {"order.completed", "order.failed"}
    assert by_type["order.completed"]["order_id"] == "N-1"
    failed = by_type["order.failed"]
    assert (failed["order_id"], failed["step"]) == ("N-2", "crm")
    assert "HttpClientError" in failed["reason"]
    assert failed["ui_link"] == f"http://127.0.0.1:8233/namespaces/default/workflows/{ids[1]}"


async def test_delivery_that_gives_up_emails_operations(
    time_skipping: WorkflowEnvironment, ts_queue: str, example: Peers, registered: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("TEST_NOTIFY_WHSEC", SUBSCRIBER_SECRET)
    peer = Peer()
    peer.script("/hook", Reply(500))
    async with serve(peer.app) as base:
        peer.base = base
        target = DeliveryTarget(
            subscription="ops-test", url=peer.url("/hook"),
            secret=SecretSource(env="TEST_NOTIFY_WHSEC"),
        )  # fmt: skip
        msg_id = f"msg_{uuid.uuid4().hex}"
        result = await time_skipping.client.execute_workflow(
            WebhookDeliveryWorkflow.run,
            DeliveryInput(target=target, msg_id=msg_id, payload={"type": "order.completed"}),
            id=f"delivery-{msg_id}",
            task_queue=ts_queue,
        )

    assert result.outcome == "failed"
    (notice,) = example.mail.messages()
    assert notice["To"] == "ops@example.test"
    assert str(notice["Subject"]).strip() == f"[hooktide] Webhook {msg_id} to 'ops-test' gave up"
    body = notice.get_body(("plain",))
    assert body is not None
    assert f"/namespaces/default/workflows/delivery-{msg_id}" in body.get_content()
    assert "last answer 500" in body.get_content()
