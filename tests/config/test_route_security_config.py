"""Route-file rules for inbound security: sender-default delivery ids, secrets that must
exist before start-up, allowlists and rate limits that must parse."""

from __future__ import annotations

from typing import Any

import pytest

from webhook_gateway.config.routes import parse_config
from webhook_gateway.contracts.errors import ConfigError

SECRET = {"env": "TEST_SECURITY_UNSET_SECRET"}
VERIFIERS: dict[str, dict[str, Any]] = {
    "standard_webhooks": {"secret": SECRET},
    "standard_webhooks_v1a": {"public_key": SECRET},
    "github": {"secret": SECRET},
    "stripe": {"secret": SECRET},
    "shopify": {"secret": SECRET},
    "slack": {"secret": SECRET},
    "twilio": {"secret": SECRET},
    "hmac": {"secret": SECRET, "header": "X-Sig"},
    "bearer": {"token": SECRET},
    "api_key": {"key": SECRET},
    "basic": {"username": "u", "password": SECRET},
}
DEFAULT_IDS = {
    "standard_webhooks": {"signed_id": True},
    "standard_webhooks_v1a": {"signed_id": True},
    "github": {"header": "x-github-delivery", "unsigned": True},
    "stripe": {"jmespath": "id"},
    "shopify": {"header": "x-shopify-webhook-id", "unsigned": True},
    "slack": {"jmespath": "event_id"},
    "twilio": {"jmespath": "MessageSid || CallSid"},
}


def route(kind: str, **extra: Any) -> dict[str, Any]:
    verifier = {"type": kind, **VERIFIERS[kind]}
    return {"routes": {"hooks": {"path": "/h", "workflow": "W", "verifier": verifier, **extra}}}


@pytest.mark.parametrize(("kind", "rule"), DEFAULT_IDS.items())
def test_provider_default_delivery_id_applies_when_the_route_names_none(
    kind: str, rule: dict[str, str]
) -> None:
    config = parse_config(route(kind))
    assert config.routes[0].delivery_id_rule.model_dump(exclude_defaults=True) == rule


def test_route_delivery_id_overrides_the_provider_default() -> None:
    config = parse_config(route("github", delivery_id={"header": "x-request-id", "unsigned": True}))
    assert config.routes[0].delivery_id_rule.header == "x-request-id"


@pytest.mark.parametrize("kind", ["hmac", "bearer", "api_key", "basic"])
def test_route_without_delivery_id_and_without_a_default_fails_naming_route_and_field(
    kind: str,
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(route(kind))
    assert "route 'hooks'" in str(info.value)
    assert "delivery_id" in str(info.value)


@pytest.mark.parametrize("kind", VERIFIERS)
def test_missing_secret_refuses_to_start_naming_route_and_variable(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_SECURITY_UNSET_SECRET", raising=False)
    config = parse_config(route(kind, delivery_id={"header": "x-id", "unsigned": True}))
    with pytest.raises(ConfigError, match=r"Route 'hooks'.*TEST_SECURITY_UNSET_SECRET"):
        config.routes[0].verifier.build("hooks")


def test_allow_ips_accepts_ipv4_and_ipv6_cidrs() -> None:
    config = parse_config(route("github", allow_ips=["192.0.2.0/24", "2001:db8::/32", "10.1.2.3"]))
    assert config.routes[0].allow_ips == ["192.0.2.0/24", "2001:db8::/32", "10.1.2.3/32"]


def test_allow_ips_entry_that_is_not_a_network_fails_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"allow_ips.*'10.0.0.300'"):
        parse_config(route("github", allow_ips=["10.0.0.300"]))


def test_rate_limit_must_allow_at_least_one_request() -> None:
    with pytest.raises(ConfigError, match="rate_limit"):
        parse_config(route("github", rate_limit={"requests": 0}))
