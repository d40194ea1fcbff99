"""What each verifier type asks of a request, as OpenAPI: required header parameters, or a
security scheme where OpenAPI has one (Authorization headers may not be parameters)."""

from __future__ import annotations

from typing import Any

from webhook_gateway.config.routes import Route
from webhook_gateway.verifiers.api_key import ApiKeyConfig
from webhook_gateway.verifiers.hmac_signature import HmacConfig

HEADERS: dict[str, list[tuple[str, str]]] = {
    "standard_webhooks": [
        ("webhook-id", "The message id (also the delivery id)."),
        ("webhook-timestamp", "Unix seconds; must be within the tolerance window."),
        ("webhook-signature", "Space-separated `v1,<base64 HMAC-SHA256>` entries."),
    ],
    "standard_webhooks_v1a": [
        ("webhook-id", "The message id (also the delivery id)."),
        ("webhook-timestamp", "Unix seconds; must be within the tolerance window."),
        ("webhook-signature", "Space-separated `v1a,<base64 ed25519 signature>` entries."),
    ],
    "github": [("X-Hub-Signature-256", "`sha256=<hex HMAC-SHA256 of the body>`.")],
    "stripe": [("Stripe-Signature", "`t=<unix seconds>,v1=<hex HMAC-SHA256>`.")],
    "shopify": [("X-Shopify-Hmac-Sha256", "Base64 HMAC-SHA256 of the body.")],
    "slack": [
        ("X-Slack-Signature", "`v0=<hex HMAC-SHA256 of v0:{timestamp}:{body}>`."),
        ("X-Slack-Request-Timestamp", "Unix seconds; must be within the tolerance window."),
    ],
    "twilio": [("X-Twilio-Signature", "Base64 HMAC of the URL and sorted form parameters.")],
    "zoom": [
        ("x-zm-signature", "`v0=<hex HMAC-SHA256 of v0:{timestamp}:{body}>`."),
        ("x-zm-request-timestamp", "Unix seconds; must be within the tolerance window."),
    ],
    "meta": [("X-Hub-Signature-256", "`sha256=<hex HMAC-SHA256 of the body>` (app secret).")],
    # microsoft_graph: no header; the secret is each notification's `clientState`, in the body.
    "microsoft_graph": [],
}
SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "basic": {"type": "http", "scheme": "basic"},
}


def header_parameters(route: Route) -> list[dict[str, Any]]:
    """The verifier's required headers, then the delivery id's header if it is another."""
    cfg = route.verifier
    pairs = list(HEADERS.get(cfg.type, []))
    if isinstance(cfg, HmacConfig):
        pairs.append((cfg.header, f"`{cfg.prefix}<{cfg.encoding} HMAC-{cfg.algorithm}>`."))
        if cfg.timestamp_header:
            pairs.append((cfg.timestamp_header, "Unix seconds, within the tolerance window."))
    rule = route.delivery_id_rule
    if rule.header and rule.header not in {name.lower() for name, _ in pairs}:
        pairs.append(
            (rule.header, "The delivery id: a redelivery with the same id starts nothing.")
        )
    return [
        {
            "name": name,
            "in": "header",
            "required": True,
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text in pairs
    ]


def security(route: Route) -> tuple[str, dict[str, Any]] | None:
    """(scheme name, scheme) for verifiers that OpenAPI describes as security schemes."""
    cfg = route.verifier
    name = f"route-{route.name}"
    if isinstance(cfg, ApiKeyConfig):
        return name, {"type": "apiKey", "in": "header", "name": cfg.header}
    scheme = SCHEMES.get(cfg.type)
    return (name, scheme) if scheme else None
