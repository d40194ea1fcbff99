"""`priority` on a rule, on the real dev server: the event's workflow carries Temporal's
priority key, its fairness key (read from the body) and fairness weight, whether the gateway
starts it (no sequencer) or the key's sequencer does (`ordered` beside it)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from temporalio.client import Client

from tests.flow.support import Flow, ended
from tests.support.flow_flows import FAIL, LOG
from tests.support.gateway import serve_gateway
from tests.support.polling import eventually
from tests.support.routes import ORDERS_VERIFIER
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings

PRIORITY = {"priority_key": 1, "fairness_key": "body.tenant", "fairness_weight": 2}


@asynccontextmanager
async def rule_gateway(client: Client, **rule: Any) -> AsyncIterator[Flow]:
    """A route with one rule (`pri`, these fields) starting FlowProbeWorkflow on a fresh queue."""
    queue, route = f"flow-{uuid.uuid4().hex[:8]}", f"p{uuid.uuid4().hex[:6]}"
    config = parse_config({"routes": {route: {
        "path": f"/webhooks/{route}",
        "verifier": ORDERS_VERIFIER,
        "delivery_id": {"header": "webhook-id"},
        "rules": [{"name": "pri", "workflow": "FlowProbeWorkflow", "task_queue": queue, **rule}],
    }}})  # fmt: skip
    LOG.clear()
    FAIL.clear()
    async with serve_gateway(config, Settings(), client=client, timeout=30) as http:
        yield Flow(http, client, route, queue)


async def priority_of(client: Client, workflow_id: str) -> tuple[int, str, float]:
    described = await client.get_workflow_handle(workflow_id).describe()
    given = described.raw_description.workflow_execution_info.priority
    return given.priority_key, given.fairness_key, given.fairness_weight


@pytest.mark.parametrize("tenant", ["acme", 42])
async def test_a_started_workflow_carries_the_rules_priority_and_fairness(
    client: Client, tenant: str | int
) -> None:
    async with rule_gateway(client, priority=PRIORITY) as flow:
        workflow_id = await flow.accepted({"tenant": tenant})

    assert workflow_id.startswith(f"{flow.route}-pri-")
    assert await priority_of(client, workflow_id) == (1, str(tenant), 2.0)  # 42: "42"


async def test_a_workflow_its_sequencer_starts_carries_them_too(client: Client) -> None:
    ordered = {"key": "body.tenant", "by": "body.seq"}
    async with rule_gateway(client, priority=PRIORITY, ordered=ordered) as flow:
        ids = [await flow.accepted({"tenant": "acme", "seq": n, "ms": 0}) for n in range(2)]
        async with flow.worker():
            assert await eventually(lambda: ended(ids), bool), LOG.spans
        sequencer = await flow.sequencer("acme", f"{flow.route}.pri").describe()

    for workflow_id in ids:
        assert await priority_of(client, workflow_id) == (1, "acme", 2.0)
    # The sequencer itself runs at the queue's default priority.
    assert sequencer.raw_description.workflow_execution_info.priority.priority_key == 0
