"""Meta (Facebook, Instagram, WhatsApp Cloud API), with the sample verification request and
sample event notification from Meta's "Getting Started" webhooks guide:
https://developers.facebook.com/docs/graph-api/webhooks/getting-started/"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import TypeAdapter

from tests.verifiers.support import rejected, request
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.errors import Forbidden, RequestRejected
from webhook_gateway.verifiers import Handshake, VerifierConfig
from webhook_gateway.verifiers.github import GitHubVerifier
from webhook_gateway.verifiers.meta import MetaConfig, MetaVerifier

APP_SECRET = "0123456789abcdef0123456789abcdef"  # Meta app secrets are 32 hex digits
VERIFY_TOKEN = "a-verify-token-of-our-own-choosing"
# Meta's documented sample: GET https://www.your-clever-domain-name.com/webhooks?
#   hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock
DOC_URL = (
    "https://www.your-clever-domain-name.com/webhooks"
    "?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock"
)
DOC_VERIFY_TOKEN = "meatyhamhock"  # 12 characters: only with allow_short
# Meta's documented "Sample Event Notification" (its X-Hub-Signature-256 is elided there).
DOC_EVENT = b"""{
  "entry": [
    {
      "time": 1520383571,
      "changes": [
        {
          "field": "photos",
          "value": {
            "verb": "update",
            "object_id": "10211885744794461"
          }
        }
      ],
      "id": "10210299214172187",
      "uid": "10210299214172187"
    }
  ],
  "object": "user"
}"""

META = MetaVerifier([APP_SECRET.encode()], verify_tokens=[VERIFY_TOKEN.encode()])


def signature(body: bytes = DOC_EVENT, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": "sha256=" + digest}


def config(**fields: Any) -> MetaConfig:
    parsed = TypeAdapter(VerifierConfig).validate_python(
        {
            "type": "meta",
            "secret": {"env": "TEST_META_APP_SECRET"},
            "verify_token": {"env": "TEST_META_VERIFY_TOKEN"},
            **fields,
        }
    )
    assert isinstance(parsed, MetaConfig)
    return parsed


def subscribe(
    token: str | None = VERIFY_TOKEN, challenge: str | None = "1158201444", mode: str = "subscribe"
) -> str:
    query = [f"hub.mode={quote(mode)}"]
    if challenge is not None:
        query.append(f"hub.challenge={quote(challenge)}")
    if token is not None:
        query.append(f"hub.verify_token={quote(token)}")
    return "https://hooks.example.com/webhooks/meta?" + "&".join(query)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("TEST_META_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("TEST_META_VERIFY_TOKEN", VERIFY_TOKEN)
    return monkeypatch


def test_metas_documented_verification_request_is_answered_with_the_challenge(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("TEST_META_VERIFY_TOKEN", DOC_VERIFY_TOKEN)
    verifier = config(verify_token={"env": "TEST_META_VERIFY_TOKEN", "allow_short": True}).build(
        "meta"
    )
    assert isinstance(verifier, Handshake)
    response = verifier.handshake(request(url=DOC_URL, method="GET"))
    assert response is not None
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert bytes(response.body) == b"1158201444"


def test_documented_event_notification_signed_with_the_app_secret_is_accepted(
    env: pytest.MonkeyPatch,
) -> None:
    config().build("meta").verify(request(signature(), DOC_EVENT))


def test_meta_reuses_githubs_verifier() -> None:
    assert isinstance(META, GitHubVerifier)
    assert "x-hub-signature-256" in META.secret_headers


def test_any_live_app_secret_matches_during_rotation() -> None:
    rotating = MetaVerifier(
        [b"an-older-app-secret-0000000000000", APP_SECRET.encode()], verify_tokens=[b"t" * 16]
    )
    rotating.verify(request(signature(), DOC_EVENT))


def test_wrong_app_secret_is_bad_signature() -> None:
    headers = signature(secret="fedcba9876543210fedcba9876543210")
    failure = rejected(META, request(headers, DOC_EVENT))
    assert failure.reason == "bad-signature"
    assert APP_SECRET not in failure.detail


def test_tampered_body_is_bad_signature() -> None:
    assert rejected(META, request(signature(), DOC_EVENT.replace(b"photos", b"feed"))).reason == (
        "bad-signature"
    )


@pytest.mark.parametrize(
    "value", ["sha1=" + "0" * 40, "0" * 64, "sha256=" + "0" * 63, "sha256=" + "g" * 64]
)
def test_signature_not_sha256_and_64_hex_digits_is_malformed_header(value: str) -> None:
    failure = rejected(META, request({"X-Hub-Signature-256": value}, DOC_EVENT))
    assert failure.reason == "malformed-header"


def test_missing_signature_is_missing_header() -> None:
    assert rejected(META, request({}, DOC_EVENT)).reason == "missing-header"


def test_any_configured_verify_token_is_accepted() -> None:
    rotating = MetaVerifier(
        [APP_SECRET.encode()], verify_tokens=[b"the-older-verify-token", VERIFY_TOKEN.encode()]
    )
    response = rotating.handshake(request(url=subscribe(), method="GET"))
    assert response is not None and bytes(response.body) == b"1158201444"


@pytest.mark.parametrize(
    "token", ["a-verify-token-of-our-own-choosinG", VERIFY_TOKEN[:-1], "", None]
)
def test_wrong_or_missing_verify_token_is_forbidden_without_echoing_it(
    token: str | None,
) -> None:
    with pytest.raises(Forbidden) as info:
        META.handshake(request(url=subscribe(token=token), method="GET"))
    assert info.value.status == 403
    assert "verify_token" in info.value.detail
    assert VERIFY_TOKEN not in info.value.detail
    assert not token or token not in info.value.detail


def test_verify_token_sent_twice_is_forbidden() -> None:
    url = subscribe() + "&hub.verify_token=other"
    with pytest.raises(Forbidden):
        META.handshake(request(url=url, method="GET"))


def test_wrong_token_is_forbidden_even_with_a_bad_challenge() -> None:
    with pytest.raises(Forbidden):
        META.handshake(request(url=subscribe(token="wrong", challenge="x" * 300), method="GET"))


@pytest.mark.parametrize("challenge", ["x" * 257, "", "line\nbreak", "nul\x00", None])
def test_challenge_not_a_short_printable_string_is_bad_request(challenge: str | None) -> None:
    with pytest.raises(RequestRejected) as info:
        META.handshake(request(url=subscribe(challenge=challenge), method="GET"))
    assert info.value.status == 400
    assert not isinstance(info.value, Forbidden)


def test_challenge_of_256_printable_characters_is_echoed() -> None:
    challenge = "C-" + "x" * 254
    response = META.handshake(request(url=subscribe(challenge=challenge), method="GET"))
    assert response is not None and bytes(response.body) == challenge.encode()


@pytest.mark.parametrize(
    ("url", "method"),
    [
        ("https://hooks.example.com/webhooks/meta", "GET"),  # no hub.mode
        ("https://hooks.example.com/webhooks/meta?hub.challenge=1&x=y", "GET"),
        (subscribe(mode="unsubscribe"), "GET"),
        (subscribe(), "POST"),  # an event POST to a URL that happens to carry the query
        (subscribe(token="wrong"), "POST"),
    ],
)
def test_requests_other_than_the_subscription_get_no_handshake(url: str, method: str) -> None:
    assert META.handshake(request(signature(), DOC_EVENT, url=url, method=method)) is None


def test_sender_defaults_dedupe_on_the_signed_body_and_read_object_and_field() -> None:
    cfg = config()
    assert cfg.handshake_methods == frozenset({"GET"})
    rule = cfg.default_delivery_id()
    assert rule.body_sha256 and not rule.unsigned and cfg.signs(rule)
    assert cfg.default_event_type().read(headers={}, body=json.loads(DOC_EVENT)) == "user.photos"
    whatsapp = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": []}]}
    assert cfg.default_event_type().read(headers={}, body=whatsapp) == ("whatsapp_business_account")


def test_short_verify_token_refuses_to_start(env: pytest.MonkeyPatch) -> None:
    env.setenv("TEST_META_VERIFY_TOKEN", DOC_VERIFY_TOKEN)
    with pytest.raises(ConfigError, match=r"Route 'meta'.*TEST_META_VERIFY_TOKEN.*12 characters"):
        config().build("meta")


def test_short_app_secret_refuses_to_start(env: pytest.MonkeyPatch) -> None:
    env.setenv("TEST_META_APP_SECRET", "short")
    with pytest.raises(ConfigError, match=r"Route 'meta'.*TEST_META_APP_SECRET"):
        config().build("meta")
