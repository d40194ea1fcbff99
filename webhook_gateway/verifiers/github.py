"""GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.

GitHub signs no timestamp, so there is no replay window; exactly-once rests on the
delivery id (`X-GitHub-Delivery`, kept on a redelivery).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from webhook_gateway.config.event_type import EventTypeRule
from webhook_gateway.config.id_rule import IdPart, IdRule
from webhook_gateway.contracts.secrets import SecretSources
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest, Verified, VerifierSettings

HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="


class GitHubConfig(VerifierSettings):
    signed_parts: ClassVar[frozenset[IdPart]] = frozenset({"body"})

    type: Literal["github"]
    secret: SecretSources

    def build(self, route: str) -> GitHubVerifier:
        return GitHubVerifier(self.secret.keys(route, minimum=checks.MIN_HMAC_KEY_BYTES))

    def default_delivery_id(self) -> IdRule:
        return IdRule(header="x-github-delivery", unsigned=True)

    def default_event_type(self) -> EventTypeRule:
        return EventTypeRule(header="x-github-event", qualifier="action")


class GitHubVerifier:
    secret_headers: frozenset[str] = frozenset({"x-hub-signature-256", "x-hub-signature"})

    def __init__(self, keys: list[bytes]) -> None:
        self._keys = keys

    def verify(self, request: SignedRequest) -> Verified:
        value = checks.header(request, HEADER)
        given = checks.decode(value.removeprefix(PREFIX), "hex")
        if not value.startswith(PREFIX) or given is None or len(given) != 32:
            raise checks.malformed(f"Header {HEADER} must be 'sha256=' and 64 hex digits.")
        expected = (checks.digest(key, request.body) for key in self._keys)
        if not checks.any_match(expected, [given]):
            raise checks.bad_signature(
                f"Header {HEADER} does not match the body and the webhook's secret."
            )
        return Verified()
