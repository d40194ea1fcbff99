"""The order webhooks the benchmarks send, signed as a Standard Webhooks sender signs them
(the reference library), under a secret of the benchmarks' own."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"hooktide-bench-orders-secret-01").decode()


def order_payload(order_id: str) -> dict[str, Any]:
    return {
        "id": order_id,
        "customer": {"id": "c-1", "email": "ada@example.com"},
        "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price": "9.50"}],
    }


def signed(payload: Any) -> tuple[bytes, dict[str, str]]:
    """(body, headers) for `payload`, with a fresh webhook-id and timestamp."""
    body = json.dumps(payload).encode()
    msg_id = f"msg_{uuid.uuid4().hex}"
    stamp = int(time.time())
    signature = Webhook(SECRET).sign(msg_id, datetime.fromtimestamp(stamp, tz=UTC), body.decode())
    return body, {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature,
    }
