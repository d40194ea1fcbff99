"""The walkthrough of docs/CONSOLE.md in Chromium, on the real order example: an order
whose CRM update fails for good fails (compensated) and shows so in the console; once the CRM
is fixed, the console's Redrive button runs it again from its original input and it completes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import expect
from temporalio.client import Client, WorkflowExecutionStatus

from tests.console.test_console_browser import at, settled, sign_in
from tests.example.conftest import Peers, example  # noqa: F401 - the example's peers
from tests.example.support import small_order
from tests.support.browser import Page
from tests.support.console_session import OPERATOR_TOKEN
from tests.support.gateway import GatewayClient, serve_gateway
from tests.support.routes import orders_route
from tests.support.signing import signed
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.order import OrderResult
from worker import build_worker


@pytest.fixture
async def gateway(
    client: Client,
    example: Peers,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[GatewayClient]:
    task_queue = f"walkthrough-{uuid.uuid4().hex[:8]}"
    orders = orders_route(task_queue, "order-", delivery_id={"header": "webhook-id"})
    settings = Settings(HOOKTIDE_OPERATOR_TOKEN=OPERATOR_TOKEN)
    config = parse_config({"routes": {"orders": orders}})
    async with serve_gateway(config, settings, client=client, timeout=30) as http:
        monkeypatch.setenv("HOOKTIDE_PUBLIC_URL", http.url)
        async with build_worker(client, task_queue):
            yield http


async def test_fail_watch_fix_redrive_complete(
    page: Page,
    gateway: GatewayClient,
    client: Client,
    example: Peers,  # noqa: F811
) -> None:
    await example.crm.faults(status=422, times=-1)  # the CRM refuses every update
    order_id = f"W-{uuid.uuid4().hex[:6]}"
    body, headers = signed(small_order(order_id))
    ack = (await gateway.post("/webhooks/orders", content=body, headers=headers)).json()
    handle = client.get_workflow_handle(ack["workflow_id"])
    failed_run = await settled(handle, WorkflowExecutionStatus.FAILED)

    await sign_in(page, gateway.url, "/console/inbound?route=orders&status=failed")
    await page.click(ack["workflow_id"])
    await page.raw.wait_for_url(at("/console/inbound/delivery?"))
    await expect(page.raw.locator("h1 .badge")).to_have_text("failed")
    shown = await page.text()
    assert order_id in shown  # the order, as the workflow received it
    assert "422" in shown  # the CRM step's last failure

    async with httpx.AsyncClient() as http:
        (await http.delete(f"{example.crm.base}/admin/faults")).raise_for_status()
    await page.click("Redrive this delivery")
    await page.raw.wait_for_url(at("flash=redriven"))

    new_run = await settled(handle, WorkflowExecutionStatus.COMPLETED)
    assert new_run != failed_run
    result = await client.get_workflow_handle(
        ack["workflow_id"], run_id=new_run, result_type=OrderResult
    ).result()
    assert result.status == "accepted" and result.order_id == order_id
    customer = await example.crm.get(f"/customers/cus-{order_id}")
    assert list(customer["orders"]) == [order_id]
    await page.goto(page.url)
    await expect(page.raw.locator("h1 .badge")).to_have_text("completed")
    assert page.errors == []
