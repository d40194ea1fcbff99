"""Every malformed variant of every header a verifier reads ends as `VerificationFailed`
(a 401), never another exception (a 500)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.verifiers.support import URL, HeaderItems, rejected, request
from webhook_gateway.errors import VerificationFailed
from webhook_gateway.verifiers.api_key import ApiKeyVerifier
from webhook_gateway.verifiers.base import Verifier
from webhook_gateway.verifiers.basic_auth import BasicAuthVerifier
from webhook_gateway.verifiers.bearer import BearerVerifier
from webhook_gateway.verifiers.github import GitHubVerifier
from webhook_gateway.verifiers.hmac_signature import HmacConfig, HmacVerifier
from webhook_gateway.verifiers.shopify import ShopifyVerifier
from webhook_gateway.verifiers.slack import SlackVerifier
from webhook_gateway.verifiers.standard_webhooks import (
    StandardWebhooksVerifier,
    decode_public_key,
)
from webhook_gateway.verifiers.stripe import StripeVerifier
from webhook_gateway.verifiers.twilio import TwilioVerifier

NOW = 1_700_000_000
KEY = b"k" * 32
BODY = b'{"id":"evt_1"}'
FORM_BODY = urlencode({"MessageSid": "SM1", "Body": "hi"}).encode()
ED = Ed25519PrivateKey.generate()
ED_PUBLIC = (
    "whpk_"
    + base64.b64encode(ED.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
)

HOSTILE: list[str | bytes] = [
    "",
    "   ",
    "x" * 100_000,
    "\u00e9\u00e8",
    "é".encode(),
    b"\xff\xfe\xfd",
    b"\x00\x01\x02",
    "%%%not-base64%%%",
    "zz" * 32,
    "=",
    ",,,,",
    "t=,v1=",
    "t=1,t=2,v1=" + "ab" * 32,
    "sha256=",
    "sha256=" + "zz" * 32,
    "v0=",
    "v0=" + "0" * 63,
    "v1," + "A" * 5,
    "v1a,!!!!",
    "Bearer",
    "Basic",
    "Basic %%%",
    "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
    "-1",
    "1.5",
    "9" * 5000,
    "\u0661\u0662\u0663",
    "algorithm=",
]


def hexmac(message: bytes, algorithm: str = "sha256") -> str:
    return hmac.new(KEY, message, algorithm).hexdigest()


def b64mac(message: bytes, algorithm: str = "sha256") -> str:
    return base64.b64encode(hmac.new(KEY, message, algorithm).digest()).decode()


@dataclass
class Case:
    verifier: Verifier
    headers: dict[str, str]
    body: bytes = BODY
    url: str = URL
    optional: list[str] = field(default_factory=list)


def twilio_signature() -> str:
    params = "".join(f"{k}{v}" for k, v in sorted({"MessageSid": "SM1", "Body": "hi"}.items()))
    return b64mac((URL + params).encode(), "sha1")


HMAC_CONFIG = HmacConfig.model_validate(
    {
        "type": "hmac",
        "secret": {"env": "UNUSED"},
        "header": "X-Signature",
        "prefix": "sha256=",
        "timestamp_header": "X-Timestamp",
        "signed_content": "{timestamp}:{body}",
    }
)

CASES: dict[str, Case] = {
    "standard_webhooks": Case(
        StandardWebhooksVerifier(
            [KEY], public_keys=[decode_public_key(ED_PUBLIC, route="r")], clock=lambda: NOW
        ),
        {
            "webhook-id": "msg_1",
            "webhook-timestamp": str(NOW),
            "webhook-signature": "v1,"
            + base64.b64encode(
                hmac.new(KEY, f"msg_1.{NOW}.".encode() + BODY, hashlib.sha256).digest()
            ).decode(),
        },
    ),
    "github": Case(GitHubVerifier([KEY]), {"X-Hub-Signature-256": "sha256=" + hexmac(BODY)}),
    "stripe": Case(
        StripeVerifier([KEY], clock=lambda: NOW),
        {"Stripe-Signature": f"t={NOW},v1=" + hexmac(f"{NOW}.".encode() + BODY)},
    ),
    "shopify": Case(ShopifyVerifier([KEY]), {"X-Shopify-Hmac-Sha256": b64mac(BODY)}),
    "slack": Case(
        SlackVerifier([KEY], clock=lambda: NOW),
        {
            "X-Slack-Signature": "v0=" + hexmac(f"v0:{NOW}:".encode() + BODY),
            "X-Slack-Request-Timestamp": str(NOW),
        },
    ),
    "twilio": Case(
        TwilioVerifier([KEY]),
        {
            "content-type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(),
        },
        body=FORM_BODY,
        optional=["X-Twilio-Webhooks-Signature-Settings"],
    ),
    "hmac": Case(
        HmacVerifier([KEY], config=HMAC_CONFIG, clock=lambda: NOW),
        {
            "X-Signature": "sha256=" + hexmac(f"{NOW}:".encode() + BODY),
            "X-Timestamp": str(NOW),
        },
    ),
    "bearer": Case(BearerVerifier([KEY]), {"Authorization": "Bearer " + KEY.decode()}),
    "api_key": Case(ApiKeyVerifier([KEY]), {"X-API-Key": KEY.decode()}),
    "basic": Case(
        BasicAuthVerifier("user", [KEY]),
        {"Authorization": "Basic " + base64.b64encode(b"user:" + KEY).decode()},
    ),
}


def build(case: Case, headers: HeaderItems, body: bytes | None = None) -> None:
    case.verifier.verify(request(headers, case.body if body is None else body, url=case.url))


@pytest.mark.parametrize("name", CASES)
def test_baseline_request_is_accepted(name: str) -> None:
    build(CASES[name], CASES[name].headers)


@pytest.mark.parametrize("name", CASES)
def test_every_hostile_value_of_every_header_is_a_verification_failure(name: str) -> None:
    case = CASES[name]
    for header in [h for h in case.headers if h != "content-type"]:
        for value in HOSTILE:
            replaced = [(k, v) for k, v in case.headers.items() if k.lower() != header.lower()]
            rejected(case.verifier, request([*replaced, (header, value)], case.body, url=case.url))
            if header in case.headers:
                repeated = [*replaced, (header, value), (header, case.headers[header])]
                rejected(case.verifier, request(repeated, case.body, url=case.url))


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.optional])
def test_hostile_optional_headers_are_accepted_or_refused_but_never_crash(name: str) -> None:
    case = CASES[name]
    for header in case.optional:
        for value in HOSTILE:
            try:
                build(case, [*case.headers.items(), (header, value)])
            except VerificationFailed as exc:
                assert exc.status == 401


@pytest.mark.parametrize("name", CASES)
def test_each_header_missing_is_a_verification_failure(name: str) -> None:
    case = CASES[name]
    for header in case.headers:
        if header == "content-type":
            continue
        rest = {k: v for k, v in case.headers.items() if k != header}
        rejected(case.verifier, request(rest, case.body, url=case.url))


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize(
    "body", [b"\xff\xfe" * 10, b"%ff%fe=%80&\xed\xa0\x80=1", b"a=" + b"%" * 1000, b"\x00" * 64]
)
def test_hostile_bodies_are_a_verification_failure_unless_unsigned(name: str, body: bytes) -> None:
    case = CASES[name]
    if name in {"bearer", "api_key", "basic"}:
        build(case, case.headers, body)  # these schemes do not sign the body
    else:
        rejected(case.verifier, request(case.headers, body, url=case.url))


def test_hostile_url_for_twilio_is_a_verification_failure() -> None:
    case = CASES["twilio"]
    for url in ["https://h:99999/x", "https://[::1/x", "http://\u00e9.example/\udcff", "x"]:
        rejected(case.verifier, request(case.headers, case.body, url=url))
