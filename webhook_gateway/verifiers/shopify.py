"""Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(client secret, body)>`.

No timestamp is signed; exactly-once rests on `X-Shopify-Webhook-Id`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from webhook_gateway.config.event_type import EventTypeRule
from webhook_gateway.config.id_rule import IdPart, IdRule
from webhook_gateway.contracts.secrets import SecretSources
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest, Verified, VerifierSettings

HEADER = "X-Shopify-Hmac-Sha256"


class ShopifyConfig(VerifierSettings):
    signed_parts: ClassVar[frozenset[IdPart]] = frozenset({"body"})

    type: Literal["shopify"]
    secret: SecretSources

    def build(self, route: str) -> ShopifyVerifier:
        return ShopifyVerifier(self.secret.keys(route, minimum=checks.MIN_HMAC_KEY_BYTES))

    def default_delivery_id(self) -> IdRule:
        return IdRule(header="x-shopify-webhook-id", unsigned=True)

    def default_event_type(self) -> EventTypeRule:
        return EventTypeRule(header="x-shopify-topic")


class ShopifyVerifier:
    secret_headers: frozenset[str] = frozenset({"x-shopify-hmac-sha256"})

    def __init__(self, keys: list[bytes]) -> None:
        self._keys = keys

    def verify(self, request: SignedRequest) -> Verified:
        given = checks.decode(checks.header(request, HEADER), "base64")
        if given is None or len(given) != 32:
            raise checks.malformed(f"Header {HEADER} must be the base64 of a 32-byte HMAC.")
        expected = (checks.digest(key, request.body) for key in self._keys)
        if not checks.any_match(expected, [given]):
            raise checks.bad_signature(
                f"Header {HEADER} does not match the body and the app's client secret."
            )
        return Verified()
