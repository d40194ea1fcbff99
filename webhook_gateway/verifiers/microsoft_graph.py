"""Microsoft Graph change notifications: no signature; every item of the body's `value`
list carries `clientState`, which must be one of the secrets given when subscribing.

Like a bearer token, `clientState` is a shared secret that travels with the request and
covers none of it, so nothing is integrity-protected (`signed_parts` is empty). Graph
documents no delivery id (an item's `id` is optional, and one POST may batch several
notifications), so there is no default: a route names its `delivery_id`, marked
`unsigned: true` (`{body_sha256: true, unsigned: true}` dedupes Graph's resends of the same
body). Rich notifications' `validationTokens` (JWTs) are not checked here.

Graph checks a `notificationUrl` with `POST ?validationToken=V` and expects V back, URL
decoded, as `text/plain` within 10 seconds; `handshake()` answers it and starts nothing.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from starlette.responses import PlainTextResponse, Response

from webhook_gateway.config.event_type import EventTypeRule
from webhook_gateway.contracts.secrets import SecretSources
from webhook_gateway.errors import RequestRejected, VerificationFailed
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest, Verified, VerifierSettings

FIELD = "clientState"
MAX_BODY_BYTES = 1_048_576
MAX_VALIDATION_TOKEN_CHARS = 1024


class MicrosoftGraphConfig(VerifierSettings):
    type: Literal["microsoft_graph"]
    client_state: SecretSources

    def build(self, route: str) -> MicrosoftGraphVerifier:
        return MicrosoftGraphVerifier(
            self.client_state.keys(route, minimum=checks.MIN_TOKEN_CHARS, unit="characters")
        )

    def default_event_type(self) -> EventTypeRule:
        return EventTypeRule(jmespath="value[0].changeType || value[0].lifecycleEvent")


def malformed_body(detail: str) -> VerificationFailed:
    return VerificationFailed(detail, reason="malformed-body")


class MicrosoftGraphVerifier:
    secret_headers: frozenset[str] = frozenset()

    def __init__(self, client_states: list[bytes]) -> None:
        self._client_states = client_states

    def verify(self, request: SignedRequest) -> Verified:
        items = _notifications(request.body)
        for item in items:
            state = item.get(FIELD)
            if not isinstance(state, str) or not state:
                raise malformed_body(f"Every notification in 'value' must carry '{FIELD}'.")
            if not checks.same_secret(state.encode(errors="surrogatepass"), self._client_states):
                raise checks.bad_signature(
                    f"A notification's '{FIELD}' is not one this route's subscriptions use."
                )
        return Verified()

    def handshake(self, request: SignedRequest) -> Response | None:
        """Graph's notificationUrl validation: echo the URL-decoded token as plain text."""
        if request.method != "POST":
            return None
        tokens = parse_qs(urlsplit(request.url).query, keep_blank_values=True).get(
            "validationToken"
        )
        if tokens is None:
            return None
        token = tokens[0] if len(tokens) == 1 else ""
        if not 0 < len(token) <= MAX_VALIDATION_TOKEN_CHARS or not token.isprintable():
            raise RequestRejected(
                f"validationToken must be sent once, as 1 to {MAX_VALIDATION_TOKEN_CHARS} "
                "printable characters."
            )
        return PlainTextResponse(token, headers={"X-Content-Type-Options": "nosniff"})


def _notifications(body: bytes) -> list[dict[str, Any]]:
    """The body's `value` items: a non-empty list of JSON objects, or `malformed-body`."""
    if len(body) > MAX_BODY_BYTES:
        raise malformed_body(f"The body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        message = None
    items = message.get("value") if isinstance(message, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise malformed_body("The body must be a JSON object whose 'value' lists notifications.")
    return items
