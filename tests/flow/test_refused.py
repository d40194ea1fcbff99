"""An event whose flow-control values cannot be read is refused with 422 naming the
expression, before anything reaches Temporal (its key's sequencer never starts)."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.flow.support import flow_gateway
from webhook_gateway.contracts.flow import sequencer_workflow_id

ORDERED = {"key": "body.customer", "by": "body.seq"}


async def refused(client: Client, body: dict[str, Any], **fields: Any) -> tuple[str, str]:
    """(the 422's text, the route) for one event sent to a route with these fields."""
    async with flow_gateway(client, **fields) as flow:
        response = await flow.send(body)
    assert response.status_code == 422, response.text
    return response.text, flow.route


async def no_sequencer(client: Client, route: str, key: str) -> None:
    with pytest.raises(RPCError) as info:
        await client.get_workflow_handle(sequencer_workflow_id(route, key)).describe()
    assert info.value.status == RPCStatusCode.NOT_FOUND


async def test_a_key_expression_that_finds_nothing_is_a_422_naming_it(client: Client) -> None:
    text, _ = await refused(client, {"seq": 1}, ordered=ORDERED)
    assert "the flow-control key `body.customer` found nothing in this event" in text


async def test_a_key_that_is_an_object_is_a_422(client: Client) -> None:
    text, _ = await refused(client, {"account": {"id": 1}}, concurrency={"key": "body.account",
                                                                         "limit": 2})  # fmt: skip
    assert "the flow-control key `body.account` found a dict" in text


async def test_an_order_that_is_a_list_is_a_422_and_no_sequencer_starts(client: Client) -> None:
    text, route = await refused(client, {"customer": "c", "seq": [1, 2]}, ordered=ORDERED)
    assert "the order `ordered.by: body.seq` found a list in this event" in text
    await no_sequencer(client, route, "c")


async def test_a_fairness_key_over_temporals_limit_is_a_422(client: Client) -> None:
    priority = {"fairness_key": "body.tenant"}
    text, _ = await refused(client, {"tenant": "t" * 65}, priority=priority)
    assert "the fairness key `body.tenant` is longer than 64 bytes" in text
    text, _ = await refused(client, {}, priority=priority)
    assert "the fairness key `body.tenant` found nothing" in text
