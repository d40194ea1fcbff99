"""Standard Webhooks v1 signing: the `whsec_` key format and the `v1,<base64>` signature.

Shared by the inbound verifier and the outbound delivery activity, which signs what
subscribers verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.secrets import Secret

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
MIN_SECRET_BYTES = 24


def decode_secret(secret: str, *, route: str) -> bytes:
    """The key a `whsec_` secret encodes; padded or unpadded base64, as the reference
    library accepts."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(
            f"Route '{route}': a Standard Webhooks secret must be 'whsec_' followed by base64."
        ) from exc
    if not key:
        raise ConfigError(f"Route '{route}': the Standard Webhooks secret is empty.")
    return key


def secret_key(secret: Secret, *, route: str) -> bytes:
    """The HMAC key of one configured secret, refused below 24 decoded bytes."""
    key = decode_secret(secret.value, route=route)
    secret.check_length(route, len(key), minimum=MIN_SECRET_BYTES, unit="bytes once decoded")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one message; used by tests and the `send` command."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
