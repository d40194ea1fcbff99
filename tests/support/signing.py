"""Building Standard Webhooks requests with the reference library's own signer."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

ORDERS_SECRET = "whsec_" + base64.b64encode(b"test-orders-secret-0123456789ab").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-secret-for-rotation-xyz").decode()


def signed(
    payload: Any,
    *,
    secret: str = ORDERS_SECRET,
    msg_id: str | None = None,
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) signed by `standardwebhooks.Webhook.sign`."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    stamp = int(time.time()) if timestamp is None else timestamp
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(stamp, tz=UTC), body.decode())
    return body, {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature,
    }


def order_payload(order_id: str = "A-1") -> dict[str, Any]:
    return {
        "id": order_id,
        "customer": {"id": "c-1", "email": "ada@example.com"},
        "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price": "9.50"}],
    }
