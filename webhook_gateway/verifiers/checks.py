"""Parsing helpers every verifier shares, so that no malformed input escapes as a 500.

Every function here either returns a clean value or raises `VerificationFailed`; messages
name the header and what shape it should have, never the value we expected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Literal

from webhook_gateway.errors import VerificationFailed
from webhook_gateway.verifiers.base import SignedRequest

Algorithm = Literal["sha1", "sha256", "sha512"]
Encoding = Literal["hex", "base64", "base64url"]

MAX_HEADER_CHARS = 4096
MIN_HMAC_KEY_BYTES = 16
MIN_TOKEN_CHARS = 16
MAX_TIMESTAMP_DIGITS = 12
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def missing(name: str) -> VerificationFailed:
    return VerificationFailed(f"Missing required header {name}.", reason="missing-header")


def malformed(detail: str) -> VerificationFailed:
    return VerificationFailed(detail, reason="malformed-header")


def bad_signature(detail: str) -> VerificationFailed:
    return VerificationFailed(detail, reason="bad-signature")


def header(request: SignedRequest, name: str) -> str:
    """The one value of header `name`: present, sent once, printable ASCII, of sane size."""
    values = request.headers.getlist(name)
    if not values or not values[0].strip():
        raise missing(name)
    if len(values) > 1:
        raise malformed(f"Header {name} was sent {len(values)} times; send it once.")
    value = values[0].strip()
    if len(value) > MAX_HEADER_CHARS:
        raise malformed(f"Header {name} is longer than {MAX_HEADER_CHARS} characters.")
    if not value.isascii() or not value.isprintable():
        raise malformed(f"Header {name} must be printable ASCII.")
    return value


def timestamp(value: str, *, name: str, tolerance: int, now: float) -> int:
    """Unix seconds within `tolerance` of `now`, both ways."""
    if not value.isascii() or not value.isdigit() or len(value) > MAX_TIMESTAMP_DIGITS:
        raise malformed(f"Header {name} must be whole seconds since the Unix epoch.")
    stamp = int(value)
    if stamp < now - tolerance:
        raise VerificationFailed(
            f"Header {name} is more than {tolerance} s in the past; "
            "sign each attempt with a fresh timestamp.",
            reason="timestamp-expired",
        )
    if stamp > now + tolerance:
        raise VerificationFailed(
            f"Header {name} is more than {tolerance} s in the future; check the sender's clock.",
            reason="timestamp-in-future",
        )
    return stamp


def decode(value: str, encoding: Encoding) -> bytes | None:
    """The bytes `value` encodes, or None when it is not valid `encoding`."""
    try:
        if encoding == "hex":
            return bytes.fromhex(value) if value.isascii() else None
        if encoding == "base64":
            return base64.b64decode(value, validate=True)
        if not _BASE64URL.fullmatch(value):
            return None
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def digest(key: bytes, message: bytes, algorithm: Algorithm = "sha256") -> bytes:
    return hmac.new(key, message, getattr(hashlib, algorithm)).digest()


def any_match(expected: Iterable[bytes], candidates: list[bytes]) -> bool:
    """True when any expected value equals any candidate, compared in constant time."""
    found = False
    for want in expected:
        for got in candidates:
            found |= hmac.compare_digest(want, got)
    return found


def same_secret(given: bytes, secrets: Iterable[bytes]) -> bool:
    """Constant-time membership for shared secrets (tokens, API keys, passwords): hashed
    first so that neither the length nor a prefix of a secret leaks through timing."""
    given_hash = hashlib.sha256(given).digest()
    return any_match((hashlib.sha256(s).digest() for s in secrets), [given_hash])


def raw(value: str) -> bytes:
    """The bytes a header value was sent as (Starlette decodes headers as latin-1)."""
    return value.encode("latin-1")
