"""Every route mode is available per rule: one URL whose event types open, append to and
reply from a ticket, feed group commit and a batch — on the dev server with a worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from tests.support.gateway import GatewayClient, serve_gateway
from tests.support.polling import eventually
from tests.support.routes import ORDERS_VERIFIER
from tests.support.signing import order_payload, signed
from tests.support.temporal import workflow_exists
from webhook_gateway.config.routes import parse_config
from webhook_gateway.contracts.highfreq import collector_workflow_id

pytestmark = pytest.mark.slow

TICKET = {"workflow": "TicketWorkflow", "workflow_id": {"jmespath": "ticket", "prefix": "rt-"}}


@pytest.fixture
async def gateway(task_queue: str, client: Client) -> AsyncIterator[tuple[GatewayClient, str]]:
    name = f"rules-{uuid.uuid4().hex[:8]}"
    on_queue = {"task_queue": task_queue}
    rules: list[dict[str, Any]] = [
        {"name": "open", "events": ["ticket.open"], "mode": "signal_with_start", **TICKET},
        {"name": "comment", "events": ["ticket.comment"], "mode": "signal", **TICKET},
        {"name": "reply", "events": ["ticket.reply"], "mode": "update", **TICKET},
        {
            "name": "bulk",
            "events": ["order.bulk"],
            "workflow": "OrderWorkflow",
            "workflow_id": {"prefix": "rbulk-"},
            "group_commit": {"max_batch": 10, "max_wait_ms": 5, "shards": 1},
        },
        {
            "name": "batched",
            "events": ["order.batched"],
            "mode": "batch",
            "workflow": "EventBatchWorkflow",
            "batch": {"key": "customer.id", "max_size": 2, "max_wait_seconds": 1},
        },
    ]
    config = parse_config(
        {
            "routes": {
                name: {
                    "path": "/webhooks/mixed",
                    "verifier": ORDERS_VERIFIER,
                    "rules": [{**rule, **on_queue} for rule in rules],
                    "otherwise": "reject",
                }
            }
        }
    )
    async with serve_gateway(config, client=client) as http:
        yield http, name


async def post(http: GatewayClient, body: dict[str, Any]) -> Any:
    raw, headers = signed(body)
    return await http.post("/webhooks/mixed", content=raw, headers=headers)


async def test_signal_with_start_signal_and_update_rules_share_one_ticket(
    gateway: tuple[GatewayClient, str], client: Client
) -> None:
    http, _ = gateway
    ticket = uuid.uuid4().hex[:10]
    opened = await post(http, {"type": "ticket.open", "ticket": ticket, "comment": "hello"})
    assert opened.status_code == 202, opened.text
    assert opened.json()["targets"][0]["workflow_id"] == f"rt-{ticket}"
    commented = await post(http, {"type": "ticket.comment", "ticket": ticket, "comment": "more"})
    assert commented.status_code == 202
    replied = await post(http, {"type": "ticket.reply", "ticket": ticket, "comment": "last"})
    assert replied.status_code == 200, replied.text  # the workflow's reply is the answer
    assert replied.json()["comments"] == ["hello", "more", "last"]
    missing = await post(http, {"type": "ticket.comment", "ticket": "none-" + ticket})
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/workflow-not-found")
    rejected = await post(http, {"type": "ticket.unknown", "ticket": ticket})
    assert rejected.status_code == 422
    assert rejected.json()["type"].endswith("/no-matching-rule")
    await client.get_workflow_handle(f"rt-{ticket}").terminate("test over")


async def test_group_commit_and_batch_rules(
    gateway: tuple[GatewayClient, str], client: Client
) -> None:
    http, name = gateway
    bulk = await post(http, {"type": "order.bulk", **order_payload()})
    assert bulk.status_code == 202, bulk.text
    [target] = bulk.json()["targets"]
    assert target["rule"] == "bulk" and target["run_id"] is None  # started by the inbox
    assert await eventually(lambda: workflow_exists(client, target["workflow_id"]), bool)
    customer = uuid.uuid4().hex[:8]
    batched = await post(http, {"type": "order.batched", "customer": {"id": customer}})
    assert batched.status_code == 202, batched.text
    collector = batched.json()["targets"][0]["workflow_id"]
    assert collector == collector_workflow_id("batch", f"{name}.batched", customer)
    assert await workflow_exists(client, collector)
