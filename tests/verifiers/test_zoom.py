"""Zoom, with Zoom's documented URL-validation request and signatures computed here with
`hmac` from the documented formula, independently of the verifier."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from pydantic import TypeAdapter

from tests.verifiers.support import rejected, request
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.verifiers import VerifierConfig
from webhook_gateway.verifiers.zoom import ZoomConfig, ZoomVerifier

SECRET = "zoom-secret-token-0123456789"
OTHER = "zoom-secret-token-rotated-9876"
NOW = 1_700_000_000
EVENT = json.dumps(
    {
        "event": "meeting.started",
        "payload": {"account_id": "A1", "object": {"id": "123", "uuid": "u-1"}},
        "event_ts": 1_635_885_799_302,
    }
).encode()
# Zoom's documented challenge body, "Validate your webhook endpoint":
# https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint
DOC_VALIDATION = (
    b'{\n  "payload": {\n    "plainToken": "qgg8vlvZRS6UYooatFL8Aw"\n  },\n'
    b'  "event_ts": 1654503849680,\n  "event": "endpoint.url_validation"\n}'
)
DOC_PLAIN_TOKEN = "qgg8vlvZRS6UYooatFL8Aw"

ZOOM = ZoomVerifier([SECRET.encode()], clock=lambda: NOW)


def signed(body: bytes = EVENT, *, secret: str = SECRET, stamp: int = NOW) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return {"x-zm-signature": "v0=" + digest.hexdigest(), "x-zm-request-timestamp": str(stamp)}


def config(**fields: Any) -> ZoomConfig:
    parsed = TypeAdapter(VerifierConfig).validate_python(
        {"type": "zoom", "secret": {"env": "TEST_ZOOM_SECRET"}, **fields}
    )
    assert isinstance(parsed, ZoomConfig)
    return parsed


def validation(token: Any) -> bytes:
    return json.dumps(
        {"event": "endpoint.url_validation", "payload": {"plainToken": token}}
    ).encode()


def test_config_from_the_environment_accepts_a_good_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_ZOOM_SECRET", SECRET)
    verifier = config().build("zoom")
    verifier.verify(request(signed(stamp=int(time.time())), EVENT))


def test_any_live_secret_token_matches_during_rotation() -> None:
    rotating = ZoomVerifier([OTHER.encode(), SECRET.encode()], clock=lambda: NOW)
    rotating.verify(request(signed(), EVENT))


def test_wrong_secret_token_is_bad_signature_and_detail_reveals_no_digest() -> None:
    headers = signed(secret="not-the-zoom-secret-token-00")
    failure = rejected(ZOOM, request(headers, EVENT))
    assert failure.reason == "bad-signature"
    assert signed()["x-zm-signature"].removeprefix("v0=") not in failure.detail
    assert SECRET not in failure.detail


def test_tampered_body_is_bad_signature() -> None:
    assert rejected(ZOOM, request(signed(), EVENT + b" ")).reason == "bad-signature"


@pytest.mark.parametrize(
    ("stamp", "reason"), [(NOW - 301, "timestamp-expired"), (NOW + 301, "timestamp-in-future")]
)
def test_timestamp_outside_five_minutes_is_refused(stamp: int, reason: str) -> None:
    assert rejected(ZOOM, request(signed(stamp=stamp), EVENT)).reason == reason


def test_timestamp_just_inside_the_window_is_accepted() -> None:
    ZOOM.verify(request(signed(stamp=NOW - 300), EVENT))


def test_tolerance_seconds_from_the_config_widens_the_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_ZOOM_SECRET", SECRET)
    headers = signed(stamp=int(time.time()) - 600)
    config(tolerance_seconds=900).build("zoom").verify(request(headers, EVENT))
    assert rejected(config().build("zoom"), request(headers, EVENT)).reason == ("timestamp-expired")


@pytest.mark.parametrize(
    "signature",
    [
        "v1=" + "0" * 64,  # another version
        "0" * 64,  # no prefix
        "v0=" + "0" * 63,  # odd length
        "v0=" + "zz" * 32,  # not hex
        "v0=" + "00" * 20,  # a SHA-1 length
    ],
)
def test_signature_not_v0_and_64_hex_digits_is_malformed_header(signature: str) -> None:
    headers = {**signed(), "x-zm-signature": signature}
    failure = rejected(ZOOM, request(headers, EVENT))
    assert failure.reason == "malformed-header"
    assert "x-zm-signature" in failure.detail


def test_non_numeric_timestamp_is_malformed_header() -> None:
    headers = {**signed(), "x-zm-request-timestamp": "2023-10-01T00:00:00Z"}
    assert rejected(ZOOM, request(headers, EVENT)).reason == "malformed-header"


@pytest.mark.parametrize("missing", ["x-zm-signature", "x-zm-request-timestamp"])
def test_missing_header_is_missing_header(missing: str) -> None:
    headers = signed()
    del headers[missing]
    failure = rejected(ZOOM, request(headers, EVENT))
    assert failure.reason == "missing-header"
    assert missing in failure.detail


def test_zooms_documented_validation_request_is_verified_and_answered() -> None:
    req = request(signed(DOC_VALIDATION), DOC_VALIDATION)
    ZOOM.verify(req)
    response = ZOOM.respond(req)
    assert response is not None
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    expected = hmac.new(SECRET.encode(), DOC_PLAIN_TOKEN.encode(), hashlib.sha256).hexdigest()
    assert json.loads(bytes(response.body)) == {
        "plainToken": DOC_PLAIN_TOKEN,
        "encryptedToken": expected,
    }


def test_encrypted_token_matches_elastic_beats_published_vector() -> None:
    # elastic/beats x-pack/filebeat/input/http_endpoint/handler_test.go, "validate_CRC_request":
    # Zoom's documented plainToken under the secret "secretValueTest".
    beats = ZoomVerifier([b"secretValueTest"], clock=lambda: NOW)
    response = beats.respond(request({}, DOC_VALIDATION))
    assert response is not None
    assert json.loads(bytes(response.body))["encryptedToken"] == (
        "70c1f2e2e6ca2d39297490d1f9142c7d701415ea8e6151f6562a08fa657a40ff"
    )


def test_encrypted_token_uses_the_first_secret_token() -> None:
    rotating = ZoomVerifier([OTHER.encode(), SECRET.encode()], clock=lambda: NOW)
    response = rotating.respond(request(signed(DOC_VALIDATION), DOC_VALIDATION))
    assert response is not None
    expected = hmac.new(OTHER.encode(), DOC_PLAIN_TOKEN.encode(), hashlib.sha256).hexdigest()
    assert json.loads(bytes(response.body))["encryptedToken"] == expected


def test_events_get_no_immediate_answer() -> None:
    assert ZOOM.respond(request(signed(), EVENT)) is None


def test_validation_text_outside_the_event_field_gets_no_immediate_answer() -> None:
    body = json.dumps(
        {
            "event": "meeting.started",
            "payload": {"plainToken": "x", "topic": "endpoint.url_validation"},
        }
    ).encode()
    assert ZOOM.respond(request(signed(body), body)) is None


@pytest.mark.parametrize(
    "token",
    ["x" * 257, "", "line\nbreak", "nul\x00", 12345, None, ["qgg8vlvZRS6UYooatFL8Aw"]],
)
def test_plain_token_not_a_short_printable_string_gets_no_answer(token: Any) -> None:
    body = validation(token)
    assert ZOOM.respond(request(signed(body), body)) is None


def test_plain_token_of_256_characters_is_answered() -> None:
    body = validation("x" * 256)
    response = ZOOM.respond(request(signed(body), body))
    assert response is not None
    assert json.loads(bytes(response.body))["plainToken"] == "x" * 256


@pytest.mark.parametrize(
    "body",
    [
        b"endpoint.url_validation",  # not JSON
        b'["endpoint.url_validation"]',  # not an object
        b'{"event": "endpoint.url_validation", "payload": "qgg8"}',  # payload not an object
        b'{"event": "endpoint.url_validation"}',  # no payload
        b'{"event": "endpoint.url_validation", "payload": {"plainToken": "t"}, "pad": "'
        + b"x" * 4096
        + b'"}',  # too large to be a validation request
    ],
)
def test_odd_validation_bodies_get_no_answer(body: bytes) -> None:
    assert ZOOM.respond(request(signed(body), body)) is None


def test_sender_defaults_dedupe_on_the_signed_body_and_read_the_event_type() -> None:
    cfg = config()
    rule = cfg.default_delivery_id()
    assert rule.body_sha256 and not rule.unsigned
    assert cfg.signs(rule)
    event_type = cfg.default_event_type()
    assert event_type.read(headers={}, body=json.loads(EVENT)) == "meeting.started"
    assert event_type.read(headers={}, body=json.loads(DOC_VALIDATION)) == (
        "endpoint.url_validation"
    )
    assert ZoomVerifier.secret_headers == frozenset({"x-zm-signature"})


def test_short_secret_token_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_ZOOM_SECRET", "short")
    with pytest.raises(ConfigError, match=r"Route 'zoom'.*TEST_ZOOM_SECRET"):
        config().build("zoom")
