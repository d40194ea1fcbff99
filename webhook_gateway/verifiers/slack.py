"""Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:{ts}:{body}")>`
with `X-Slack-Request-Timestamp` inside the tolerance window.

Slack checks a new Events API URL with a signed `url_verification` request and expects
its `challenge` back; `respond()` answers it (200) so that no workflow is started.
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

SIGNATURE = "X-Slack-Signature"
TIMESTAMP = "X-Slack-Request-Timestamp"
MAX_CHALLENGE_BODY = 4096


class SlackConfig(VerifierSettings):
    signed_parts: ClassVar[frozenset[IdPart]] = frozenset({"body"})

    type: Literal["slack"]
    secret: SecretSources
    tolerance_seconds: Tolerance = 300

    def build(self, route: str) -> SlackVerifier:
        keys = self.secret.keys(route, minimum=checks.MIN_HMAC_KEY_BYTES)
        return SlackVerifier(keys, tolerance_seconds=self.tolerance_seconds)

    def default_delivery_id(self) -> IdRule:
        return IdRule(jmespath="event_id")

    def default_event_type(self) -> EventTypeRule:
        return EventTypeRule(jmespath="event.type || type")


class SlackVerifier(V0Signature):
    signature_header = SIGNATURE
    timestamp_header = TIMESTAMP
    key_name = "signing secret"
    secret_headers: frozenset[str] = frozenset({"x-slack-signature"})

    def respond(self, request: SignedRequest) -> Response | None:
        """Slack's URL check, already verified: answer with its challenge, start nothing."""
        if len(request.body) > MAX_CHALLENGE_BODY or b"url_verification" not in request.body:
            return None
        try:
            payload = json.loads(request.body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(payload, dict) or payload.get("type") != "url_verification":
            return None
        challenge = payload.get("challenge")
        if not isinstance(challenge, str):
            return None
        return JSONResponse({"challenge": challenge})
