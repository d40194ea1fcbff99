"""The search attributes the gateway sets on the workflows it starts: those the namespace
has registered; none (and no error) while Temporal cannot be asked."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.client import Client

from tests.support.net import free_port
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts import search_attributes as sa
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.dispatch.indexing import DeliveryIndex
from webhook_gateway.dispatch.temporal_client import connect

EVENT = WebhookEvent(
    route="orders", delivery_id="msg_1", received_at=datetime.now(UTC), event_type="order.paid"
)


async def test_the_registered_attributes_are_set(client: Client) -> None:
    found = await DeliveryIndex(client, timeout=5).attributes(EVENT)
    assert found is not None
    assert {pair.key.name: pair.value for pair in found} == {
        sa.ROUTE.name: "orders",
        sa.DELIVERY_ID.name: "msg_1",
        sa.EVENT_TYPE.name: "order.paid",
    }


async def test_an_unreachable_temporal_gives_none_and_is_asked_again_later() -> None:
    settings = Settings(TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")
    index = DeliveryIndex(await connect(settings, lazy=True), timeout=1)
    assert await index.attributes(EVENT) is None
    assert await index.attributes(EVENT) is None  # not the first failure again: no raise
    assert index._asking is None  # nothing left in flight to fail every later call
    assert index._retry_at > 0
