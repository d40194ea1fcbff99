"""`GET /openapi.json` describes every route, method and required header, and validates."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from temporalio.client import Client

from tests.support.gateway import serve_gateway
from tests.support.repo import REPO
from webhook_gateway.config.reserved import OPERATOR_PATHS
from webhook_gateway.config.routes import HooktideConfig, load_config, parse_config
from webhook_gateway.dev.stack import DEV_ENV
from webhook_gateway.operator.openapi import openapi_document

SECRET = {"env": "TEST_ORDERS_SECRET"}


def every_verifier() -> HooktideConfig:
    def route(path: str, verifier: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"path": path, "workflow": "W", "verifier": verifier, **extra}

    by_header = {"delivery_id": {"header": "x-delivery-id", "unsigned": True}}
    return parse_config(
        {
            "routes": {
                "std": route("/std", {"type": "standard_webhooks", "secret": SECRET}),
                "gh": route("/gh", {"type": "github", "secret": SECRET}, methods=["POST", "PUT"]),
                "stripe": route("/stripe", {"type": "stripe", "secret": SECRET}),
                "shop": route("/shop", {"type": "shopify", "secret": SECRET}),
                "slack": route("/slack", {"type": "slack", "secret": SECRET}),
                "hmac": route(
                    "/hmac",
                    {
                        "type": "hmac",
                        "secret": SECRET,
                        "header": "X-Acme-Signature",
                        "timestamp_header": "X-Acme-Timestamp",
                        "signed_content": "{timestamp}.{body}",
                    },
                    **by_header,
                ),
                "bearer": route("/bearer", {"type": "bearer", "token": SECRET}, **by_header),
                "key": route(
                    "/key", {"type": "api_key", "key": SECRET, "header": "X-Key"}, **by_header
                ),
                "basic": route(
                    "/basic", {"type": "basic", "username": "u", "password": SECRET}, **by_header
                ),
                "param": route(
                    "/t/{ticket}",
                    {"type": "standard_webhooks", "secret": SECRET},
                    mode="update",
                    workflow_id={"path_param": "ticket"},
                ),
            }
        }
    )


def _headers(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation["parameters"] if p["in"] == "header" and p["required"]}


def test_document_for_every_verifier_type_is_valid_openapi() -> None:
    validate(openapi_document(every_verifier()))


def test_every_operator_endpoint_is_described_with_its_methods() -> None:
    paths = openapi_document(every_verifier())["paths"]

    for operator_path in OPERATOR_PATHS:
        if operator_path.example:
            assert operator_path.openapi_path not in paths
            continue
        methods = {m.lower() for m in operator_path.methods}
        assert set(paths[operator_path.openapi_path]) == methods, operator_path


def test_every_route_and_method_is_described_with_problem_responses() -> None:
    config = every_verifier()
    paths = openapi_document(config)["paths"]

    for route in config.routes:
        for method in route.methods:
            operation = paths[route.path][method.lower()]
            assert operation["operationId"] == f"{route.name}-{method.lower()}"
            for status in ("400", "401", "413", "415", "422", "503"):
                assert "application/problem+json" in operation["responses"][status]["content"]
    assert set(paths) >= {"/healthz", "/readyz", "/deliveries/{delivery_id}", "/metrics"}
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]


def test_each_route_names_the_headers_its_verifier_requires() -> None:
    paths = openapi_document(every_verifier())["paths"]

    assert _headers(paths["/std"]["post"]) == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
    assert _headers(paths["/gh"]["put"]) == {"X-Hub-Signature-256", "x-github-delivery"}
    assert _headers(paths["/stripe"]["post"]) == {"Stripe-Signature"}
    assert _headers(paths["/shop"]["post"]) == {"X-Shopify-Hmac-Sha256", "x-shopify-webhook-id"}
    assert _headers(paths["/slack"]["post"]) == {"X-Slack-Signature", "X-Slack-Request-Timestamp"}
    assert _headers(paths["/hmac"]["post"]) == {
        "X-Acme-Signature",
        "X-Acme-Timestamp",
        "x-delivery-id",
    }
    assert "200" in paths["/t/{ticket}"]["post"]["responses"]


def test_credential_verifiers_are_security_schemes_not_header_parameters() -> None:
    document = openapi_document(every_verifier())
    paths, schemes = document["paths"], document["components"]["securitySchemes"]

    assert paths["/bearer"]["post"]["security"] == [{"route-bearer": []}]
    assert schemes["route-bearer"] == {"type": "http", "scheme": "bearer"}
    assert schemes["route-basic"] == {"type": "http", "scheme": "basic"}
    assert schemes["route-key"] == {"type": "apiKey", "in": "header", "name": "X-Key"}
    assert _headers(paths["/bearer"]["post"]) == {"x-delivery-id"}
    assert "security" not in paths["/std"]["post"]


async def test_the_served_document_for_the_shipped_route_file_validates(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in DEV_ENV.items():
        monkeypatch.setenv(key, value)
    config = load_config(REPO / "hooktide.yaml")
    async with serve_gateway(config, client=client) as http:
        response = await http.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert {r.path for r in config.routes} <= set(document["paths"])


def test_schemas_and_rule_answers_appear_for_their_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(REPO / "hooktide.yaml")
    document = openapi_document(config)
    validate(document)
    orders = document["paths"]["/webhooks/orders"]["post"]
    body = orders["requestBody"]["content"]["application/json"]["schema"]
    assert body["title"] == "Order" and "lines" in body["required"]
    github = document["paths"]["/webhooks/github"]["post"]
    assert github["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RoutedAck"
    }
    assert github["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Ignored"
    }
    assert "deploy-main: start DeployWorkflow" in github["summary"]
    assert "/routes/{name}/explain" in document["paths"]
    problem = document["components"]["schemas"]["Problem"]["properties"]
    assert problem["errors"]["items"]["properties"]["pointer"] == {"type": "string"}
