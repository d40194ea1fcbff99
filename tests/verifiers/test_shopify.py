"""Shopify: no sender library on PyPI verifies webhooks, so a known answer computed with
`openssl dgst -sha256 -hmac` (an independent implementation) pins the scheme."""

from __future__ import annotations

import base64

from tests.verifiers.support import rejected, request
from webhook_gateway.verifiers.shopify import ShopifyVerifier

SECRET = b"hush-shopify-client-secret"
BODY = b'{"id":820982911946154508,"email":"jon@example.com"}'
# printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
KNOWN_HMAC = "rK1eVRBtNKNRL5dY+t8Z+dMXTwizvyoPKYDPb6oMTNA="

SHOPIFY = ShopifyVerifier([SECRET])


def test_openssl_known_answer_is_accepted() -> None:
    SHOPIFY.verify(request({"X-Shopify-Hmac-Sha256": KNOWN_HMAC}, BODY))


def test_any_live_secret_matches_during_rotation() -> None:
    ShopifyVerifier([b"old", SECRET]).verify(request({"X-Shopify-Hmac-Sha256": KNOWN_HMAC}, BODY))


def test_missing_hmac_header_is_missing_header() -> None:
    assert rejected(SHOPIFY, request({}, BODY)).reason == "missing-header"


def test_hex_instead_of_base64_is_malformed_header() -> None:
    as_hex = base64.b64decode(KNOWN_HMAC).hex()
    assert rejected(SHOPIFY, request({"X-Shopify-Hmac-Sha256": as_hex}, BODY)).reason == (
        "malformed-header"
    )


def test_tampered_body_is_bad_signature() -> None:
    failure = rejected(SHOPIFY, request({"X-Shopify-Hmac-Sha256": KNOWN_HMAC}, BODY + b" "))
    assert failure.reason == "bad-signature"
    assert KNOWN_HMAC not in failure.detail
