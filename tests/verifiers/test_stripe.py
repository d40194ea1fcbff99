"""Stripe, with headers made by the `stripe` package's own `WebhookSignature`."""

from __future__ import annotations

import pytest
from stripe import WebhookSignature

from tests.verifiers.support import rejected, request
from webhook_gateway.verifiers.stripe import StripeVerifier

SECRET = "whsec_test_stripe_endpoint_secret"
BODY = b'{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}'
NOW = 1_700_000_000

STRIPE = StripeVerifier([SECRET.encode()], clock=lambda: NOW)


def header(stamp: int = NOW, secret: str = SECRET, body: bytes = BODY) -> str:
    return str(WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=stamp))


def test_header_generated_by_stripes_library_is_accepted() -> None:
    value = header()
    assert WebhookSignature.verify_header(BODY, value, SECRET, tolerance=None)
    STRIPE.verify(request({"Stripe-Signature": value}, BODY))


def test_rotation_header_with_two_v1_entries_accepts_either_secret() -> None:
    old = header(secret="whsec_old").split(",")[1]
    value = header() + "," + old
    STRIPE.verify(request({"Stripe-Signature": value}, BODY))
    StripeVerifier([b"whsec_old"], clock=lambda: NOW).verify(
        request({"Stripe-Signature": value}, BODY)
    )


def test_unknown_schemes_are_skipped() -> None:
    value = header() + ",v0=" + "ab" * 32
    STRIPE.verify(request({"Stripe-Signature": value}, BODY))


def test_missing_header_is_missing_header() -> None:
    assert rejected(STRIPE, request({}, BODY)).reason == "missing-header"


def test_header_without_timestamp_is_malformed_header() -> None:
    value = header().split(",", 1)[1]
    assert rejected(STRIPE, request({"Stripe-Signature": value}, BODY)).reason == (
        "malformed-header"
    )


def test_header_without_v1_entry_is_malformed_header() -> None:
    assert rejected(STRIPE, request({"Stripe-Signature": f"t={NOW}"}, BODY)).reason == (
        "malformed-header"
    )


@pytest.mark.parametrize(
    ("stamp", "reason"), [(NOW - 301, "timestamp-expired"), (NOW + 301, "timestamp-in-future")]
)
def test_timestamp_outside_tolerance_is_refused(stamp: int, reason: str) -> None:
    value = header(stamp)
    assert rejected(STRIPE, request({"Stripe-Signature": value}, BODY)).reason == reason


def test_timestamp_just_inside_tolerance_is_accepted() -> None:
    STRIPE.verify(request({"Stripe-Signature": header(NOW - 299)}, BODY))


def test_tolerance_is_configurable() -> None:
    lenient = StripeVerifier([SECRET.encode()], tolerance_seconds=900, clock=lambda: NOW)
    lenient.verify(request({"Stripe-Signature": header(NOW - 600)}, BODY))


def test_tampered_body_is_bad_signature_as_stripes_library_says() -> None:
    value = header()
    tampered = BODY.replace(b"evt_1", b"evt_2")
    with pytest.raises(Exception, match="No signatures found matching"):
        WebhookSignature.verify_header(tampered, value, SECRET, tolerance=None)
    assert rejected(STRIPE, request({"Stripe-Signature": value}, tampered)).reason == (
        "bad-signature"
    )


def test_timestamp_moved_without_resigning_is_bad_signature() -> None:
    value = header().replace(f"t={NOW}", f"t={NOW - 1}")
    assert rejected(STRIPE, request({"Stripe-Signature": value}, BODY)).reason == "bad-signature"
