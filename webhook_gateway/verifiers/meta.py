"""Meta (Facebook, Instagram, WhatsApp Cloud API): event POSTs are signed as GitHub's are,
`X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>`, so `MetaVerifier` is
GitHub's verifier with the subscription handshake added.

Meta checks a callback URL with `GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`
before any event: `handshake()` answers C (200, plain text) when T is one of the route's
verify tokens, 403 otherwise, and starts nothing. Meta sends no delivery id and signs no
timestamp, so deliveries are deduplicated on the SHA-256 of the signed body.
"""

from __future__ import annotations

from typing import ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

from starlette.responses import PlainTextResponse, Response

from webhook_gateway.config.event_type import EventTypeRule
from webhook_gateway.config.id_rule import IdPart, IdRule
from webhook_gateway.contracts.secrets import SecretSources
from webhook_gateway.errors import Forbidden, RequestRejected
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest, VerifierSettings
from webhook_gateway.verifiers.github import GitHubVerifier

MAX_CHALLENGE_CHARS = 256


class MetaConfig(VerifierSettings):
    signed_parts: ClassVar[frozenset[IdPart]] = frozenset({"body"})
    handshake_methods: ClassVar[frozenset[str]] = frozenset({"GET"})

    type: Literal["meta"]
    secret: SecretSources
    verify_token: SecretSources

    def build(self, route: str) -> MetaVerifier:
        return MetaVerifier(
            self.secret.keys(route, minimum=checks.MIN_HMAC_KEY_BYTES),
            verify_tokens=self.verify_token.keys(
                route, minimum=checks.MIN_TOKEN_CHARS, unit="characters"
            ),
        )

    def default_delivery_id(self) -> IdRule:
        return IdRule(body_sha256=True)

    def default_event_type(self) -> EventTypeRule:
        return EventTypeRule(jmespath="object", qualifier="entry[0].changes[0].field")


class MetaVerifier(GitHubVerifier):
    def __init__(self, keys: list[bytes], *, verify_tokens: list[bytes]) -> None:
        super().__init__(keys)
        self._verify_tokens = verify_tokens

    def handshake(self, request: SignedRequest) -> Response | None:
        """Meta's subscription check: the challenge for a known verify token, else 403."""
        if request.method != "GET":
            return None
        query = parse_qs(urlsplit(request.url).query, keep_blank_values=True)
        if query.get("hub.mode") != ["subscribe"]:
            return None
        tokens = query.get("hub.verify_token", [])
        if len(tokens) != 1 or not checks.same_secret(tokens[0].encode(), self._verify_tokens):
            raise Forbidden(
                "The hub.verify_token does not match this route's verify_token; set the same "
                "Verify Token in the app's webhook settings."
            )
        challenges = query.get("hub.challenge", [])
        challenge = challenges[0] if len(challenges) == 1 else ""
        if not 0 < len(challenge) <= MAX_CHALLENGE_CHARS or not challenge.isprintable():
            raise RequestRejected(
                f"hub.challenge must be sent once, as 1 to {MAX_CHALLENGE_CHARS} printable "
                "characters."
            )
        return PlainTextResponse(challenge, headers={"X-Content-Type-Options": "nosniff"})
