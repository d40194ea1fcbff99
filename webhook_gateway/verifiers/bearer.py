"""A shared bearer token: `Authorization: Bearer <token>`, any configured token accepted."""

from __future__ import annotations

from typing import Literal

from webhook_gateway.contracts.secrets import SecretSources
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest, Verified, VerifierSettings

HEADER = "Authorization"


class BearerConfig(VerifierSettings):
    type: Literal["bearer"]
    token: SecretSources

    def build(self, route: str) -> BearerVerifier:
        return BearerVerifier(
            self.token.keys(route, minimum=checks.MIN_TOKEN_CHARS, unit="characters")
        )


class BearerVerifier:
    secret_headers: frozenset[str] = frozenset({"authorization"})

    def __init__(self, tokens: list[bytes]) -> None:
        self._tokens = tokens

    def verify(self, request: SignedRequest) -> Verified:
        scheme, _, token = checks.header(request, HEADER).partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise checks.malformed(f"Header {HEADER} must be 'Bearer <token>'.")
        if not checks.same_secret(checks.raw(token.strip()), self._tokens):
            raise checks.bad_signature("The bearer token is not one this route accepts.")
        return Verified()
