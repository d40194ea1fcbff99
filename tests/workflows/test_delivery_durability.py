"""The local first attempt on the dev server, in real time: longer than a workflow task's
timeout, and cut short by its worker's death (the worker as its own process, killed with -9
mid-attempt, then restarted, and a receiver that holds its first request open until then)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from activities.outbound import DeliveryInput, DeliveryTarget, delivery_search_attributes
from tests.support.gateway import serve
from tests.support.hooktide import clean_env
from tests.support.net import LOOPBACK_ONLY
from tests.support.peer import Peer, Reply
from tests.support.polling import eventually
from tests.support.repo import REPO
from tests.support.signing import ORDERS_SECRET
from tests.support.workers import outbound_worker
from webhook_gateway.contracts.outbound import delivery_workflow_id
from webhook_gateway.contracts.secrets import SecretSource
from webhook_gateway.dev.local_stack import LocalStack
from webhook_gateway.dev.temporal_server import TemporalDevServer
from workflows.outbound.delivery import WebhookDeliveryWorkflow

#: A worker process started twice and a workflow task that must time out: over 10 s.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("allow_loopback")]

SECRET_ENV = "TEST_DURABLE_WHSEC"


@dataclass
class Receiver:
    """Holds the first request open (its sender is about to die); answers 204 after."""

    ids: list[str] = field(default_factory=list)
    base: str = ""
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def hook(self, request: Request) -> Response:
        self.ids.append(request.headers["webhook-id"])
        if len(self.ids) == 1:
            await self.released.wait()
        return Response(status_code=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    app = Starlette(routes=[Route("/hook", recv.hook, methods=["POST"])])
    async with serve(app) as base:
        recv.base = base
        try:
            yield recv
        finally:
            recv.released.set()  # or the server waits for that request forever


async def listed(client: Client, workflow_id: str, status: str) -> int:
    query = f"WorkflowId = '{workflow_id}' AND HooktideStatus = '{status}'"
    return (await client.count_workflows(query)).count


async def test_a_worker_that_dies_during_the_first_attempt_sends_it_again_with_the_same_id(
    client: Client, dev_server: TemporalDevServer, receiver: Receiver, tmp_path: Path
) -> None:
    queue = f"durable-{uuid.uuid4().hex[:8]}"
    env = clean_env(
        TEMPORAL_ADDRESS=dev_server.address,
        HOOKTIDE_TASK_QUEUE=queue,
        HOOKTIDE_OUTBOUND_ALLOW=LOOPBACK_ONLY,
        **{SECRET_ENV: ORDERS_SECRET},
    )
    sub = f"durable-{uuid.uuid4().hex[:6]}"
    data = DeliveryInput(
        target=DeliveryTarget(
            subscription=sub, url=f"{receiver.base}/hook", secret=SecretSource(env=SECRET_ENV)
        ),
        msg_id=f"msg_{uuid.uuid4().hex}",
        payload={"type": "order.completed", "timestamp": "2026-01-01T00:00:00Z", "data": {}},
    )
    wid = delivery_workflow_id(data.msg_id, sub)
    async with LocalStack(tmp_path, env, cwd=REPO) as stack:
        stack.spawn_worker()
        await stack.ready("worker")
        # As start_delivery starts it, with a short workflow task timeout so the dead
        # worker's task is given up on quickly.
        handle = await client.start_workflow(
            WebhookDeliveryWorkflow.run,
            data,
            id=wid,
            task_queue=queue,
            search_attributes=delivery_search_attributes(data, "pending"),
            task_timeout=timedelta(seconds=2),
        )
        await eventually(lambda: receiver.ids, lambda ids: len(ids) == 1)
        assert await eventually(lambda: listed(client, wid, "pending"), lambda n: n == 1) == 1
        stack.kill("worker")
        await stack.restart("worker")
        result = await asyncio.wait_for(handle.result(), timeout=60)
    assert (result.outcome, result.attempts, result.last_status) == ("delivered", 1, 204)
    assert receiver.ids == [data.msg_id, data.msg_id]
    assert await eventually(lambda: listed(client, wid, "delivered"), lambda n: n == 1) == 1
    history = await handle.fetch_history()
    kinds = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT in kinds
    markers = [e.marker_recorded_event_attributes.marker_name for e in history.events]
    assert markers.count("core_local_activity") == 1


async def test_a_first_attempt_longer_than_the_workflow_task_timeout_is_made_once(
    client: Client, peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker heartbeats its workflow task (a new one at 80 % of the timeout) while the
    local attempt runs: the task never times out and the receiver is called once."""
    monkeypatch.setenv(SECRET_ENV, ORDERS_SECRET)
    peer.script("/slow", Reply(204, delay=3.0))
    sub = f"slow-{uuid.uuid4().hex[:6]}"
    data = DeliveryInput(
        target=DeliveryTarget(
            subscription=sub, url=peer.url("/slow"), secret=SecretSource(env=SECRET_ENV)
        ),
        msg_id=f"msg_{uuid.uuid4().hex}",
        payload={"type": "order.completed"},
    )
    async with outbound_worker(client) as queue:
        handle = await client.start_workflow(
            WebhookDeliveryWorkflow.run,
            data,
            id=delivery_workflow_id(data.msg_id, sub),
            task_queue=queue,
            search_attributes=delivery_search_attributes(data, "pending"),
            task_timeout=timedelta(seconds=1),
        )
        result = await asyncio.wait_for(handle.result(), timeout=60)
    assert (result.outcome, result.attempts, result.last_status) == ("delivered", 1, 204)
    assert len(peer.at("/slow")) == 1
    history = await handle.fetch_history()
    kinds = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT not in kinds
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) >= 2  # heartbeats
    markers = [e.marker_recorded_event_attributes.marker_name for e in history.events]
    assert markers.count("core_local_activity") == 1
