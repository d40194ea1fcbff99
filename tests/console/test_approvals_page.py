"""The console's pending approvals over HTTP: orders of the order example over the threshold,
sent as signed webhooks through a real gateway to the real worker (dev server, SMTP sink for
the approver's email), approved or rejected with the page's buttons."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from temporalio.client import Client

from tests.example.support import APPROVAL_SECRET, large_order, mailbox
from tests.support.console_session import OPERATOR_TOKEN, signed_in
from tests.support.gateway import serve_gateway
from tests.support.net import LOOPBACK
from tests.support.polling import eventually
from tests.support.routes import orders_route
from tests.support.signing import signed
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.order import OrderResult, OrderStatus
from worker import build_worker

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class Stack:
    http: httpx.AsyncClient
    client: Client
    csrf: str


@pytest.fixture(scope="module")
async def stack(client: Client, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    queue = f"approvals-{uuid.uuid4().hex[:8]}"
    config = parse_config(
        {
            "routes": {
                "orders": orders_route(queue, f"{queue}-", delivery_id={"header": "webhook-id"})
            }
        }
    )
    async with mailbox(tmp_path_factory.mktemp("mail")) as mail:
        with pytest.MonkeyPatch.context() as env:
            # The worker's settings: approvals on (an approver to email, the link secret).
            for name, value in {
                "HOOKTIDE_SMTP_HOST": LOOPBACK,
                "HOOKTIDE_SMTP_PORT": str(mail.port),
                "HOOKTIDE_APPROVER_EMAIL": "approver@example.test",
                "HOOKTIDE_APPROVAL_SECRET": APPROVAL_SECRET,
                "HOOKTIDE_APPROVAL_THRESHOLD": "1000",
            }.items():
                env.setenv(name, value)
            settings = Settings(
                HOOKTIDE_OPERATOR_TOKEN=OPERATOR_TOKEN, HOOKTIDE_APPROVAL_SECRET=APPROVAL_SECRET
            )
            async with (
                build_worker(client, queue),
                serve_gateway(config, settings, client=client, timeout=30) as http,
            ):
                yield Stack(http, client, await signed_in(http))


async def pending_order(stack: Stack) -> tuple[str, str, dict[str, str]]:
    """(order id, workflow id, the hidden fields of its decision form) of a large order sent
    now, once the approvals page lists it."""
    order_id = f"C-{uuid.uuid4().hex[:6]}"
    raw, headers = signed(large_order(order_id))
    ack = await stack.http.post("/webhooks/orders", content=raw, headers=headers)
    assert ack.status_code == 202, ack.text
    workflow_id = str(ack.json()["workflow_id"])
    page = await eventually(
        lambda: stack.http.get("/console/approvals"), lambda r: workflow_id in r.text
    )
    row = page.text.split(f'id="order-{workflow_id}"')[1].split("</tr>")[0]
    form = {name: html.unescape(value) for name, value in HIDDEN.findall(row)}
    assert form.keys() == {"csrf", "workflow_id", "nonce", "order_id"}, page.text
    assert order_id in row and "4497.00 EUR" in row
    return order_id, workflow_id, form


async def decide(
    stack: Stack, form: dict[str, str], decision: str, **changed: str
) -> httpx.Response:
    sent = form | {"decision": decision, "note": "checked"} | changed
    return await stack.http.post("/console/approvals/decide", data=sent)


async def test_approving_from_the_console_completes_the_pending_order(stack: Stack) -> None:
    order_id, workflow_id, form = await pending_order(stack)
    handle = stack.client.get_workflow_handle(workflow_id, result_type=OrderResult)

    decided = await decide(stack, form, "approve")

    assert decided.status_code == 303, decided.text
    result = await handle.result()
    assert result.status == "accepted"
    status = await handle.query("status", result_type=OrderStatus)
    assert status.approval is not None and status.approval.status == "approved"
    assert status.approval.decided_by == "Ada Operator (console)"
    assert status.approval.note == "checked"
    shown = await stack.http.get(decided.headers["location"])
    assert f"Order {order_id} approved." in shown.text
    assert f'id="order-{workflow_id}"' not in shown.text
    again = await decide(stack, form, "reject")
    assert again.status_code in (404, 409)


async def test_rejecting_from_the_console_rejects_the_order(stack: Stack) -> None:
    _, workflow_id, form = await pending_order(stack)

    decided = await decide(stack, form, "reject")

    assert decided.status_code == 303, decided.text
    result = await stack.client.get_workflow_handle(workflow_id, result_type=OrderResult).result()
    assert (result.status, result.rejection_type) == ("rejected", "ApprovalRejected")
    assert result.reason == "rejected by Ada Operator (console)"


async def test_a_decision_without_the_csrf_token_or_the_right_nonce_is_refused(
    stack: Stack,
) -> None:
    _, workflow_id, form = await pending_order(stack)
    handle = stack.client.get_workflow_handle(workflow_id)

    forged = await decide(stack, form, "approve", csrf="forged")
    wrong = await decide(stack, form, "approve", nonce=str(uuid.uuid4()))
    status = await handle.query("status", result_type=OrderStatus)

    assert forged.status_code == 403
    assert wrong.status_code == 409 and "not the order" in wrong.text
    assert status.approval is not None and status.approval.status == "pending"
    await decide(stack, form, "reject")  # leave nothing waiting


async def test_without_the_example_there_is_no_approvals_page(client: Client) -> None:
    settings = Settings(HOOKTIDE_OPERATOR_TOKEN=OPERATOR_TOKEN, HOOKTIDE_APPROVAL_SECRET=None)
    async with serve_gateway(parse_config({"routes": {}}), settings, client=client) as http:
        await signed_in(http)
        page = await http.get("/console/approvals")
        routes = await http.get("/console/routes")

    assert page.status_code == 404
    assert routes.status_code == 200 and "/console/approvals" not in routes.text
