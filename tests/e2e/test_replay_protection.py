"""A captured request replayed under a fresh id header starts nothing: end to end through a
real gateway and the dev server. The routes feed a task queue nobody polls."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from tests.support.gateway import serve_gateway
from tests.support.signing import ORDERS_SECRET, signed
from webhook_gateway.config.routes import HooktideConfig, parse_config

GITHUB_SECRET = "It's a Secret to Everybody"  # GitHub's documented test secret


def config(queue: str) -> HooktideConfig:
    std = {"type": "standard_webhooks", "secret": {"env": "REPLAY_STD_SECRET"}}
    github = {"type": "github", "secret": {"env": "REPLAY_GITHUB_SECRET"}}
    base = {"workflow": "W", "task_queue": queue}
    return parse_config(
        {
            "routes": {
                "svix": {"path": "/r/svix", "verifier": std, **base,
                         "delivery_id": {"header": "svix-id"}},
                "content": {"path": "/r/github", "verifier": github, **base,
                            "delivery_id": {"body_sha256": True}},
            }
        }
    )  # fmt: skip


@pytest.fixture(scope="module")
async def gateway(client: Client) -> AsyncIterator[httpx.AsyncClient]:
    queue = f"nobody-polls-replay-{uuid.uuid4().hex[:6]}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("REPLAY_STD_SECRET", ORDERS_SECRET)
        env.setenv("REPLAY_GITHUB_SECRET", GITHUB_SECRET)
        async with serve_gateway(config(queue), client=client) as http:
            yield http


def svix(headers: dict[str, str]) -> dict[str, str]:
    return {k.replace("webhook-", "svix-"): v for k, v in headers.items()}


async def test_svix_delivery_replayed_with_a_fresh_svix_id_starts_nothing(
    gateway: httpx.AsyncClient,
) -> None:
    body, headers = signed({"type": "invoice.paid", "n": uuid.uuid4().hex})
    first = await gateway.post("/r/svix", content=body, headers=svix(headers))
    # The captured signature moved to the webhook-* names, beside a fresh svix-id.
    moved = headers | {"svix-id": f"msg_{uuid.uuid4().hex}"}
    replayed = await gateway.post("/r/svix", content=body, headers=moved)
    # The same, without any svix-id: the signed webhook-id is the delivery id.
    bare = await gateway.post("/r/svix", content=body, headers=headers)

    assert first.status_code == 202, first.text
    assert first.json()["delivery_id"] == headers["webhook-id"]
    assert replayed.status_code == 401, replayed.text
    assert replayed.json()["type"].endswith("/malformed-header")
    assert bare.status_code == 202, bare.text
    assert bare.json()["delivery_id"] == headers["webhook-id"]
    assert bare.json()["duplicate"] is True


def github(body: bytes, delivery: str) -> dict[str, str]:
    digest = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "content-type": "application/json",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": "sha256=" + digest,
    }


async def test_github_body_replayed_under_fresh_delivery_ids_starts_one_workflow(
    gateway: httpx.AsyncClient, client: Client
) -> None:
    payload: dict[str, Any] = {"ref": "refs/heads/main", "after": uuid.uuid4().hex}
    body = json.dumps(payload).encode()
    answers = [
        await gateway.post("/r/github", content=body, headers=github(body, str(uuid.uuid4())))
        for _ in range(3)
    ]

    assert [a.status_code for a in answers] == [202, 202, 202], [a.text for a in answers]
    assert [a.json()["duplicate"] for a in answers] == [False, True, True]
    digest = hashlib.sha256(body).hexdigest()
    assert {a.json()["delivery_id"] for a in answers} == {digest}
    assert {a.json()["run_id"] for a in answers} == {answers[0].json()["run_id"]}
    described = await client.get_workflow_handle(f"content-{digest}").describe()
    assert described.run_id == answers[0].json()["run_id"]
