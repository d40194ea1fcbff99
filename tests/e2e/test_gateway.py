"""End to end: a real uvicorn gateway, the real dev server on SQLite, a real worker."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from tests.support.gateway import serve_gateway
from tests.support.routes import ORDERS_VERIFIER, e2e_config
from tests.support.signing import OTHER_SECRET, order_payload, signed
from tests.support.temporal import workflow_exists
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings

OPERATOR_TOKEN = "test-operator-token"


@pytest.fixture(scope="module")
async def gateway(client: Client, task_queue: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(HOOKTIDE_OPERATOR_TOKEN=OPERATOR_TOKEN)
    async with serve_gateway(e2e_config(task_queue), settings, client=client) as http:
        yield http


async def test_signed_request_starts_one_workflow_that_completes(
    gateway: httpx.AsyncClient, client: Client
) -> None:
    body, headers = signed(order_payload("A-100"))
    response = await gateway.post("/webhooks/orders", content=body, headers=headers)

    assert response.status_code == 202, response.text
    ack = response.json()
    assert ack["delivery_id"] == headers["webhook-id"]
    assert ack["workflow_id"] == "order-" + headers["webhook-id"]
    assert ack["duplicate"] is False
    handle = client.get_workflow_handle(ack["workflow_id"], run_id=ack["run_id"])
    result = await handle.result()
    assert result["status"] == "accepted"
    assert result["order_id"] == "A-100"
    assert result["total"] == "19.00"


async def test_duplicate_while_open_returns_the_same_run(
    gateway: httpx.AsyncClient, client: Client
) -> None:
    body, headers = signed(order_payload())
    first = await gateway.post("/webhooks/unserved", content=body, headers=headers)
    # A fresh signature, as a sender's retry would carry: same webhook-id.
    body, headers = signed(order_payload(), msg_id=headers["webhook-id"])
    second = await gateway.post("/webhooks/unserved", content=body, headers=headers)

    assert first.status_code == second.status_code == 202
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    assert second.json()["run_id"] == first.json()["run_id"]
    desc = await client.get_workflow_handle(first.json()["workflow_id"]).describe()
    assert desc.status == WorkflowExecutionStatus.RUNNING
    await client.get_workflow_handle(first.json()["workflow_id"]).terminate("test over")


async def test_duplicate_after_close_starts_nothing(
    gateway: httpx.AsyncClient, client: Client
) -> None:
    body, headers = signed(order_payload())
    first = await gateway.post("/webhooks/orders", content=body, headers=headers)
    workflow_id = first.json()["workflow_id"]
    await client.get_workflow_handle(workflow_id).result()

    body, headers = signed(order_payload(), msg_id=headers["webhook-id"])
    second = await gateway.post("/webhooks/orders", content=body, headers=headers)

    assert second.status_code == 202
    assert second.json() == {**first.json(), "duplicate": True}
    runs = [wf async for wf in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    assert len({wf.run_id for wf in runs}) <= 1  # visibility may lag, but never shows two
    desc = await client.get_workflow_handle(workflow_id).describe()
    assert desc.run_id == first.json()["run_id"]


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("forged", "bad-signature"),
        ("expired", "timestamp-expired"),
        ("future", "timestamp-in-future"),
        ("unsigned", "missing-header"),
        ("garbled", "malformed-header"),
    ],
)
async def test_unverified_request_is_401_and_starts_nothing(
    gateway: httpx.AsyncClient, client: Client, tamper: str, reason: str
) -> None:
    now = int(time.time())
    if tamper == "forged":
        body, headers = signed(order_payload(), secret=OTHER_SECRET)
    elif tamper == "expired":
        body, headers = signed(order_payload(), timestamp=now - 301)
    elif tamper == "future":
        body, headers = signed(order_payload(), timestamp=now + 301)
    else:
        body, headers = signed(order_payload())
        if tamper == "unsigned":
            del headers["webhook-signature"]
        else:
            headers["webhook-signature"] = "v1,%%%not-base64 v2,abc"

    response = await gateway.post("/webhooks/orders", content=body, headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith(f"verification-failed/{reason}")
    assert problem["status"] == 401
    assert not await workflow_exists(client, "order-" + headers["webhook-id"])


async def test_tampered_body_is_401(gateway: httpx.AsyncClient, client: Client) -> None:
    body, headers = signed(order_payload("A-1"))
    response = await gateway.post(
        "/webhooks/orders", content=body.replace(b"A-1", b"A-2"), headers=headers
    )
    assert response.status_code == 401
    assert not await workflow_exists(client, "order-" + headers["webhook-id"])


async def test_oversize_body_is_413_with_or_without_content_length(
    gateway: httpx.AsyncClient, client: Client
) -> None:
    big = order_payload() | {"padding": "x" * 5000}
    body, headers = signed(big)
    declared = await gateway.post("/webhooks/orders", content=body, headers=headers)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    chunked = await gateway.post("/webhooks/orders", content=chunks(), headers=headers)

    assert declared.status_code == 413
    assert chunked.status_code == 413
    assert chunked.json()["type"].endswith("body-too-large")
    assert not await workflow_exists(client, "order-" + headers["webhook-id"])


async def test_wrong_content_type_is_415(gateway: httpx.AsyncClient) -> None:
    body, headers = signed(order_payload())
    headers["content-type"] = "text/plain"
    response = await gateway.post("/webhooks/orders", content=body, headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


async def test_malformed_json_is_400_after_verification(gateway: httpx.AsyncClient) -> None:
    body, headers = signed(b'{"id": ')
    response = await gateway.post("/webhooks/orders", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["type"].endswith("malformed-body")


async def test_missing_delivery_id_in_body_is_422(gateway: httpx.AsyncClient) -> None:
    body, headers = signed({"event": {"type": "order"}})
    response = await gateway.post("/webhooks/by-body", content=body, headers=headers)
    assert response.status_code == 422
    assert "event.id" in response.json()["detail"]


async def test_delivery_id_from_body_jmespath(gateway: httpx.AsyncClient) -> None:
    event_id = f"evt_{uuid.uuid4().hex}"
    body, headers = signed(order_payload() | {"event": {"id": event_id}})
    response = await gateway.post("/webhooks/by-body", content=body, headers=headers)
    assert response.status_code == 202
    assert response.json()["delivery_id"] == event_id
    assert response.json()["workflow_id"] == f"orders-by-body-{event_id}"


async def test_unknown_route_and_wrong_method_are_problems(gateway: httpx.AsyncClient) -> None:
    missing = await gateway.post("/webhooks/nope", content=b"{}")
    wrong = await gateway.get("/webhooks/orders")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert wrong.json()["type"].endswith("method-not-allowed")


async def test_signal_to_missing_workflow_is_404(gateway: httpx.AsyncClient) -> None:
    body, headers = signed({"comment": "hello?"})
    response = await gateway.post(
        f"/tickets/none-{uuid.uuid4().hex}/comments", content=body, headers=headers
    )
    assert response.status_code == 404
    assert response.json()["type"].endswith("workflow-not-found")


async def test_signal_with_start_then_signal_then_update_reply(
    gateway: httpx.AsyncClient, client: Client
) -> None:
    ticket = uuid.uuid4().hex[:10]
    body, headers = signed({"comment": "first"})
    opened = await gateway.post(f"/tickets/{ticket}", content=body, headers=headers)
    # The same delivery again: the workflow dedupes signals by delivery id.
    body, headers = signed({"comment": "first"}, msg_id=headers["webhook-id"])
    await gateway.post(f"/tickets/{ticket}", content=body, headers=headers)
    body, headers = signed({"comment": "second"})
    commented = await gateway.post(f"/tickets/{ticket}/comments", content=body, headers=headers)
    body, headers = signed({"comment": "third"})
    replied = await gateway.post(f"/tickets/{ticket}/reply", content=body, headers=headers)
    body, headers = signed({"comment": "third"}, msg_id=headers["webhook-id"])
    replayed = await gateway.post(f"/tickets/{ticket}/reply", content=body, headers=headers)

    assert opened.status_code == 202
    assert opened.json()["workflow_id"] == f"ticket-{ticket}"
    assert commented.status_code == 202
    assert replied.status_code == 200, replied.text
    expected = {"ticket_id": f"ticket-{ticket}", "status": "open"}
    assert replied.json() == expected | {"comments": ["first", "second", "third"]}
    assert replayed.json() == replied.json()  # the update ran once; both callers get its reply
    await client.get_workflow_handle(f"ticket-{ticket}").terminate("test over")


async def test_update_starts_the_workflow_when_missing(
    gateway: httpx.AsyncClient, client: Client
) -> None:
    ticket = uuid.uuid4().hex[:10]
    body, headers = signed({"comment": "hi"})
    response = await gateway.post(f"/tickets/{ticket}/reply", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["comments"] == ["hi"]
    await client.get_workflow_handle(f"ticket-{ticket}").terminate("test over")


async def test_update_without_worker_reply_in_time_is_503(
    client: Client,
) -> None:
    config = e2e_config(f"nobody-polls-{uuid.uuid4().hex[:6]}")
    config = parse_config(
        {
            "routes": [
                config.route("replies")
                .model_copy(update={"reply_timeout_seconds": 1.0})
                .model_dump(mode="json")
            ]
        }
    )
    ticket = uuid.uuid4().hex[:10]
    async with serve_gateway(config, client=client) as http:
        body, headers = signed({"comment": "hi"})
        started = time.monotonic()
        response = await http.post(f"/tickets/{ticket}/reply", content=body, headers=headers)
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert elapsed < 3
    await client.get_workflow_handle(f"ticket-{ticket}").terminate("test over")


async def test_delivery_status_needs_the_operator_token(
    gateway: httpx.AsyncClient, client: Client
) -> None:
    body, headers = signed(order_payload("S-1"))
    ack = (await gateway.post("/webhooks/orders", content=body, headers=headers)).json()
    await client.get_workflow_handle(ack["workflow_id"]).result()

    anonymous = await gateway.get(f"/deliveries/{ack['delivery_id']}")
    wrong = await gateway.get(
        f"/deliveries/{ack['delivery_id']}", headers={"authorization": "Bearer nope"}
    )
    status = await gateway.get(
        f"/deliveries/{ack['delivery_id']}",
        headers={"authorization": f"Bearer {OPERATOR_TOKEN}"},
    )
    unknown = await gateway.get(
        "/deliveries/never-seen", headers={"authorization": f"Bearer {OPERATOR_TOKEN}"}
    )

    assert anonymous.status_code == wrong.status_code == 401
    assert status.status_code == 200
    assert status.json()["status"] == "COMPLETED"
    assert status.json()["run_id"] == ack["run_id"]
    assert status.json()["result"]["order_id"] == "S-1"
    assert unknown.status_code == 404


async def test_health_and_readiness(gateway: httpx.AsyncClient) -> None:
    assert (await gateway.get("/healthz")).json() == {"status": "ok"}
    ready = await gateway.get("/readyz")
    assert ready.status_code == 200


async def test_concurrent_duplicates_start_exactly_one_workflow(
    gateway: httpx.AsyncClient,
) -> None:
    msg_id = f"msg_{uuid.uuid4().hex}"
    requests = [signed(order_payload(), msg_id=msg_id) for _ in range(10)]
    responses = await asyncio.gather(
        *(gateway.post("/webhooks/orders", content=b, headers=h) for b, h in requests)
    )
    assert {r.status_code for r in responses} == {202}
    assert sum(not r.json()["duplicate"] for r in responses) == 1
    assert len({r.json()["run_id"] for r in responses}) == 1


async def test_a_reply_that_is_not_a_webhook_reply_is_502_not_pending(client: Client) -> None:
    from tests.support.workers import outbound_worker

    async with outbound_worker(client) as queue:
        config = parse_config(
            {
                "routes": {
                    "bad-replies": {
                        "path": "/webhooks/bad/{ticket}",
                        "mode": "update",
                        "workflow": "BadReplyWorkflow",
                        "task_queue": queue,
                        "delivery_id": {"header": "webhook-id"},
                        "workflow_id": {"path_param": "ticket", "prefix": "bad-"},
                        "verifier": ORDERS_VERIFIER,
                    }
                }
            }
        )
        async with serve_gateway(config, client=client) as http:
            body, headers = signed({"comment": "x"})
            answer = await http.post(
                f"/webhooks/bad/{uuid.uuid4().hex[:8]}", content=body, headers=headers
            )
    assert answer.status_code == 502, answer.text
    assert answer.json()["type"].endswith("/bad-workflow-reply")
