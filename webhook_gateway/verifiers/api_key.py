"""A shared API key in a header (default `X-API-Key`), any configured key accepted."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from webhook_gateway.id_rule import IdRule
from webhook_gateway.secrets import SecretSource
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest


class ApiKeyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["api_key"]
    key: SecretSource
    header: str = Field(default="X-API-Key", min_length=1, pattern=r"^[A-Za-z0-9-]+$")

    def build(self, route: str) -> ApiKeyVerifier:
        return ApiKeyVerifier(checks.secret_keys(self.key.resolve(route)), header=self.header)

    def default_delivery_id(self) -> IdRule | None:
        return None


class ApiKeyVerifier:
    def __init__(self, keys: list[bytes], *, header: str = "X-API-Key") -> None:
        self._keys = keys
        self._header = header
        self.secret_headers: frozenset[str] = frozenset({header.lower()})

    def verify(self, request: SignedRequest) -> None:
        if not checks.same_secret(checks.raw(checks.header(request, self._header)), self._keys):
            raise checks.bad_signature(f"Header {self._header} is not a key this route accepts.")
