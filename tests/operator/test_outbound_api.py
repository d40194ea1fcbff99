"""Outbound deliveries that gave up are marked failed, searchable (HooktideStatus), listed by
the CLI, shown and redriven through the operator API. On a real dev server with per-workflow
time skipping, so a delivery runs its whole three-day schedule in seconds."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.http.call_log import REDACTED
from activities.outbound import DeliveryInput, DeliveryTarget
from tests.support.gateway import serve, serve_gateway
from tests.support.hooktide import Ran, clean_env, hooktide
from tests.support.net import LOOPBACK_ONLY
from tests.support.peer import Peer, Reply
from tests.support.polling import eventually
from tests.support.signing import ORDERS_SECRET
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts import search_attributes
from webhook_gateway.contracts.outbound import delivery_workflow_id
from webhook_gateway.contracts.secrets import SecretSource
from webhook_gateway.dev.temporal_server import temporal_binary
from worker import build_worker
from workflows.outbound.delivery import SCHEDULE

#: Its own time-skipping dev server and the schedule of three deliveries: over 10 s to set up.
pytestmark = pytest.mark.slow

TOKEN = "outbound-operator-token-4d2e"
QUERY_SECRET = "subscriber-query-secret-9b1f"
SECRET_ENV = "TEST_OUTBOUND_API_WHSEC"
ROUTES = {
    "routes": {
        "orders": {
            "path": "/webhooks/orders",
            "workflow": "OrderWorkflow",
            "verifier": {"type": "standard_webhooks", "secret": {"env": "TEST_ORDERS_SECRET"}},
        }
    }
}


@dataclass(frozen=True)
class Deliveries:
    client: Client
    peer: Peer
    failed: str  # gave up, left alone
    to_redrive: str  # gave up, redriven by one test
    delivered: str
    subscription: str
    address: str


@pytest.fixture(scope="module")
async def skipping() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=[
            *search_attributes.dev_server_flags(),
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
        ],
        data_converter=pydantic_data_converter,
    )
    async with env:
        yield env


async def _deliver(client: Client, queue: str, peer: Peer, path: str, sub: str) -> str:
    msg_id = f"msg_{uuid.uuid4().hex}"
    target = DeliveryTarget(
        subscription=sub,
        url=peer.url(f"{path}?token={QUERY_SECRET}"),
        secret=SecretSource(env=SECRET_ENV),
    )
    payload = {"type": "order.failed", "timestamp": "2026-01-01T00:00:00Z", "data": {"n": 1}}
    handle = await client.start_workflow(
        "WebhookDeliveryWorkflow",
        DeliveryInput(target=target, msg_id=msg_id, payload=payload),
        id=delivery_workflow_id(msg_id, sub),
        task_queue=queue,
    )
    await handle.result()
    return handle.id


@pytest.fixture(scope="module")
async def deliveries(skipping: WorkflowEnvironment) -> AsyncIterator[Deliveries]:
    """Two deliveries that exhaust the schedule (503 every time) and one delivered."""
    peer = Peer()
    for path in ("/down", "/flaky", "/ok"):
        peer.verify(path, ORDERS_SECRET)
    peer.script("/down", Reply(503))
    peer.script("/flaky", Reply(503))
    client = skipping.client
    queue = f"outbound-api-{uuid.uuid4().hex[:8]}"
    sub = f"api-{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HOOKTIDE_OUTBOUND_ALLOW", LOOPBACK_ONLY)
        env.setenv(SECRET_ENV, ORDERS_SECRET)
        async with serve(peer.app) as base, build_worker(client, queue):
            peer.base = base
            failed, to_redrive, delivered = await asyncio.gather(
                *(_deliver(client, queue, peer, p, sub) for p in ("/down", "/flaky", "/ok"))
            )
            yield Deliveries(
                client=client,
                peer=peer,
                failed=failed,
                to_redrive=to_redrive,
                delivered=delivered,
                subscription=sub,
                address=client.service_client.config.target_host,
            )


@pytest.fixture
async def api(deliveries: Deliveries) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(HOOKTIDE_OPERATOR_TOKEN=TOKEN)
    config = parse_config(ROUTES)
    async with serve_gateway(config, settings, client=deliveries.client, timeout=30) as http:
        yield http


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_a_delivery_that_gave_up_is_found_by_hooktide_status_failed(
    deliveries: Deliveries,
) -> None:
    client = deliveries.client
    query = (
        f"HooktideStatus = 'failed' AND HooktideEndpoint = '{deliveries.subscription}' "
        "AND HooktideEventType = 'order.failed'"
    )

    async def ids() -> set[str]:
        return {e.id async for e in client.list_workflows(query)}

    found = await eventually(ids, lambda got: len(got) >= 2, timeout=15)

    assert found == {deliveries.failed, deliveries.to_redrive}
    desc = await client.get_workflow_handle(deliveries.delivered).describe()
    assert desc.typed_search_attributes.get(search_attributes.STATUS) == "delivered"
    assert (
        desc.typed_search_attributes.get(search_attributes.DELIVERY_ID)
        == (deliveries.delivered.split("-")[1])
    )


async def test_cli_lists_outbound_deliveries_by_outcome(
    deliveries: Deliveries, tmp_path: Path
) -> None:
    config = tmp_path / "routes.yaml"
    config.write_text(yaml.safe_dump(ROUTES), encoding="utf-8")
    env = clean_env(TEMPORAL_ADDRESS=deliveries.address, HOOKTIDE_CONFIG=str(config))

    def listed(outcome: str) -> Callable[[], Awaitable[Ran]]:
        return lambda: hooktide("deliveries", "list", "--outcome", outcome, "--json", env=env)

    failed = await eventually(listed("failed"), lambda r: deliveries.failed in r.out, timeout=15)
    delivered = await eventually(
        listed("delivered"), lambda r: deliveries.delivered in r.out, timeout=15
    )
    table = await hooktide("deliveries", "list", "--outbound", "--outcome", "failed", env=env)

    assert failed.code == 0, failed.err
    rows = {row["delivery_id"]: row for row in json.loads(failed.out)}
    assert deliveries.failed in rows and deliveries.delivered not in rows
    assert rows[deliveries.failed]["outcome"] == "failed"
    assert rows[deliveries.failed]["status"] == "completed"
    assert deliveries.delivered in {r["delivery_id"] for r in json.loads(delivered.out)}
    assert "OUTCOME" in table.out and deliveries.failed in table.out
    unknown = await hooktide("deliveries", "list", "--outcome", "lost", env=env)
    assert unknown.code == 1 and unknown.err.startswith("ConfigError: Unknown outcome")


async def test_status_shows_the_outcome_and_every_attempt_with_its_redacted_call(
    deliveries: Deliveries, api: httpx.AsyncClient
) -> None:
    response = await api.get(f"/outbound/{deliveries.failed}", headers=bearer())

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["execution_status"]) == ("failed", "completed")
    assert body["subscription"] == deliveries.subscription
    assert body["event_type"] == "order.failed"
    assert body["result"]["outcome"] == "failed" and body["result"]["attempts"] == len(SCHEDULE)
    attempts = body["attempts"]
    assert len(attempts) == len(SCHEDULE)
    assert [a["call"]["attempt"] for a in attempts] == list(range(1, len(SCHEDULE) + 1))
    assert {a["call"]["status"] for a in attempts} == {503}
    assert attempts[0]["call"]["url"] == deliveries.peer.url(f"/down?token={REDACTED}")
    assert attempts[0]["call"]["headers"]["webhook-signature"] == REDACTED
    signatures = {r.headers["webhook-signature"] for r in deliveries.peer.at("/down")}
    assert len(signatures) == len(SCHEDULE)
    for secret in (QUERY_SECRET, *signatures):
        assert secret not in response.text


async def test_status_by_webhook_id_and_subscription(
    deliveries: Deliveries, api: httpx.AsyncClient
) -> None:
    msg_id = deliveries.delivered.split("-")[1]

    response = await api.get(
        f"/outbound/{msg_id}",
        params={"subscription": deliveries.subscription},
        headers=bearer(),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["delivery_id"], body["msg_id"]) == (deliveries.delivered, msg_id)
    assert body["status"] == "delivered"
    assert [a["call"]["status"] for a in body["attempts"]] == [200]


async def test_redrive_starts_a_delivery_that_gave_up_again_and_only_that(
    deliveries: Deliveries, api: httpx.AsyncClient
) -> None:
    client = deliveries.client
    before = await client.get_workflow_handle(deliveries.to_redrive).describe()
    deliveries.peer.script("/flaky", Reply(200))

    response = await api.post(f"/outbound/{deliveries.to_redrive}/redrive", headers=bearer())

    assert response.status_code == 202, response.text
    started = response.json()
    assert started["workflow_id"] == deliveries.to_redrive
    assert started["run_id"] != before.run_id
    assert started["redrive_of"] == f"{deliveries.to_redrive}/{before.run_id}"
    handle = client.get_workflow_handle(deliveries.to_redrive, run_id=started["run_id"])
    assert (await handle.result())["outcome"] == "delivered"
    status = await api.get(f"/outbound/{deliveries.to_redrive}", headers=bearer())
    assert status.json()["status"] == "delivered"
    assert status.json()["redrive_of"] == started["redrive_of"]
    again = await api.post(f"/outbound/{deliveries.to_redrive}/redrive", headers=bearer())
    assert again.status_code == 409
    assert again.json()["type"].endswith("not-redrivable")
    delivered = await api.post(f"/outbound/{deliveries.delivered}/redrive", headers=bearer())
    assert delivered.status_code == 409


async def test_unknown_deliveries_are_404(deliveries: Deliveries, api: httpx.AsyncClient) -> None:
    missing = await api.get("/outbound/webhook-msg_nope-nobody", headers=bearer())
    redrive = await api.post("/outbound/webhook-msg_nope-nobody/redrive", headers=bearer())

    assert missing.status_code == redrive.status_code == 404
    assert missing.json()["type"].endswith("delivery-not-found")


async def test_the_operator_token_is_required(
    deliveries: Deliveries, api: httpx.AsyncClient
) -> None:
    path = f"/outbound/{deliveries.failed}"
    before = await deliveries.client.get_workflow_handle(deliveries.failed).describe()

    answers = [
        await api.get(path),
        await api.get(path, headers=bearer("not-the-token")),
        await api.post(f"{path}/redrive"),
        await api.post(f"{path}/redrive", headers=bearer("not-the-token")),
    ]

    assert [a.status_code for a in answers] == [401, 401, 401, 401]
    assert all("attempts" not in a.text for a in answers)
    after = await deliveries.client.get_workflow_handle(deliveries.failed).describe()
    assert after.run_id == before.run_id


async def test_without_an_operator_token_the_endpoints_are_off(deliveries: Deliveries) -> None:
    async with serve_gateway(parse_config(ROUTES), client=deliveries.client) as http:
        shown = await http.get(f"/outbound/{deliveries.failed}", headers=bearer())
        redriven = await http.post(f"/outbound/{deliveries.failed}/redrive", headers=bearer())

    assert shown.status_code == redriven.status_code == 403
