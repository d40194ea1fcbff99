"""The order example end to end on the dev server: signed webhooks through the real gateway,
the real worker, the example's inventory and CRM services and a real SMTP sink; approval
through the emailed link and the gateway's page."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowUpdateFailedError

from tests.example.conftest import Peers
from tests.example.support import APPROVAL_SECRET, large_order, small_order
from tests.support.gateway import serve_gateway
from tests.support.polling import eventually
from tests.support.routes import orders_route
from tests.support.signing import signed
from webhook_gateway.config.routes import parse_config
from webhook_gateway.contracts.approval_tokens import make_token, read_token
from webhook_gateway.contracts.order import ApprovalDecision, OrderResult
from worker import build_worker
from workflows.example.order import OrderWorkflow


@pytest.fixture
async def gateway(
    client: Client, example: Peers, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway with the orders route, serving approval links it tells the worker about,
    and a worker built once the environment names the example's peers and the gateway."""
    task_queue = f"order-e2e-{uuid.uuid4().hex[:8]}"
    orders = orders_route(task_queue, "order-", delivery_id={"header": "webhook-id"})
    config = parse_config({"routes": {"orders": orders}})
    async with serve_gateway(config, client=client, timeout=30) as http:
        monkeypatch.setenv("HOOKTIDE_PUBLIC_URL", http.url)
        async with build_worker(client, task_queue):
            yield http


async def send(http: httpx.AsyncClient, order: dict[str, Any], msg_id: str | None = None) -> Any:
    body, headers = signed(order, msg_id=msg_id)
    response = await http.post("/webhooks/orders", content=body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()


async def test_normal_order_sends_one_confirmation_and_writes_one_crm_record(
    client: Client, gateway: httpx.AsyncClient, example: Peers
) -> None:
    order_id = f"E-{uuid.uuid4().hex[:6]}"
    ack = await send(gateway, small_order(order_id))
    result = await client.get_workflow_handle(ack["workflow_id"], result_type=OrderResult).result()
    found = await eventually(
        lambda: _visible(
            client, f"HooktideOrderId = '{order_id}' AND HooktideStatus = 'completed'"
        ),
        lambda ids: len(ids) == 1,
    )

    assert result.status == "accepted"
    assert example.mail.subjects() == [f"Order {order_id} confirmed"]
    customer = await example.crm.get(f"/customers/cus-{order_id}")
    assert list(customer["orders"]) == [order_id]
    assert found == [ack["workflow_id"]]


async def _visible(client: Client, query: str) -> list[str]:
    return [w.id async for w in client.list_workflows(query)]


async def test_redelivered_order_webhook_is_one_workflow(
    client: Client, gateway: httpx.AsyncClient, example: Peers
) -> None:
    order_id = f"E-{uuid.uuid4().hex[:6]}"
    msg_id = f"msg_{uuid.uuid4().hex}"
    first = await send(gateway, small_order(order_id), msg_id)
    await client.get_workflow_handle(first["workflow_id"]).result()
    again = await send(gateway, small_order(order_id), msg_id)

    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert again["run_id"] == first["run_id"]
    assert example.mail.subjects() == [f"Order {order_id} confirmed"]


async def _approval_link(client: Client, workflow_id: str, example: Peers) -> str:
    status = await eventually(
        lambda: client.get_workflow_handle(workflow_id).query(OrderWorkflow.status),
        lambda s: s.step == "awaiting-approval" and bool(example.mail.messages()),
    )
    assert status.step == "awaiting-approval"
    return "/approvals/" + example.mail.approval_token()


async def test_large_order_is_approved_from_the_emailed_link_once(
    client: Client, gateway: httpx.AsyncClient, example: Peers
) -> None:
    order_id = f"E-{uuid.uuid4().hex[:6]}"
    ack = await send(gateway, large_order(order_id))
    link = await _approval_link(client, ack["workflow_id"], example)
    page = await gateway.get(link)
    decided = await gateway.post(link, data={"decision": "approve"})
    result = await client.get_workflow_handle(ack["workflow_id"], result_type=OrderResult).result()
    again = await gateway.post(link, data={"decision": "reject"})
    shown = await gateway.get(link)

    assert page.status_code == 200 and 'value="approve"' in page.text
    assert f"Approve order {order_id}?" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert decided.status_code == 200 and "Order approved" in decided.text
    assert result.status == "accepted"
    assert again.status_code == 409 and "already approved" in again.text
    assert shown.status_code == 200 and 'value="approve"' not in shown.text
    assert example.mail.subjects()[1:] == [f"Order {order_id} confirmed"]


async def test_update_validator_refuses_a_second_decision_without_touching_history(
    client: Client, gateway: httpx.AsyncClient, example: Peers
) -> None:
    ack = await send(gateway, large_order(f"E-{uuid.uuid4().hex[:6]}"))
    handle = client.get_workflow_handle(ack["workflow_id"], result_type=OrderResult)
    link = await _approval_link(client, handle.id, example)
    nonce = read_token(APPROVAL_SECRET, link.rsplit("/", 1)[1]).nonce
    await handle.execute_update(OrderWorkflow.decide, ApprovalDecision(nonce=nonce, approved=False))
    events_before = len([e async for e in handle.fetch_history_events()])
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            OrderWorkflow.decide, ApprovalDecision(nonce=nonce, approved=True)
        )
    with pytest.raises(WorkflowUpdateFailedError) as unknown:
        await handle.execute_update(
            OrderWorkflow.decide, ApprovalDecision(nonce=str(uuid.uuid4()), approved=True)
        )
    rejected_updates = [
        e async for e in handle.fetch_history_events() if e.HasField(
            "workflow_execution_update_rejected_event_attributes"
        )
    ]  # fmt: skip
    result = await handle.result()

    assert "already rejected" in str(refused.value.cause)
    assert "not the order's current one" in str(unknown.value.cause)
    assert rejected_updates == []
    assert events_before > 0
    assert result.status == "rejected"


async def test_tampered_malformed_or_expired_links_are_refused_and_change_nothing(
    client: Client, gateway: httpx.AsyncClient, example: Peers
) -> None:
    ack = await send(gateway, large_order(f"E-{uuid.uuid4().hex[:6]}"))
    handle = client.get_workflow_handle(ack["workflow_id"])
    link = await _approval_link(client, handle.id, example)
    token = read_token(APPROVAL_SECRET, link.rsplit("/", 1)[1])
    mac = link[-1]
    tampered = link[:-1] + ("A" if mac != "A" else "B")
    other_workflow = make_token(APPROVAL_SECRET, handle.id + "x", token.nonce, token.expires_at)
    forged = link.replace(link.split(".")[1], other_workflow.split(".")[1])
    expired = make_token(
        APPROVAL_SECRET, handle.id, token.nonce, datetime.now(UTC) - timedelta(minutes=1)
    )

    answers = {
        "tampered": await gateway.post(tampered, data={"decision": "approve"}),
        "forged": await gateway.post(forged, data={"decision": "approve"}),
        "cut short": await gateway.post(link[: len(link) // 2], data={"decision": "approve"}),
        "expired": await gateway.post(f"/approvals/{expired}", data={"decision": "approve"}),
        "expired page": await gateway.get(f"/approvals/{expired}"),
    }
    status = await handle.query(OrderWorkflow.status)
    await handle.terminate("test over")

    assert {k: r.status_code for k, r in answers.items()} == {
        "tampered": 403, "forged": 403, "cut short": 400, "expired": 410, "expired page": 410,
    }  # fmt: skip
    assert all(r.headers["content-type"].startswith("text/html") for r in answers.values())
    assert "expired" in answers["expired"].text
    assert re.search(r"not valid", answers["tampered"].text)
    assert status.step == "awaiting-approval"
    assert status.approval is not None and status.approval.status == "pending"
