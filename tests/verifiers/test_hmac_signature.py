"""Generic HMAC, against the published test vectors of RFC 2202 (SHA-1) and RFC 4231
(SHA-256, SHA-512): key "Jefe", data "what do ya want for nothing?"."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from pydantic import ValidationError

from tests.verifiers.support import rejected, request
from webhook_gateway.verifiers.hmac_signature import HmacConfig, HmacVerifier

KEY = b"Jefe"
DATA = b"what do ya want for nothing?"
VECTORS = {
    "sha1": "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
    "sha256": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    "sha512": (
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a"
        "6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
    ),
}
NOW = 1_700_000_000


def make(**fields: Any) -> HmacVerifier:
    config = HmacConfig.model_validate(
        {"type": "hmac", "secret": {"env": "UNUSED"}, "header": "X-Signature", **fields}
    )
    return HmacVerifier([KEY], config=config, clock=lambda: NOW)


def encoded(hex_digest: str, encoding: str) -> str:
    raw = bytes.fromhex(hex_digest)
    if encoding == "hex":
        return hex_digest
    if encoding == "base64":
        return base64.b64encode(raw).decode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize("encoding", ["hex", "base64", "base64url"])
def test_rfc_vector_is_accepted_in_every_algorithm_and_encoding(
    algorithm: str, encoding: str
) -> None:
    verifier = make(algorithm=algorithm, encoding=encoding)
    verifier.verify(request({"X-Signature": encoded(VECTORS[algorithm], encoding)}, DATA))


def test_prefix_is_required_and_stripped() -> None:
    verifier = make(prefix="sha256=")
    verifier.verify(request({"X-Signature": "sha256=" + VECTORS["sha256"]}, DATA))
    assert rejected(verifier, request({"X-Signature": VECTORS["sha256"]}, DATA)).reason == (
        "malformed-header"
    )


def test_timestamp_template_signs_the_timestamp_header_too() -> None:
    verifier = make(timestamp_header="X-Timestamp", signed_content="{timestamp}.{body}")
    stamp_then_body = f"{NOW}.".encode() + DATA
    signature = hmac.new(KEY, stamp_then_body, hashlib.sha256).hexdigest()
    verifier.verify(request({"X-Signature": signature, "X-Timestamp": str(NOW)}, DATA))


def test_missing_signature_header_is_missing_header() -> None:
    assert rejected(make(), request({}, DATA)).reason == "missing-header"


def test_missing_timestamp_header_is_missing_header() -> None:
    verifier = make(timestamp_header="X-Timestamp", signed_content="{timestamp}.{body}")
    failure = rejected(verifier, request({"X-Signature": VECTORS["sha256"]}, DATA))
    assert failure.reason == "missing-header"
    assert "X-Timestamp" in failure.detail


@pytest.mark.parametrize(
    ("stamp", "reason"), [(NOW - 301, "timestamp-expired"), (NOW + 301, "timestamp-in-future")]
)
def test_timestamp_outside_tolerance_is_refused(stamp: int, reason: str) -> None:
    verifier = make(timestamp_header="X-Timestamp", signed_content="{timestamp}.{body}")
    headers = {"X-Signature": VECTORS["sha256"], "X-Timestamp": str(stamp)}
    assert rejected(verifier, request(headers, DATA)).reason == reason


def test_bad_hex_is_malformed_header() -> None:
    assert rejected(make(), request({"X-Signature": "zz" * 32}, DATA)).reason == (
        "malformed-header"
    )


def test_tampered_body_is_bad_signature() -> None:
    failure = rejected(make(), request({"X-Signature": VECTORS["sha256"]}, DATA + b"!"))
    assert failure.reason == "bad-signature"
    assert VECTORS["sha256"] not in failure.detail


def test_signed_content_without_body_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match="body"):
        make(signed_content="{timestamp}")


def test_timestamp_placeholder_without_timestamp_header_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match="timestamp_header"):
        make(signed_content="{timestamp}.{body}")


def test_unknown_placeholder_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match="url"):
        make(signed_content="{url}{body}")
