"""Generic HMAC, for senders without a verifier of their own.

verifier:
  type: hmac
  secret: {env: ACME_SECRET}
  header: X-Acme-Signature        # holds <prefix><encoded HMAC>
  algorithm: sha256               # sha1 | sha256 | sha512
  encoding: hex                   # hex | base64 | base64url
  prefix: "sha256="
  timestamp_header: X-Acme-Timestamp          # optional: unix seconds, checked
  signed_content: "{timestamp}.{body}"        # what is signed; default "{body}"
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from webhook_gateway.config.id_rule import IdPart
from webhook_gateway.contracts.secrets import SecretSources
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest, Tolerance, Verified, VerifierSettings

HEADER_NAME = r"^[A-Za-z0-9-]+$"
PLACEHOLDER = re.compile(r"{[^{}]*}")


class HmacConfig(VerifierSettings):
    signed_parts: ClassVar[frozenset[IdPart]] = frozenset({"body"})

    type: Literal["hmac"]
    secret: SecretSources
    header: str = Field(pattern=HEADER_NAME)
    algorithm: checks.Algorithm = "sha256"
    encoding: checks.Encoding = "hex"
    prefix: str = ""
    timestamp_header: str | None = Field(default=None, pattern=HEADER_NAME)
    signed_content: str = "{body}"
    tolerance_seconds: Tolerance = 300

    @model_validator(mode="after")
    def _template(self) -> HmacConfig:
        found = PLACEHOLDER.findall(self.signed_content)
        if found.count("{body}") != 1:
            raise ValueError("signed_content must contain '{body}' exactly once")
        unknown = sorted(set(found) - {"{body}", "{timestamp}"})
        if unknown:
            raise ValueError(f"signed_content may use only {{body}} and {{timestamp}}: {unknown}")
        if ("{timestamp}" in found) != (self.timestamp_header is not None):
            raise ValueError(
                "use '{timestamp}' in signed_content exactly when timestamp_header is set"
            )
        return self

    def build(self, route: str) -> HmacVerifier:
        return HmacVerifier(self.secret.keys(route, minimum=checks.MIN_HMAC_KEY_BYTES), config=self)


class HmacVerifier:
    def __init__(
        self, keys: list[bytes], *, config: HmacConfig, clock: Callable[[], float] = time.time
    ) -> None:
        self._keys = keys
        self._config = config
        self._clock = clock
        self._before, self._after = config.signed_content.split("{body}")
        self.secret_headers: frozenset[str] = frozenset({config.header.lower()})

    def verify(self, request: SignedRequest) -> Verified:
        cfg = self._config
        value = checks.header(request, cfg.header)
        given = checks.decode(value.removeprefix(cfg.prefix), cfg.encoding)
        if not value.startswith(cfg.prefix) or given is None:
            shape = f"'{cfg.prefix}' and " if cfg.prefix else ""
            raise checks.malformed(f"Header {cfg.header} must be {shape}a {cfg.encoding} HMAC.")
        stamp = ""
        if cfg.timestamp_header is not None:
            stamp = str(
                checks.timestamp(
                    checks.header(request, cfg.timestamp_header),
                    name=cfg.timestamp_header,
                    tolerance=cfg.tolerance_seconds,
                    now=self._clock(),
                )
            )
        signed = (
            self._before.replace("{timestamp}", stamp).encode()
            + request.body
            + self._after.replace("{timestamp}", stamp).encode()
        )
        expected = (checks.digest(key, signed, cfg.algorithm) for key in self._keys)
        if not checks.any_match(expected, [given]):
            raise checks.bad_signature(
                f"Header {cfg.header} does not match the body and a current secret."
            )
        return Verified()
