"""Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`.

Each `v1` is the hex HMAC-SHA256 of `{t}.{raw body}` keyed with the endpoint secret
(`whsec_...`, used as the raw string). Several `v1` entries appear during a rotation.
Unlike Stripe's own library we also refuse timestamps from the future.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from webhook_gateway.config.event_type import EventTypeRule
from webhook_gateway.config.id_rule import IdPart, IdRule
from webhook_gateway.contracts.secrets import SecretSources
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import (
    SignedRequest,
    TimestampedHmac,
    Tolerance,
    Verified,
    VerifierSettings,
)

HEADER = "Stripe-Signature"
MAX_ENTRIES = 32


class StripeConfig(VerifierSettings):
    signed_parts: ClassVar[frozenset[IdPart]] = frozenset({"body"})

    type: Literal["stripe"]
    secret: SecretSources
    tolerance_seconds: Tolerance = 300

    def build(self, route: str) -> StripeVerifier:
        keys = self.secret.keys(route, minimum=checks.MIN_HMAC_KEY_BYTES)
        return StripeVerifier(keys, tolerance_seconds=self.tolerance_seconds)

    def default_delivery_id(self) -> IdRule:
        return IdRule(jmespath="id")

    def default_event_type(self) -> EventTypeRule:
        return EventTypeRule(jmespath="type")


class StripeVerifier(TimestampedHmac):
    secret_headers: frozenset[str] = frozenset({"stripe-signature"})

    def verify(self, request: SignedRequest) -> Verified:
        stamps, signatures = _parse(checks.header(request, HEADER))
        if len(stamps) != 1:
            raise checks.malformed(f"Header {HEADER} must hold exactly one 't=<unix seconds>'.")
        stamp = checks.timestamp(
            stamps[0], name=f"{HEADER} t", tolerance=self._tolerance, now=self._clock()
        )
        if not signatures:
            raise checks.malformed(f"Header {HEADER} holds no 'v1=<64 hex digits>' entry.")
        signed = f"{stamp}.".encode() + request.body
        expected = (checks.digest(key, signed) for key in self._keys)
        if not checks.any_match(expected, signatures):
            raise checks.bad_signature(
                f"No v1 signature in {HEADER} matches the body and the endpoint secret."
            )
        return Verified()


def _parse(value: str) -> tuple[list[str], list[bytes]]:
    """(every `t` value, every well-formed `v1` signature); other schemes are skipped."""
    stamps: list[str] = []
    signatures: list[bytes] = []
    for item in value.split(",")[:MAX_ENTRIES]:
        key, _, text = item.strip().partition("=")
        if key == "t":
            stamps.append(text)
        elif key == "v1":
            decoded = checks.decode(text, "hex")
            if decoded is not None and len(decoded) == 32:
                signatures.append(decoded)
    return stamps, signatures
