"""HTTP Basic: `Authorization: Basic base64(user:password)`; several passwords may be live."""

from __future__ import annotations

import hmac
from typing import Literal

from pydantic import Field

from webhook_gateway.contracts.secrets import SecretSources
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest, Verified, VerifierSettings

HEADER = "Authorization"


class BasicAuthConfig(VerifierSettings):
    type: Literal["basic"]
    username: str = Field(min_length=1, pattern=r"^[^:]+$")
    password: SecretSources

    def build(self, route: str) -> BasicAuthVerifier:
        passwords = self.password.keys(route, minimum=checks.MIN_TOKEN_CHARS, unit="characters")
        return BasicAuthVerifier(self.username, passwords)


class BasicAuthVerifier:
    secret_headers: frozenset[str] = frozenset({"authorization"})

    def __init__(self, username: str, passwords: list[bytes]) -> None:
        self._username = username.encode()
        self._passwords = passwords

    def verify(self, request: SignedRequest) -> Verified:
        scheme, _, encoded = checks.header(request, HEADER).partition(" ")
        decoded = checks.decode(encoded.strip(), "base64")
        if scheme.lower() != "basic" or decoded is None or b":" not in decoded:
            raise checks.malformed(f"Header {HEADER} must be 'Basic base64(user:password)'.")
        user, _, password = decoded.partition(b":")
        user_ok = hmac.compare_digest(user, self._username)
        password_ok = checks.same_secret(password, self._passwords)
        if not (user_ok and password_ok):
            raise checks.bad_signature("The user name or password is not one this route accepts.")
        return Verified()
