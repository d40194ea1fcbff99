"""Routes with rules, and deliveries as the endpoint hands them to routing."""

from __future__ import annotations

import json
from typing import Any

from webhook_gateway.config.routes import Route, parse_config
from webhook_gateway.routing.delivery import Delivery
from webhook_gateway.routing.plan import Planner

GITHUB = {"type": "github", "secret": {"env": "TEST_GITHUB_SECRET"}}
STRIPE = {"type": "stripe", "secret": {"env": "TEST_STRIPE_SECRET"}}


def github_route(*rules: dict[str, Any], **extra: Any) -> Route:
    body = {
        "path": "/webhooks/github",
        "verifier": GITHUB,
        "delivery_id": {"body_sha256": True},
        "rules": list(rules),
        **extra,
    }
    return parse_config({"routes": {"github": body}}).route("github")


def stripe_route(*rules: dict[str, Any], **extra: Any) -> Route:
    body = {"path": "/webhooks/stripe", "verifier": STRIPE, "rules": list(rules), **extra}
    return parse_config({"routes": {"stripe": body}}).route("stripe")


def planner(route: Route) -> Planner:
    return Planner(route, forwarded=route.forwarded_headers())


def delivery(body: Any, **headers: str) -> Delivery:
    raw = json.dumps(body).encode()
    lower = {k.replace("_", "-").lower(): v for k, v in headers.items()}
    return Delivery(headers=lower, body=body, raw=raw, content_type="application/json")
