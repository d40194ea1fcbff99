"""Inbound security end to end: a real uvicorn gateway and the real dev server.

Routes feed a task queue nobody polls: Temporal accepting the start is what is checked."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from stripe import WebhookSignature
from temporalio.client import Client
from twilio.request_validator import RequestValidator

from tests.support.gateway import serve_gateway
from tests.support.temporal import workflow_exists
from webhook_gateway.config.routes import HooktideConfig, parse_config
from webhook_gateway.config.settings import Settings

SECRETS = {
    "TEST_GITHUB_SECRET": "gh-secret-for-tests",
    "TEST_STRIPE_SECRET": "whsec_stripe_for_tests",
    "TEST_SLACK_SECRET": "slack-signing-secret-for-tests",
    "TEST_TWILIO_TOKEN": "twilio-auth-token-for-tests",
    "TEST_BEARER_TOKEN": "bearer-token-for-tests",
}

PUBLIC_TWILIO_URL = "https://hooks.example.com/sec/twilio"


def security_config(queue: str) -> HooktideConfig:
    def route(path: str, verifier: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "path": path,
            "workflow": "OrderWorkflow",
            "task_queue": queue,
            "verifier": verifier,
            **extra,
        }

    def secret(name: str) -> dict[str, str]:
        return {"env": name}

    bearer = {"type": "bearer", "token": secret("TEST_BEARER_TOKEN")}
    return parse_config(
        {
            "routes": {
                "github": route(
                    "/sec/github", {"type": "github", "secret": secret("TEST_GITHUB_SECRET")}
                ),
                "stripe": route(
                    "/sec/stripe", {"type": "stripe", "secret": secret("TEST_STRIPE_SECRET")}
                ),
                "slack": route(
                    "/sec/slack", {"type": "slack", "secret": secret("TEST_SLACK_SECRET")}
                ),
                "twilio": route(
                    "/sec/twilio",
                    {"type": "twilio", "secret": secret("TEST_TWILIO_TOKEN")},
                    content_types=["application/x-www-form-urlencoded"],
                ),
                "allowlisted": route(
                    "/sec/allowlisted",
                    {"type": "github", "secret": secret("TEST_GITHUB_SECRET")},
                    allow_ips=["192.0.2.0/24", "2001:db8::/32"],
                ),
                "bearer": route(
                    "/sec/bearer", bearer, delivery_id={"header": "x-request-id", "unsigned": True}
                ),
                "limited": route(
                    "/sec/limited",
                    bearer,
                    delivery_id={"header": "x-request-id", "unsigned": True},
                    rate_limit={"requests": 2, "per_seconds": 3600},
                ),
            }
        }
    )


@pytest.fixture(scope="module")
def queue() -> str:
    return f"nobody-polls-security-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def secrets_env() -> Iterator[None]:
    """The routes' secrets in the environment while this module's gateways run."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in SECRETS.items():
            env.setenv(name, value)
        yield


@pytest.fixture(scope="module")
async def gateway(
    secrets_env: None, client: Client, queue: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_gateway(security_config(queue), client=client) as http:
        yield http


@pytest.fixture(scope="module")
async def behind_proxy(
    secrets_env: None, client: Client, queue: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The same routes, with the test client (127.0.0.1) trusted as a reverse proxy."""
    settings = Settings(HOOKTIDE_TRUSTED_PROXIES="127.0.0.1/32")
    async with serve_gateway(security_config(queue), settings, client=client) as http:
        yield http


def github(body: bytes, delivery: str | None = None) -> dict[str, str]:
    key = SECRETS["TEST_GITHUB_SECRET"].encode()
    return {
        "content-type": "application/json",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
    }


def slack(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    signer = SignatureVerifier(SECRETS["TEST_SLACK_SECRET"])
    signature = signer.generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {
        "content-type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }


async def test_slack_url_verification_is_answered_and_starts_no_workflow(
    gateway: httpx.AsyncClient, client: Client, queue: str
) -> None:
    challenge = uuid.uuid4().hex
    check = json.dumps({"token": "t", "challenge": challenge, "type": "url_verification"})
    answered = await gateway.post("/sec/slack", content=check, headers=slack(check.encode()))
    event_id = f"Ev{uuid.uuid4().hex[:10]}"
    event = json.dumps({"type": "event_callback", "event_id": event_id, "event": {}})
    started = await gateway.post("/sec/slack", content=event, headers=slack(event.encode()))

    assert answered.status_code == 200
    assert answered.json() == {"challenge": challenge}
    assert started.status_code == 202, started.text
    assert started.json()["delivery_id"] == event_id
    assert await workflow_exists(client, f"slack-{event_id}")


async def test_ip_outside_the_allowlist_is_403_logged_and_starts_nothing(
    gateway: httpx.AsyncClient, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    body = b'{"action": "opened"}'
    headers = github(body)
    with caplog.at_level(logging.WARNING, logger="hooktide.gateway"):
        response = await gateway.post("/sec/allowlisted", content=body, headers=headers)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/forbidden")
    assert "127.0.0.1" in response.json()["detail"]
    assert not await workflow_exists(client, "allowlisted-" + headers["X-GitHub-Delivery"])
    assert "route=allowlisted rejected reason=forbidden client_ip=127.0.0.1" in caplog.text


async def test_x_forwarded_for_is_honoured_only_from_a_trusted_proxy(
    gateway: httpx.AsyncClient, behind_proxy: httpx.AsyncClient, client: Client
) -> None:
    body = b'{"action": "opened"}'
    spoofed = github(body) | {"X-Forwarded-For": "192.0.2.10"}
    direct = await gateway.post("/sec/allowlisted", content=body, headers=spoofed)
    proxied_headers = github(body) | {"X-Forwarded-For": "192.0.2.10"}
    proxied = await behind_proxy.post("/sec/allowlisted", content=body, headers=proxied_headers)
    # The left-most hop is the client's own claim; the right-most untrusted hop counts.
    forged_chain = github(body) | {"X-Forwarded-For": "192.0.2.10, 198.51.100.7"}
    chained = await behind_proxy.post("/sec/allowlisted", content=body, headers=forged_chain)

    assert direct.status_code == 403
    assert proxied.status_code == 202, proxied.text
    assert chained.status_code == 403
    assert await workflow_exists(client, "allowlisted-" + proxied_headers["X-GitHub-Delivery"])
    assert not await workflow_exists(client, "allowlisted-" + forged_chain["X-GitHub-Delivery"])


async def test_rate_limit_gives_429_with_retry_after(gateway: httpx.AsyncClient) -> None:
    auth = {"authorization": f"Bearer {SECRETS['TEST_BEARER_TOKEN']}"}
    answers = [
        await gateway.post(
            "/sec/limited", json={"n": n}, headers=auth | {"x-request-id": uuid.uuid4().hex}
        )
        for n in range(3)
    ]

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[2].json()["type"].endswith("/rate-limited")
    assert 1 <= int(answers[2].headers["retry-after"]) <= 1800


async def test_github_default_delivery_id_dedupes(gateway: httpx.AsyncClient) -> None:
    body = b'{"action": "opened"}'
    delivery = str(uuid.uuid4())
    first = await gateway.post("/sec/github", content=body, headers=github(body, delivery))
    second = await gateway.post("/sec/github", content=body, headers=github(body, delivery))

    assert first.status_code == second.status_code == 202
    assert first.json()["delivery_id"] == delivery
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    assert second.json()["run_id"] == first.json()["run_id"]


async def test_stripe_default_delivery_id_is_the_event_id_in_the_body(
    gateway: httpx.AsyncClient,
) -> None:
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = json.dumps({"id": event_id, "type": "charge.succeeded"})
    answers = []
    for _ in range(2):  # a retry carries a fresh signature over the same event
        header = WebhookSignature.generate_signature_header(payload, SECRETS["TEST_STRIPE_SECRET"])
        headers = {"content-type": "application/json", "Stripe-Signature": header}
        answers.append(await gateway.post("/sec/stripe", content=payload, headers=headers))

    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json()["delivery_id"] == event_id
    assert [a.json()["duplicate"] for a in answers] == [False, True]


async def test_twilio_behind_a_trusted_proxy_is_checked_against_the_public_url(
    behind_proxy: httpx.AsyncClient, gateway: httpx.AsyncClient
) -> None:
    params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": "+15550001111", "Body": "hi"}
    signature = RequestValidator(SECRETS["TEST_TWILIO_TOKEN"]).compute_signature(
        PUBLIC_TWILIO_URL, params
    )
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "hooks.example.com",
    }
    body = urlencode(params)
    proxied = await behind_proxy.post("/sec/twilio", content=body, headers=headers)
    untrusted = await gateway.post("/sec/twilio", content=body, headers=headers)

    assert proxied.status_code == 202, proxied.text
    assert proxied.json()["delivery_id"] == params["MessageSid"]
    assert untrusted.status_code == 401
    assert untrusted.json()["type"].endswith("verification-failed/bad-signature")


@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("/sec/github", "X-Hub-Signature-256"),
        ("/sec/stripe", "Stripe-Signature"),
        ("/sec/slack", "X-Slack-Signature"),
        ("/sec/slack", "X-Slack-Request-Timestamp"),
        ("/sec/twilio", "X-Twilio-Signature"),
        ("/sec/bearer", "Authorization"),
    ],
)
async def test_hostile_header_bytes_through_the_gateway_are_always_401(
    gateway: httpx.AsyncClient, path: str, header: str
) -> None:
    media = "application/x-www-form-urlencoded" if "twilio" in path else "application/json"
    hostile: list[bytes] = [
        b"\xff\xfe\xfd",
        "sha256=é".encode(),
        b"x" * 7000,
        b"t=,v1=,v0=",
        b"Bearer \x80\x81",
        b"%%%",
        b"v0=" + b"z" * 64,
        b"99999999999999999999",
    ]
    statuses = set()
    for value in hostile:
        response = await gateway.post(
            path,
            content=b"{}",
            headers=[(b"content-type", media.encode()), (header.encode(), value)],
        )
        statuses.add(response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
    assert statuses == {401}
