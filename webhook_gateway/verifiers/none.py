"""No verification at all: for local experiments and routes protected elsewhere."""

from __future__ import annotations

from typing import Literal

from webhook_gateway.verifiers.base import SignedRequest, Verified, VerifierSettings


class NoVerifierConfig(VerifierSettings):
    """`verifier: {type: none}` must be written out: unauthenticated is never a default."""

    type: Literal["none"]

    def build(self, route: str) -> NoVerifier:
        return NoVerifier()


class NoVerifier:
    secret_headers: frozenset[str] = frozenset()

    def verify(self, request: SignedRequest) -> Verified:
        return Verified()
