"""No verification at all: for local experiments and routes protected elsewhere."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from webhook_gateway.id_rule import IdRule
from webhook_gateway.verifiers.base import SignedRequest


class NoVerifierConfig(BaseModel):
    """`verifier: {type: none}` must be written out: unauthenticated is never a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["none"]

    def build(self, route: str) -> NoVerifier:
        return NoVerifier()

    def default_delivery_id(self) -> IdRule | None:
        return None


class NoVerifier:
    secret_headers: frozenset[str] = frozenset()

    def verify(self, request: SignedRequest) -> None:
        return None
