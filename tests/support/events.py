"""The `WebhookEvent` a gateway hands a workflow, for tests that start workflows directly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from webhook_gateway.contracts.events import WebhookEvent


def event(body: Any, delivery_id: str | None = None) -> WebhookEvent:
    return WebhookEvent(
        route="test",
        delivery_id=delivery_id or uuid.uuid4().hex,
        received_at=datetime.now(UTC),
        body=body,
    )
