"""Standard Webhooks v1 (HMAC-SHA256): `webhook-id`, `webhook-timestamp`, `webhook-signature`.

Signed content is `{id}.{timestamp}.{raw body}`; the signature header is a space-separated
list of `v1,<base64>` entries (several during a secret rotation; unknown versions skipped).
Svix's `svix-*` header names are accepted as aliases.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from webhook_gateway.errors import ConfigError, VerificationFailed
from webhook_gateway.secrets import SecretSource
from webhook_gateway.verifiers.base import SignedRequest

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
MAX_SIGNATURES = 32


class StandardWebhooksConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["standard_webhooks"]
    secret: SecretSource
    tolerance_seconds: int = Field(default=300, ge=1, le=86_400)

    def build(self, route: str) -> StandardWebhooksVerifier:
        keys = [decode_secret(s, route=route) for s in self.secret.resolve(route)]
        return StandardWebhooksVerifier(keys, tolerance_seconds=self.tolerance_seconds)


def decode_secret(secret: str, *, route: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(
            f"Route '{route}': a Standard Webhooks secret must be 'whsec_' followed by base64."
        ) from exc
    if len(key) < 16:
        raise ConfigError(
            f"Route '{route}': a Standard Webhooks secret must decode to at least 16 bytes "
            f"(24 to 64 recommended); this one has {len(key)}."
        )
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one message; used by tests and the `send` command."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class StandardWebhooksVerifier:
    secret_headers: frozenset[str] = frozenset({"webhook-signature", "svix-signature"})

    def __init__(
        self,
        keys: list[bytes],
        *,
        tolerance_seconds: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._tolerance = tolerance_seconds
        self._clock = clock

    def verify(self, request: SignedRequest) -> None:
        headers = request.headers
        msg_id = headers.get("webhook-id") or headers.get("svix-id")
        stamp = headers.get("webhook-timestamp") or headers.get("svix-timestamp")
        sigs = headers.get("webhook-signature") or headers.get("svix-signature")
        missing = [
            name
            for name, value in (
                ("webhook-id", msg_id),
                ("webhook-timestamp", stamp),
                ("webhook-signature", sigs),
            )
            if not value
        ]
        if missing or msg_id is None or stamp is None or sigs is None:
            raise VerificationFailed(
                f"Missing required header(s): {', '.join(missing)}.", reason="missing-header"
            )
        if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
            raise VerificationFailed(
                "Header webhook-timestamp must be whole seconds since the Unix epoch.",
                reason="malformed-header",
            )
        timestamp = int(stamp)
        now = self._clock()
        if timestamp < now - self._tolerance:
            raise VerificationFailed(
                f"Header webhook-timestamp is more than {self._tolerance} s in the past; "
                "sign each attempt with a fresh timestamp.",
                reason="timestamp-expired",
            )
        if timestamp > now + self._tolerance:
            raise VerificationFailed(
                f"Header webhook-timestamp is more than {self._tolerance} s in the future; "
                "check the sender's clock.",
                reason="timestamp-in-future",
            )
        candidates = _v1_signatures(sigs)
        if not candidates:
            raise VerificationFailed(
                "Header webhook-signature holds no 'v1,<base64>' entry.",
                reason="malformed-header",
            )
        signed = f"{msg_id}.{timestamp}.".encode() + request.body
        for key in self._keys:
            expected = hmac.new(key, signed, hashlib.sha256).digest()
            if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
                return
        raise VerificationFailed(
            "No signature in webhook-signature matches the body and a current secret.",
            reason="bad-signature",
        )


def _v1_signatures(header: str) -> list[bytes]:
    found: list[bytes] = []
    for entry in header.split(" ")[:MAX_SIGNATURES]:
        version, sep, value = entry.partition(",")
        if not sep or version != "v1":
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found
