"""HTTP Basic: `Authorization: Basic base64(user:password)`; several passwords may be live."""

from __future__ import annotations

import hmac
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from webhook_gateway.id_rule import IdRule
from webhook_gateway.secrets import SecretSource
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest

HEADER = "Authorization"


class BasicAuthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["basic"]
    username: str = Field(min_length=1, pattern=r"^[^:]+$")
    password: SecretSource

    def build(self, route: str) -> BasicAuthVerifier:
        passwords = checks.secret_keys(self.password.resolve(route))
        return BasicAuthVerifier(self.username, passwords)

    def default_delivery_id(self) -> IdRule | None:
        return None


class BasicAuthVerifier:
    secret_headers: frozenset[str] = frozenset({"authorization"})

    def __init__(self, username: str, passwords: list[bytes]) -> None:
        self._username = username.encode()
        self._passwords = passwords

    def verify(self, request: SignedRequest) -> None:
        scheme, _, encoded = checks.header(request, HEADER).partition(" ")
        decoded = checks.decode(encoded.strip(), "base64")
        if scheme.lower() != "basic" or decoded is None or b":" not in decoded:
            raise checks.malformed(f"Header {HEADER} must be 'Basic base64(user:password)'.")
        user, _, password = decoded.partition(b":")
        user_ok = hmac.compare_digest(user, self._username)
        password_ok = checks.same_secret(password, self._passwords)
        if not (user_ok and password_ok):
            raise checks.bad_signature("The user name or password is not one this route accepts.")
