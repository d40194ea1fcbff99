"""The route file's `subscriptions` section."""

from __future__ import annotations

from typing import Any

import pytest

from webhook_gateway.config.routes import parse_config
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.outbound import Subscription

ROUTES = {
    "orders": {
        "path": "/webhooks/orders",
        "workflow": "OrderWorkflow",
        "delivery_id": {"header": "webhook-id"},
        "verifier": {"type": "standard_webhooks", "secret": {"env": "X"}},
    }
}
SECRET = {"env": "BILLING_WHSEC"}


def with_subscriptions(subs: Any) -> dict[str, Any]:
    return {"routes": ROUTES, "subscriptions": subs}


def test_subscriptions_default_to_none() -> None:
    assert parse_config({"routes": ROUTES}).subscriptions == []


def test_subscriptions_accept_a_name_keyed_mapping_like_routes() -> None:
    config = parse_config(
        with_subscriptions(
            {
                "billing": {
                    "url": "https://billing.example.com/h",
                    "events": ["order.*"],
                    "secret": SECRET,
                }
            }
        )
    )
    [sub] = config.subscriptions
    assert (sub.name, sub.enabled, sub.timeout_seconds) == ("billing", True, 15.0)
    assert sub.secret.env == "BILLING_WHSEC"


def test_event_patterns_match_exactly_by_prefix_or_everything() -> None:
    sub = Subscription(
        name="s", url="https://x.example/h", events=["order.*", "approval.requested"], secret=SECRET
    )
    assert sub.matches("order.completed") and sub.matches("order.failed")
    assert sub.matches("approval.requested")
    assert not sub.matches("approval.granted") and not sub.matches("orders.completed")
    star = Subscription(name="s", url="https://x.example/h", events=["*"], secret=SECRET)
    assert star.matches("anything.at.all")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"url": "ftp://x.example/", "events": ["a"], "secret": SECRET}, "http:// or https://"),
        (
            {"url": "https://x.example/", "events": ["Order Completed"], "secret": SECRET},
            "event types",
        ),
        ({"url": "https://x.example/", "events": [], "secret": SECRET}, "at least 1"),
        ({"url": "https://x.example/", "events": ["a"], "secret": {}}, "environment variable"),
        (
            {"url": "https://x.example/", "events": ["a"], "secret": SECRET, "timeout_seconds": 60},
            "30",
        ),
        ({"url": "https://x.example/", "events": ["a"], "secret": SECRET, "token": "t"}, "Extra"),
    ],
)
def test_invalid_subscriptions_name_the_field(body: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match="subscriptions") as caught:
        parse_config(with_subscriptions({"billing": body}))
    assert problem in str(caught.value)


def test_subscription_names_are_unique_in_list_form() -> None:
    sub = {"name": "a", "url": "https://x.example/", "events": ["a"], "secret": SECRET}
    with pytest.raises(ConfigError, match="unique"):
        parse_config(with_subscriptions([sub, sub]))
