"""Slack, with signatures from `slack_sdk.signature.SignatureVerifier` and Slack's own
documented example request."""

from __future__ import annotations

import json

import pytest
from slack_sdk.signature import Clock, SignatureVerifier

from tests.verifiers.support import rejected, request
from webhook_gateway.verifiers.slack import SlackVerifier

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documented example signing secret
NOW = 1_531_420_618
BODY = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {}}).encode()


class FixedClock(Clock):
    def now(self) -> float:
        return NOW


SDK = SignatureVerifier(SECRET, clock=FixedClock())
SLACK = SlackVerifier([SECRET.encode()], clock=lambda: NOW)


def signed(body: bytes = BODY, stamp: int = NOW) -> dict[str, str]:
    signature = SDK.generate_signature(timestamp=str(stamp), body=body)
    assert signature is not None
    return {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": str(stamp)}


def test_slacks_documented_example_request_is_accepted() -> None:
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
        b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
        b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
        b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    assert SDK.is_valid_request(body, headers)
    SLACK.verify(request(headers, body))


def test_signature_from_slack_sdk_is_accepted() -> None:
    SLACK.verify(request(signed(), BODY))


def test_missing_timestamp_is_missing_header() -> None:
    headers = signed()
    del headers["X-Slack-Request-Timestamp"]
    failure = rejected(SLACK, request(headers, BODY))
    assert failure.reason == "missing-header"
    assert "X-Slack-Request-Timestamp" in failure.detail


def test_missing_signature_is_missing_header() -> None:
    headers = signed()
    del headers["X-Slack-Signature"]
    assert rejected(SLACK, request(headers, BODY)).reason == "missing-header"


def test_signature_without_v0_prefix_is_malformed_header() -> None:
    headers = signed()
    headers["X-Slack-Signature"] = headers["X-Slack-Signature"].replace("v0=", "v1=")
    assert rejected(SLACK, request(headers, BODY)).reason == "malformed-header"


def test_non_numeric_timestamp_is_malformed_header() -> None:
    headers = signed()
    headers["X-Slack-Request-Timestamp"] = "yesterday"
    assert rejected(SLACK, request(headers, BODY)).reason == "malformed-header"


@pytest.mark.parametrize(
    ("stamp", "reason"), [(NOW - 301, "timestamp-expired"), (NOW + 301, "timestamp-in-future")]
)
def test_timestamp_outside_five_minutes_is_refused_as_slack_sdk_does(
    stamp: int, reason: str
) -> None:
    headers = signed(stamp=stamp)
    assert not SDK.is_valid_request(BODY, headers)
    assert rejected(SLACK, request(headers, BODY)).reason == reason


def test_tampered_body_is_bad_signature() -> None:
    failure = rejected(SLACK, request(signed(), BODY + b" "))
    assert failure.reason == "bad-signature"
    assert SECRET not in failure.detail


def test_url_verification_is_answered_with_the_challenge() -> None:
    body = json.dumps({"token": "t", "challenge": "3eZbrw1aB", "type": "url_verification"})
    req = request(signed(body.encode()), body.encode())
    SLACK.verify(req)
    response = SLACK.respond(req)
    assert response is not None
    assert response.status_code == 200
    assert json.loads(bytes(response.body)) == {"challenge": "3eZbrw1aB"}


def test_event_callbacks_get_no_immediate_answer() -> None:
    assert SLACK.respond(request(signed(), BODY)) is None


def test_url_verification_text_outside_the_type_field_gets_no_immediate_answer() -> None:
    body = json.dumps({"type": "event_callback", "text": "url_verification", "challenge": "x"})
    assert SLACK.respond(request(signed(body.encode()), body.encode())) is None
