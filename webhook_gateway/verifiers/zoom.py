"""Zoom: `x-zm-signature: v0=<hex HMAC-SHA256(secret token, "v0:{ts}:{body}")>` with
`x-zm-request-timestamp` inside the tolerance window.

Zoom checks an endpoint (when it is added, and every 72 hours) with a *signed*
`endpoint.url_validation` request (Zoom's own sample checks `x-zm-signature` before answering
it) and expects `{"plainToken", "encryptedToken"}` back; `respond()` answers it (200) so that
no workflow is started. The body carries no delivery id (only `event_ts`, a time) and the
`x-zm-trackingid` header is unsigned, so deliveries are deduplicated on the SHA-256 of the
signed body.
"""

from __future__ import annotations

import json
from typing import ClassVar, Literal

from starlette.responses import JSONResponse, Response

from webhook_gateway.config.event_type import EventTypeRule
from webhook_gateway.config.id_rule import IdPart, IdRule
from webhook_gateway.contracts.secrets import SecretSources
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import (
    SignedRequest,
    Tolerance,
    VerifierSettings,
)
from webhook_gateway.verifiers.v0_signature import V0Signature

SIGNATURE = "x-zm-signature"
TIMESTAMP = "x-zm-request-timestamp"
VALIDATION_EVENT = "endpoint.url_validation"
MAX_VALIDATION_BODY = 4096
MAX_PLAIN_TOKEN_CHARS = 256


class ZoomConfig(VerifierSettings):
    signed_parts: ClassVar[frozenset[IdPart]] = frozenset({"body"})

    type: Literal["zoom"]
    secret: SecretSources
    tolerance_seconds: Tolerance = 300

    def build(self, route: str) -> ZoomVerifier:
        keys = self.secret.keys(route, minimum=checks.MIN_HMAC_KEY_BYTES)
        return ZoomVerifier(keys, tolerance_seconds=self.tolerance_seconds)

    def default_delivery_id(self) -> IdRule:
        return IdRule(body_sha256=True)

    def default_event_type(self) -> EventTypeRule:
        return EventTypeRule(jmespath="event")


class ZoomVerifier(V0Signature):
    signature_header = SIGNATURE
    timestamp_header = TIMESTAMP
    key_name = "secret token"
    secret_headers: frozenset[str] = frozenset({SIGNATURE})

    def respond(self, request: SignedRequest) -> Response | None:
        """Zoom's URL validation, already verified: answer with the token hashed under the
        (first) secret token, start nothing."""
        if len(request.body) > MAX_VALIDATION_BODY or VALIDATION_EVENT.encode() not in request.body:
            return None
        try:
            message = json.loads(request.body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(message, dict) or message.get("event") != VALIDATION_EVENT:
            return None
        payload = message.get("payload")
        token = payload.get("plainToken") if isinstance(payload, dict) else None
        if (
            not isinstance(token, str)
            or not 0 < len(token) <= MAX_PLAIN_TOKEN_CHARS
            or not token.isprintable()
        ):
            return None
        encrypted = checks.digest(self._keys[0], token.encode()).hex()
        return JSONResponse({"plainToken": token, "encryptedToken": encrypted})
