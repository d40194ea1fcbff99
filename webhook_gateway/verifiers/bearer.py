"""A shared bearer token: `Authorization: Bearer <token>`, any configured token accepted."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from webhook_gateway.id_rule import IdRule
from webhook_gateway.secrets import SecretSource
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest

HEADER = "Authorization"


class BearerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["bearer"]
    token: SecretSource

    def build(self, route: str) -> BearerVerifier:
        return BearerVerifier(checks.secret_keys(self.token.resolve(route)))

    def default_delivery_id(self) -> IdRule | None:
        return None


class BearerVerifier:
    secret_headers: frozenset[str] = frozenset({"authorization"})

    def __init__(self, tokens: list[bytes]) -> None:
        self._tokens = tokens

    def verify(self, request: SignedRequest) -> None:
        scheme, _, token = checks.header(request, HEADER).partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise checks.malformed(f"Header {HEADER} must be 'Bearer <token>'.")
        if not checks.same_secret(checks.raw(token.strip()), self._tokens):
            raise checks.bad_signature("The bearer token is not one this route accepts.")
