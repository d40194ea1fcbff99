"""Delivery ids are ones the sender signed, or the route says they are not."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.support.signing import ORDERS_SECRET, signed
from tests.verifiers.support import rejected, request
from webhook_gateway.config.ids import extract_id
from webhook_gateway.config.routes import IdRule, parse_config
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.signing import decode_secret
from webhook_gateway.verifiers.standard_webhooks import StandardWebhooksVerifier

STD = {"type": "standard_webhooks", "secret": {"env": "UNUSED"}}
GITHUB = {"type": "github", "secret": {"env": "UNUSED"}}
BEARER = {"type": "bearer", "token": {"env": "UNUSED"}}


def route(verifier: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"routes": {"hooks": {"path": "/h", "workflow": "W", "verifier": verifier, **extra}}}


def std_verifier() -> StandardWebhooksVerifier:
    return StandardWebhooksVerifier([decode_secret(ORDERS_SECRET, route="r")])


def as_svix(headers: dict[str, str]) -> dict[str, str]:
    return {k.replace("webhook-", "svix-"): v for k, v in headers.items()}


def test_standard_webhooks_reports_the_id_inside_the_signed_content() -> None:
    body, headers = signed({"a": 1}, msg_id="msg_signed")
    assert std_verifier().verify(request(headers, body)).signed_id == "msg_signed"


def test_svix_headers_alone_report_the_svix_id() -> None:
    body, headers = signed({"a": 1}, msg_id="msg_svix")
    assert std_verifier().verify(request(as_svix(headers), body)).signed_id == "msg_svix"


def test_a_fresh_svix_id_beside_the_signed_webhook_id_is_malformed() -> None:
    body, headers = signed({"a": 1}, msg_id="msg_captured")
    replay = headers | {"svix-id": "msg_fresh"}
    failure = rejected(std_verifier(), request(replay, body))
    assert failure.reason == "malformed-header"
    assert "webhook-id and svix-id differ" in failure.detail


def test_both_header_names_with_the_same_value_are_accepted() -> None:
    body, headers = signed({"a": 1}, msg_id="msg_both")
    both = headers | as_svix(headers)
    assert std_verifier().verify(request(both, body)).signed_id == "msg_both"


@pytest.mark.parametrize("name", ["id", "timestamp", "signature"])
@pytest.mark.parametrize("family", ["webhook", "svix"])
def test_a_standard_webhooks_header_sent_twice_is_malformed(name: str, family: str) -> None:
    body, headers = signed({"a": 1})
    if family == "svix":
        headers = as_svix(headers)
    header = f"{family}-{name}"
    items = [*headers.items(), (header, headers[header])]
    failure = rejected(std_verifier(), request(items, body))
    assert failure.reason == "malformed-header"
    assert f"{header} was sent 2 times" in failure.detail


@pytest.mark.parametrize("header", ["webhook-id", "svix-id"])
def test_an_id_header_on_a_standard_webhooks_route_is_the_signed_id(header: str) -> None:
    config = parse_config(route(STD, delivery_id={"header": header}))
    assert config.routes[0].delivery_id_rule == IdRule(signed_id=True)


def test_standard_webhooks_forwards_the_id_headers_to_the_workflow() -> None:
    config = parse_config(route(STD))
    assert {"webhook-id", "svix-id"} <= config.routes[0].forwarded_headers()


def test_an_unsigned_header_as_delivery_id_refuses_to_start_naming_the_fix() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(route(GITHUB, delivery_id={"header": "x-request-id"}))
    text = str(info.value)
    assert "route 'hooks'" in text
    assert "header x-request-id" in text
    assert "{body_sha256: true}" in text
    assert "'unsigned: true'" in text


def test_unsigned_true_accepts_an_unsigned_header_and_check_warns() -> None:
    config = parse_config(route(GITHUB, delivery_id={"header": "x-request-id", "unsigned": True}))
    (warning,) = config.routes[0].unsigned_ids()
    assert "delivery_id is the header x-request-id" in warning


def test_github_default_delivery_id_is_the_unsigned_delivery_header_with_a_warning() -> None:
    config = parse_config(route(GITHUB))
    assert config.routes[0].delivery_id_rule.header == "x-github-delivery"
    assert len(config.routes[0].unsigned_ids()) == 1


@pytest.mark.parametrize(
    "rule", [{"body_sha256": True}, {"jmespath": "hook_id"}], ids=["body_sha256", "jmespath"]
)
def test_ids_from_the_signed_body_need_no_acknowledgement(rule: dict[str, Any]) -> None:
    config = parse_config(route(GITHUB, delivery_id=rule))
    assert config.routes[0].unsigned_ids() == []


def test_signed_ids_of_standard_webhooks_need_no_acknowledgement() -> None:
    assert parse_config(route(STD)).routes[0].unsigned_ids() == []


def test_a_token_verifier_signs_nothing_so_even_the_body_hash_must_be_acknowledged() -> None:
    with pytest.raises(ConfigError, match="does not sign"):
        parse_config(route(BEARER, delivery_id={"body_sha256": True}))
    parse_config(route(BEARER, delivery_id={"body_sha256": True, "unsigned": True}))


def test_a_start_routes_workflow_id_from_an_unsigned_header_must_be_acknowledged() -> None:
    with pytest.raises(ConfigError, match="workflow_id is the header x-order"):
        parse_config(route(STD, workflow_id={"header": "x-order"}))
    parse_config(route(STD, workflow_id={"header": "x-order", "unsigned": True}))


def test_an_addressed_modes_workflow_id_names_a_target_and_is_not_checked() -> None:
    parse_config(route(STD, mode="signal", workflow_id={"header": "x-order"}))


def test_body_sha256_is_the_hex_digest_of_the_raw_body() -> None:
    raw = b'{"ref": "refs/heads/main"}'
    found = extract_id(
        IdRule(body_sha256=True, prefix="gh-"),
        what="delivery id",
        headers={},
        path_params={},
        body={"ref": "refs/heads/main"},
        raw_body=raw,
    )
    assert found == "gh-" + hashlib.sha256(raw).hexdigest()


def test_only_one_id_source_may_be_named() -> None:
    with pytest.raises(ConfigError, match="name only one of"):
        parse_config(route(GITHUB, delivery_id={"header": "x-id", "body_sha256": True}))
