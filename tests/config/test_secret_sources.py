"""Secrets are taken exactly as written: several only as an explicit list, each refused at
start-up below its scheme's minimum (naming route and variable, never the value)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.verifiers.support import rejected, request
from webhook_gateway.config.routes import parse_config
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.verifiers import Verifier

DOC_SECRET = "It's a Secret to Everybody"  # GitHub's documented test secret
DOC_BODY = b"Hello, World!"
DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
STD_KEY = b"standard-webhooks-key-0123456789"  # 32 bytes


def build(verifier: dict[str, Any], **extra: Any) -> Verifier:
    hooks = {"path": "/h", "workflow": "W", "verifier": verifier, **extra}
    route = parse_config({"routes": {"hooks": hooks}}).routes[0]
    built: Verifier = route.verifier.build(route.name)
    return built


def github(secret: Any) -> Verifier:
    return build({"type": "github", "secret": secret})


def github_signature(key: str, body: bytes = DOC_BODY) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def test_a_secret_with_spaces_is_one_secret_and_githubs_test_vector_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GH_SECRET", DOC_SECRET)
    verifier = github({"env": "GH_SECRET"})

    verifier.verify(request({"X-Hub-Signature-256": DOC_SIGNATURE}, DOC_BODY))
    for word in ("It's", "a", "to", "Everybody"):
        forged = request({"X-Hub-Signature-256": github_signature(word)}, DOC_BODY)
        assert rejected(verifier, forged).reason == "bad-signature"


def test_leading_and_trailing_spaces_of_a_variable_are_part_of_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GH_SECRET", " padded-secret-0123456789 ")
    verifier = github({"env": "GH_SECRET"})

    padded = github_signature(" padded-secret-0123456789 ")
    verifier.verify(request({"X-Hub-Signature-256": padded}, DOC_BODY))
    stripped = request(
        {"X-Hub-Signature-256": github_signature("padded-secret-0123456789")}, DOC_BODY
    )
    assert rejected(verifier, stripped).reason == "bad-signature"


def test_an_explicit_list_of_sources_is_a_rotation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_NEW", "the-new-secret-0123456789")
    monkeypatch.setenv("GH_OLD", "the old secret, with spaces")
    verifier = github([{"env": "GH_NEW"}, {"env": "GH_OLD"}])

    for key in ("the-new-secret-0123456789", "the old secret, with spaces"):
        verifier.verify(request({"X-Hub-Signature-256": github_signature(key)}, DOC_BODY))


def test_a_file_holds_one_secret_per_line_with_only_line_endings_removed(tmp_path: Path) -> None:
    path = tmp_path / "secrets"
    path.write_bytes(b"first secret with spaces\r\n second-secret-0123456789\n")
    verifier = github({"file": str(path)})

    for key in ("first secret with spaces", " second-secret-0123456789"):
        verifier.verify(request({"X-Hub-Signature-256": github_signature(key)}, DOC_BODY))
    other = github_signature("second-secret-0123456789")
    other = request({"X-Hub-Signature-256": other}, DOC_BODY)
    assert rejected(verifier, other).reason == "bad-signature"


def test_several_files_are_several_secrets(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("secret-in-file-a-0123\n")
    (tmp_path / "b").write_text("secret-in-file-b-0123")
    verifier = github({"file": [str(tmp_path / "a"), str(tmp_path / "b")]})

    for key in ("secret-in-file-a-0123", "secret-in-file-b-0123"):
        verifier.verify(request({"X-Hub-Signature-256": github_signature(key)}, DOC_BODY))


def whsec(key: bytes, *, padded: bool = True) -> str:
    text = base64.b64encode(key).decode()
    return "whsec_" + (text if padded else text.rstrip("="))


def std_headers(secret: str, body: bytes) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign("msg_1", now, body.decode()),
    }


def test_space_separated_whsec_keys_in_one_variable_still_rotate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new = whsec(STD_KEY), whsec(STD_KEY[::-1])
    monkeypatch.setenv("STD_SECRETS", f"{new} {old}")
    verifier = build({"type": "standard_webhooks", "secret": {"env": "STD_SECRETS"}})

    for secret in (old, new):
        verifier.verify(request(std_headers(secret, b"{}"), b"{}"))


@pytest.mark.parametrize("size", [31, 32, 33], ids=["2-pad", "no-pad", "1-pad"])
def test_unpadded_whsec_secrets_are_accepted_as_the_reference_library_does(
    size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = bytes(range(size))
    unpadded = whsec(key, padded=False)
    monkeypatch.setenv("STD_SECRET", unpadded)
    verifier = build({"type": "standard_webhooks", "secret": {"env": "STD_SECRET"}})

    # Signed by the reference library from the same unpadded text.
    verifier.verify(request(std_headers(unpadded, b"{}"), b"{}"))
    verifier.verify(request(std_headers(whsec(key), b"{}"), b"{}"))


SHORT = [
    ({"type": "standard_webhooks", "secret": {"env": "SHORT"}}, whsec(b"x" * 23), "23 bytes"),
    ({"type": "github", "secret": {"env": "SHORT"}}, "fifteen-chars!!", "15 bytes"),
    ({"type": "stripe", "secret": {"env": "SHORT"}}, "whsec_short", "11 bytes"),
    ({"type": "slack", "secret": {"env": "SHORT"}}, "0123456789abcde", "15 bytes"),
    ({"type": "shopify", "secret": {"env": "SHORT"}}, "é" * 7, "14 bytes"),
    ({"type": "twilio", "secret": {"env": "SHORT"}}, "12345", "5 bytes"),
    ({"type": "hmac", "secret": {"env": "SHORT"}, "header": "X-Sig"}, "q7-hmac", "7 bytes"),
    ({"type": "bearer", "token": {"env": "SHORT"}}, "é" * 15, "15 characters"),
    ({"type": "api_key", "key": {"env": "SHORT"}}, "key-123", "7 characters"),
    ({"type": "basic", "username": "u", "password": {"env": "SHORT"}}, "pw", "2 characters"),
]
UNSIGNED_ID = {"delivery_id": {"header": "x-id", "unsigned": True}}


@pytest.mark.parametrize(
    ("verifier", "value", "length"), SHORT, ids=[v["type"] for v, _, _ in SHORT]
)
def test_a_secret_below_the_schemes_minimum_refuses_to_start_naming_route_and_variable(
    verifier: dict[str, Any], value: str, length: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHORT", value)
    with pytest.raises(ConfigError) as info:
        build(verifier, **UNSIGNED_ID)

    text = str(info.value)
    assert "Route 'hooks'" in text
    assert "$SHORT" in text
    assert length in text
    assert "allow_short: true" in text
    assert value not in text


@pytest.mark.parametrize(
    ("verifier", "value", "length"), SHORT, ids=[v["type"] for v, _, _ in SHORT]
)
def test_allow_short_accepts_a_short_secret_with_a_warning_that_names_no_value(
    verifier: dict[str, Any],
    value: str,
    length: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SHORT", value)
    allowed = {
        k: ({**v, "allow_short": True} if isinstance(v, dict) else v) for k, v in verifier.items()
    }
    with caplog.at_level(logging.WARNING, logger="hooktide.config"):
        build(allowed, **UNSIGNED_ID)

    (record,) = [r for r in caplog.records if r.name == "hooktide.config"]
    assert record.levelno == logging.WARNING
    assert "$SHORT" in record.getMessage()
    assert value not in record.getMessage()


def test_a_long_enough_secret_logs_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("GH_SECRET", DOC_SECRET)
    with caplog.at_level(logging.DEBUG, logger="hooktide.config"):
        github({"env": "GH_SECRET", "allow_short": True})
    assert not [r for r in caplog.records if r.name == "hooktide.config"]


def test_an_empty_secret_file_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match=r"secret file .*empty is empty"):
        github({"file": str(tmp_path / "empty")})
