"""Standard Webhooks v1 (signed by the reference library) and v1a (ed25519, per the spec)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from standardwebhooks import Webhook

from tests.support.signing import ORDERS_SECRET, OTHER_SECRET
from tests.verifiers.support import rejected, request
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.secrets import SecretSource
from webhook_gateway.contracts.signing import decode_secret
from webhook_gateway.verifiers.standard_webhooks import (
    StandardWebhooksConfig,
    StandardWebhooksV1aConfig,
    StandardWebhooksVerifier,
    decode_public_key,
)

BODY = b'{"type":"order.created","data":{"id":"A-1"}}'
NOW = 1_700_000_000
SIGNER = Ed25519PrivateKey.generate()
OTHER_SIGNER = Ed25519PrivateKey.generate()


def public_key(private: Ed25519PrivateKey) -> str:
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "whpk_" + base64.b64encode(raw).decode()


def v1a(private: Ed25519PrivateKey, msg_id: str, stamp: int, body: bytes) -> str:
    return "v1a," + base64.b64encode(private.sign(f"{msg_id}.{stamp}.".encode() + body)).decode()


def headers(signature: str, *, msg_id: str = "msg_1", stamp: int = NOW) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": signature}


def v1_signature(secret: str = ORDERS_SECRET, stamp: int = NOW, body: bytes = BODY) -> str:
    return str(Webhook(secret).sign("msg_1", datetime.fromtimestamp(stamp, tz=UTC), body.decode()))


def verifier(
    *, hmac: list[str] | None = None, ed: list[str] | None = None
) -> StandardWebhooksVerifier:
    keys = [decode_secret(s, route="r") for s in (hmac or [])]
    public = [decode_public_key(k, route="r") for k in (ed or [])]
    return StandardWebhooksVerifier(keys, public_keys=public, clock=lambda: NOW)


def test_v1_signature_from_the_reference_library_is_accepted() -> None:
    verifier(hmac=[ORDERS_SECRET]).verify(request(headers(v1_signature()), BODY))


def test_v1a_ed25519_signature_is_accepted_with_the_whpk_public_key() -> None:
    sig = v1a(SIGNER, "msg_1", NOW, BODY)
    verifier(ed=[public_key(SIGNER)]).verify(request(headers(sig), BODY))


def test_route_with_both_accepts_either_version() -> None:
    both = verifier(hmac=[ORDERS_SECRET], ed=[public_key(SIGNER)])
    both.verify(request(headers(v1_signature()), BODY))
    both.verify(request(headers(v1a(SIGNER, "msg_1", NOW, BODY)), BODY))


def test_v1a_during_key_rotation_any_listed_public_key_matches() -> None:
    sig = v1a(OTHER_SIGNER, "msg_1", NOW, BODY)
    verifier(ed=[public_key(SIGNER), public_key(OTHER_SIGNER)]).verify(request(headers(sig), BODY))


def test_v1a_signature_of_other_key_is_bad_signature() -> None:
    sig = v1a(OTHER_SIGNER, "msg_1", NOW, BODY)
    assert rejected(verifier(ed=[public_key(SIGNER)]), request(headers(sig), BODY)).reason == (
        "bad-signature"
    )


def test_v1a_signature_over_another_body_is_bad_signature() -> None:
    sig = v1a(SIGNER, "msg_1", NOW, BODY + b" ")
    failure = rejected(verifier(ed=[public_key(SIGNER)]), request(headers(sig), BODY))
    assert failure.reason == "bad-signature"


def test_v1_only_signature_on_v1a_only_route_is_malformed_header() -> None:
    failure = rejected(verifier(ed=[public_key(SIGNER)]), request(headers(v1_signature()), BODY))
    assert failure.reason == "malformed-header"
    assert "v1a" in failure.detail


def test_v1_signature_of_retired_secret_is_bad_signature() -> None:
    sig = v1_signature(OTHER_SECRET)
    assert rejected(verifier(hmac=[ORDERS_SECRET]), request(headers(sig), BODY)).reason == (
        "bad-signature"
    )


@pytest.mark.parametrize(
    ("stamp", "reason"), [(NOW - 301, "timestamp-expired"), (NOW + 301, "timestamp-in-future")]
)
def test_v1a_timestamp_outside_the_window_is_refused(stamp: int, reason: str) -> None:
    sig = v1a(SIGNER, "msg_1", stamp, BODY)
    failure = rejected(verifier(ed=[public_key(SIGNER)]), request(headers(sig, stamp=stamp), BODY))
    assert failure.reason == reason


def test_missing_timestamp_is_missing_header() -> None:
    sig = v1a(SIGNER, "msg_1", NOW, BODY)
    only = {"webhook-id": "msg_1", "webhook-signature": sig}
    failure = rejected(verifier(ed=[public_key(SIGNER)]), request(only, BODY))
    assert failure.reason == "missing-header"
    assert "webhook-timestamp" in failure.detail


def test_truncated_v1a_signature_is_malformed_header() -> None:
    sig = v1a(SIGNER, "msg_1", NOW, BODY)[:40]
    assert rejected(verifier(ed=[public_key(SIGNER)]), request(headers(sig), BODY)).reason == (
        "malformed-header"
    )


def test_tolerance_is_configurable() -> None:
    sig = v1a(SIGNER, "msg_1", NOW - 500, BODY)
    key = decode_public_key(public_key(SIGNER), route="r")
    wide = StandardWebhooksVerifier([], public_keys=[key], tolerance_seconds=600, clock=lambda: NOW)
    wide.verify(request(headers(sig, stamp=NOW - 500), BODY))


def test_public_key_without_whpk_prefix_refuses_to_start_naming_the_route() -> None:
    raw = public_key(SIGNER).removeprefix("whpk_")
    with pytest.raises(ConfigError, match=r"Route 'orders'.*whpk_"):
        decode_public_key(raw, route="orders")


def test_v1a_config_resolves_public_keys_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_V1A_KEYS", f"{public_key(OTHER_SIGNER)} {public_key(SIGNER)}")
    config = StandardWebhooksV1aConfig(
        type="standard_webhooks_v1a", public_key=SecretSource(env="TEST_V1A_KEYS")
    )
    now = int(time.time())
    sig = v1a(SIGNER, "msg_1", now, BODY)
    config.build("r").verify(request(headers(sig, stamp=now), BODY))


def test_v1a_public_key_variable_missing_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_V1A_UNSET", raising=False)
    config = StandardWebhooksConfig(
        type="standard_webhooks",
        secret=SecretSource(env="TEST_ORDERS_SECRET"),
        public_key=SecretSource(env="TEST_V1A_UNSET"),
    )
    with pytest.raises(ConfigError, match=r"Route 'orders'.*TEST_V1A_UNSET"):
        config.build("orders")
