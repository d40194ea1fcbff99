"""Slack's scheme, which Zoom uses too: `v0=<hex HMAC-SHA256(key, "v0:{ts}:{body}")>` in
one header, the Unix timestamp `ts` in another, inside the tolerance window."""

from __future__ import annotations

from typing import ClassVar

from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest, TimestampedHmac, Verified

PREFIX = "v0="


class V0Signature(TimestampedHmac):
    """Subclasses name their sender's headers and what the sender calls its key."""

    signature_header: ClassVar[str]
    timestamp_header: ClassVar[str]
    key_name: ClassVar[str]

    def verify(self, request: SignedRequest) -> Verified:
        signature, timestamp = self.signature_header, self.timestamp_header
        value = checks.header(request, signature)
        stamp = checks.timestamp(
            checks.header(request, timestamp),
            name=timestamp,
            tolerance=self._tolerance,
            now=self._clock(),
        )
        given = checks.decode(value.removeprefix(PREFIX), "hex")
        if not value.startswith(PREFIX) or given is None or len(given) != 32:
            raise checks.malformed(f"Header {signature} must be 'v0=' and 64 hex digits.")
        signed = f"v0:{stamp}:".encode() + request.body
        expected = (checks.digest(key, signed) for key in self._keys)
        if not checks.any_match(expected, [given]):
            raise checks.bad_signature(
                f"Header {signature} does not match the body, {timestamp} and the {self.key_name}."
            )
        return Verified()
