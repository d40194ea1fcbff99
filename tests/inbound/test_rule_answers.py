"""What a route answers before and without Temporal: senders' handshakes, ignored events,
schema mismatches and unverified requests, through a real gateway server."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.gateway import GatewayClient, serve_gateway
from tests.support.repo import REPO
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings

ZOOM_SECRET = "zoom-secret-token-0123456789"
META_SECRET = "0123456789abcdef0123456789abcdef"
VERIFY_TOKEN = "a-verify-token-of-our-own-choosing"
CLIENT_STATE = "graph-client-state-0123456789"
STRIPE_SECRET = "whsec_stripe-answers-secret-012345"


@pytest.fixture
async def gateway(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[GatewayClient]:
    monkeypatch.setenv("T_ZOOM", ZOOM_SECRET)
    monkeypatch.setenv("T_META", META_SECRET)
    monkeypatch.setenv("T_META_TOKEN", VERIFY_TOKEN)
    monkeypatch.setenv("T_GRAPH", CLIENT_STATE)
    monkeypatch.setenv("T_STRIPE", STRIPE_SECRET)
    ignore_all = {"rules": [{"name": "never", "events": ["never.*"], "workflow": "W"}]}
    config = parse_config(
        {
            "routes": {
                "zoom": {
                    "path": "/webhooks/zoom",
                    "verifier": {"type": "zoom", "secret": {"env": "T_ZOOM"}},
                    **ignore_all,
                },
                "meta": {
                    "path": "/webhooks/meta",
                    "verifier": {
                        "type": "meta",
                        "secret": {"env": "T_META"},
                        "verify_token": {"env": "T_META_TOKEN"},
                    },
                    **ignore_all,
                },
                "graph": {
                    "path": "/webhooks/graph",
                    "content_types": ["application/json", "text/plain"],
                    "delivery_id": {"body_sha256": True, "unsigned": True},
                    "verifier": {"type": "microsoft_graph", "client_state": {"env": "T_GRAPH"}},
                    **ignore_all,
                },
                "orders": {
                    "path": "/webhooks/orders",
                    "workflow": "OrderWorkflow",
                    "schema": "schemas/order.json",
                    "verifier": {"type": "stripe", "secret": {"env": "T_STRIPE"}},
                    "delivery_id": {"jmespath": "id"},
                },
                "twilio-like": {
                    "path": "/webhooks/sms",
                    "verifier": {"type": "stripe", "secret": {"env": "T_STRIPE"}},
                    "rules": [{"name": "never", "events": ["never"], "workflow": "W"}],
                    "ack": {
                        "status": 200,
                        "content_type": "text/xml",
                        "body": "<Response><!-- $delivery_id --></Response>",
                    },
                },
            }
        },
        base_dir=REPO,
    )
    settings = Settings(
        TEMPORAL_ADDRESS="127.0.0.1:9", HOOKTIDE_OPERATOR_TOKEN="op-token-0123456789"
    )
    async with serve_gateway(config, settings) as http:
        yield http


def stripe_signed(body: Any) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    now = int(time.time())
    mac = hmac.new(STRIPE_SECRET.encode(), f"{now}.".encode() + raw, hashlib.sha256).hexdigest()
    return raw, {"content-type": "application/json", "stripe-signature": f"t={now},v1={mac}"}


async def test_metas_subscription_check_is_answered_with_the_challenge(
    gateway: GatewayClient,
) -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.challenge": "1158201444",
        "hub.verify_token": VERIFY_TOKEN,
    }
    answer = await gateway.get("/webhooks/meta", params=query)
    assert answer.status_code == 200
    assert answer.text == "1158201444"
    assert answer.headers["content-type"].startswith("text/plain")
    wrong = await gateway.get("/webhooks/meta", params={**query, "hub.verify_token": "guess"})
    assert wrong.status_code == 403
    assert wrong.headers["content-type"] == "application/problem+json"
    assert "guess" not in wrong.text and VERIFY_TOKEN not in wrong.text
    # A GET that is not the check: the route takes POST only.
    other = await gateway.get("/webhooks/meta")
    assert other.status_code == 405
    assert other.headers["allow"] == "POST"


async def test_graphs_validation_token_is_echoed_as_plain_text(gateway: GatewayClient) -> None:
    answer = await gateway.post(
        "/webhooks/graph", params={"validationToken": "Validation: Testing client application"}
    )
    assert answer.status_code == 200
    assert answer.text == "Validation: Testing client application"
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["x-content-type-options"] == "nosniff"
    unverified = await gateway.post("/webhooks/graph", json={"value": [{"clientState": "x"}]})
    assert unverified.status_code == 401


async def test_zooms_url_validation_is_answered_once_verified(gateway: GatewayClient) -> None:
    raw = json.dumps(
        {"event": "endpoint.url_validation", "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}}
    ).encode()
    stamp = str(int(time.time()))
    mac = hmac.new(ZOOM_SECRET.encode(), f"v0:{stamp}:".encode() + raw, hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "x-zm-request-timestamp": stamp,
        "x-zm-signature": f"v0={mac}",
    }
    answer = await gateway.post("/webhooks/zoom", content=raw, headers=headers)
    assert answer.status_code == 200
    expected = hmac.new(ZOOM_SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert answer.json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}
    headers["x-zm-signature"] = "v0=" + "0" * 64
    assert (await gateway.post("/webhooks/zoom", content=raw, headers=headers)).status_code == 401


async def test_a_body_that_misses_the_schema_is_422_with_pointers_and_is_not_logged(
    gateway: GatewayClient, caplog: pytest.LogCaptureFixture
) -> None:
    order = {"id": "evt_1", "customer": {"id": "c", "email": "not-an-email"}, "lines": []}
    raw, headers = stripe_signed(order)
    with caplog.at_level("INFO"):
        answer = await gateway.post("/webhooks/orders", content=raw, headers=headers)
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["type"].endswith("/schema-mismatch")
    assert {e["pointer"] for e in problem["errors"]} == {"/customer/email", "/lines"}
    assert "not-an-email" not in caplog.text  # the body is never logged


async def test_an_ack_template_answers_what_the_sender_expects(gateway: GatewayClient) -> None:
    raw, headers = stripe_signed({"id": "evt_<&>", "type": "message.received"})
    answer = await gateway.post("/webhooks/sms", content=raw, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")
    assert answer.text == "<Response><!-- evt_&lt;&amp;&gt; --></Response>"


async def test_explain_endpoint_needs_the_operator_token_and_dry_runs(
    gateway: GatewayClient,
) -> None:
    sample = {"body": {"id": "evt_1", "type": "never.seen"}}
    assert (await gateway.post("/routes/twilio-like/explain", json=sample)).status_code == 401
    auth = {"authorization": "Bearer op-token-0123456789"}
    answer = await gateway.post("/routes/twilio-like/explain", json=sample, headers=auth)
    assert answer.status_code == 200
    report = answer.json()
    assert report["event_type"] == "never.seen"
    assert report["rules"] == [
        {
            "rule": "never",
            "matched": False,
            "reason": "event type 'never.seen' is not one of ['never']",
            "chosen": False,
        }
    ]
    assert report["outcome"] == "ignored"
    missing = await gateway.post("/routes/nope/explain", json=sample, headers=auth)
    assert missing.status_code == 404
    bad = await gateway.post("/routes/orders/explain", content=b"[1]", headers=auth)
    assert bad.status_code == 400
