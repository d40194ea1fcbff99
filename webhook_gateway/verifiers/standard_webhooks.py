"""Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`.

Signed content is `{id}.{timestamp}.{raw body}`; the signature header is a space-separated
list of `<version>,<base64>` entries (several during a rotation; unknown versions skipped):
`v1` is HMAC-SHA256 with a `whsec_` secret, `v1a` is ed25519 checked with a `whpk_` public
key. Svix's `svix-*` header names are accepted as aliases; a request that sends both names
of one header must send the same value in both.

The id inside the signed content is the one the verifier reports (`Verified.signed_id`), and
the route's default delivery id: a replay under a fresh id header fails the signature.

`type: standard_webhooks` takes `secret` (v1) and optionally `public_key` (v1a too);
`type: standard_webhooks_v1a` takes only `public_key`, for senders that sign with ed25519.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import ClassVar, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from webhook_gateway.config.event_type import EventTypeRule
from webhook_gateway.config.id_rule import IdPart, IdRule
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.secrets import SecretSources
from webhook_gateway.contracts.signing import secret_key
from webhook_gateway.errors import VerificationFailed
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest, Tolerance, Verified, VerifierSettings

PUBLIC_KEY_PREFIX = "whpk_"
MAX_SIGNATURES = 32
ED25519_SIGNATURE_BYTES = 64
HEADERS = ("id", "timestamp", "signature")


class _StandardSettings(VerifierSettings):
    signed_parts: ClassVar[frozenset[IdPart]] = frozenset({"signed_id", "body"})
    id_headers: ClassVar[tuple[str, ...]] = ("webhook-id", "svix-id")

    def default_delivery_id(self) -> IdRule:
        return IdRule(signed_id=True)

    def default_event_type(self) -> EventTypeRule:
        return EventTypeRule(jmespath="type")


class StandardWebhooksConfig(_StandardSettings):
    type: Literal["standard_webhooks"]
    secret: SecretSources
    public_key: SecretSources | None = None
    tolerance_seconds: Tolerance = 300

    def build(self, route: str) -> StandardWebhooksVerifier:
        keys = [secret_key(s, route=route) for s in self.secret.secrets(route)]
        public = self.public_key.resolve(route) if self.public_key else []
        return StandardWebhooksVerifier(
            keys,
            public_keys=[decode_public_key(k, route=route) for k in public],
            tolerance_seconds=self.tolerance_seconds,
        )


class StandardWebhooksV1aConfig(_StandardSettings):
    type: Literal["standard_webhooks_v1a"]
    public_key: SecretSources
    tolerance_seconds: Tolerance = 300

    def build(self, route: str) -> StandardWebhooksVerifier:
        public = [decode_public_key(k, route=route) for k in self.public_key.resolve(route)]
        return StandardWebhooksVerifier(
            [], public_keys=public, tolerance_seconds=self.tolerance_seconds
        )


def decode_public_key(text: str, *, route: str) -> Ed25519PublicKey:
    raw = checks.decode(text.removeprefix(PUBLIC_KEY_PREFIX), "base64")
    if not text.startswith(PUBLIC_KEY_PREFIX) or raw is None or len(raw) != 32:
        raise ConfigError(
            f"Route '{route}': a Standard Webhooks public key must be 'whpk_' followed by "
            "the base64 of the 32-byte ed25519 public key."
        )
    return Ed25519PublicKey.from_public_bytes(raw)


class StandardWebhooksVerifier:
    secret_headers: frozenset[str] = frozenset({"webhook-signature", "svix-signature"})

    def __init__(
        self,
        keys: list[bytes],
        *,
        public_keys: list[Ed25519PublicKey] | None = None,
        tolerance_seconds: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._public_keys = public_keys or []
        self._tolerance = tolerance_seconds
        self._clock = clock
        self._versions = " or ".join(
            v for v, on in (("'v1,<base64>'", keys), ("'v1a,<base64>'", self._public_keys)) if on
        )

    def verify(self, request: SignedRequest) -> Verified:
        found = {name: _one_value(request, name) for name in HEADERS}
        missing = [f"webhook-{name}" for name, value in found.items() if not value]
        msg_id, stamp, sigs = found["id"], found["timestamp"], found["signature"]
        if missing or msg_id is None or stamp is None or sigs is None:
            raise VerificationFailed(
                f"Missing required header(s): {', '.join(missing)}.", reason="missing-header"
            )
        if len(msg_id) > checks.MAX_HEADER_CHARS or len(sigs) > checks.MAX_HEADER_CHARS:
            raise checks.malformed(
                f"Headers webhook-id and webhook-signature may hold at most "
                f"{checks.MAX_HEADER_CHARS} characters."
            )
        timestamp = checks.timestamp(
            stamp, name="webhook-timestamp", tolerance=self._tolerance, now=self._clock()
        )
        v1, v1a = _signatures(sigs)
        if not (v1 and self._keys) and not (v1a and self._public_keys):
            raise checks.malformed(f"Header webhook-signature holds no {self._versions} entry.")
        # Headers arrive decoded as latin-1: encoding back gives the bytes the sender signed.
        signed = f"{msg_id}.{timestamp}.".encode("latin-1") + request.body
        expected = (hmac.new(key, signed, hashlib.sha256).digest() for key in self._keys)
        if (v1 and checks.any_match(expected, v1)) or self._ed25519_match(signed, v1a):
            return Verified(signed_id=msg_id)
        raise checks.bad_signature(
            "No signature in webhook-signature matches the body and a current key."
        )

    def _ed25519_match(self, signed: bytes, candidates: list[bytes]) -> bool:
        for key in self._public_keys:
            for candidate in candidates:
                try:
                    key.verify(candidate, signed)
                except InvalidSignature:
                    continue
                return True
        return False


def _one_value(request: SignedRequest, name: str) -> str | None:
    """The value of `webhook-<name>` or its alias `svix-<name>`: each sent at most once, and
    the same in both when both are sent, so that the value checked is the value used."""
    values: list[str] = []
    for header in (f"webhook-{name}", f"svix-{name}"):
        sent = request.headers.getlist(header)
        if len(sent) > 1:
            raise checks.malformed(f"Header {header} was sent {len(sent)} times; send it once.")
        values += sent
    if len(set(values)) > 1:
        raise checks.malformed(
            f"Headers webhook-{name} and svix-{name} differ; send one, or the same value in both."
        )
    return values[0] if values else None


def _signatures(header: str) -> tuple[list[bytes], list[bytes]]:
    """(v1 HMACs, v1a ed25519 signatures) in the header; malformed entries are skipped."""
    v1: list[bytes] = []
    v1a: list[bytes] = []
    for entry in header.split(" ")[:MAX_SIGNATURES]:
        version, sep, value = entry.partition(",")
        decoded = checks.decode(value, "base64") if sep else None
        if decoded is None:
            continue
        if version == "v1":
            v1.append(decoded)
        elif version == "v1a" and len(decoded) == ED25519_SIGNATURE_BYTES:
            v1a.append(decoded)
    return v1, v1a
