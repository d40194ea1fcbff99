"""A shared API key in a header (default `X-API-Key`), any configured key accepted."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from webhook_gateway.contracts.secrets import SecretSources
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest, Verified, VerifierSettings


class ApiKeyConfig(VerifierSettings):
    type: Literal["api_key"]
    key: SecretSources
    header: str = Field(default="X-API-Key", min_length=1, pattern=r"^[A-Za-z0-9-]+$")

    def build(self, route: str) -> ApiKeyVerifier:
        return ApiKeyVerifier(
            self.key.keys(route, minimum=checks.MIN_TOKEN_CHARS, unit="characters"),
            header=self.header,
        )


class ApiKeyVerifier:
    def __init__(self, keys: list[bytes], *, header: str = "X-API-Key") -> None:
        self._keys = keys
        self._header = header
        self.secret_headers: frozenset[str] = frozenset({header.lower()})

    def verify(self, request: SignedRequest) -> Verified:
        if not checks.same_secret(checks.raw(checks.header(request, self._header)), self._keys):
            raise checks.bad_signature(f"Header {self._header} is not a key this route accepts.")
        return Verified()
