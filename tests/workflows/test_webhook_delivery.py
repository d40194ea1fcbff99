"""Outbound webhooks on the time-skipping server, delivered to a real HTTP peer that checks
every signature with the `standardwebhooks` reference library."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from activities.outbound import (
    DeliveryInput,
    DeliveryTarget,
    EndpointState,
    endpoint_workflow_id,
    start_delivery,
)
from tests.support.flows import EmitInput, EmitterWorkflow
from tests.support.peer import Peer, Reply
from tests.support.signing import ORDERS_SECRET, OTHER_SECRET
from tests.support.workers import outbound_worker
from webhook_gateway.contracts import search_attributes as sa
from webhook_gateway.contracts.secrets import SecretSource
from workflows.outbound.delivery import DeliveryResult, WebhookDeliveryWorkflow

#: The peers live on loopback, which the SSRF guard refuses unless allowlisted.
pytestmark = pytest.mark.usefixtures("allow_loopback")

SECRET_ENV = "TEST_OUTBOUND_WHSEC"
STANDARD_WAITS = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
]


@pytest.fixture(autouse=True)
def outbound_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, ORDERS_SECRET)


def target(peer: Peer, path: str = "/hook", **extra: Any) -> DeliveryTarget:
    return DeliveryTarget(
        subscription=f"sub-{uuid.uuid4().hex[:8]}",
        url=peer.url(path),
        secret=SecretSource(env=SECRET_ENV),
        **extra,
    )


async def deliver(
    client: Client, queue: str, to: DeliveryTarget, data: Any = None
) -> tuple[DeliveryResult, WorkflowHandle[Any, Any]]:
    """One delivery started as `publish_event` starts it, until its result."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    payload = {"type": "order.completed", "timestamp": "2026-01-01T00:00:00Z", "data": data}
    handle = await start_delivery(
        client, DeliveryInput(target=to, msg_id=msg_id, payload=payload), task_queue=queue
    )
    return DeliveryResult.model_validate(await handle.result()), handle


async def timers(handle: WorkflowHandle[Any, Any]) -> list[timedelta]:
    history = await handle.fetch_history()
    return [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]


def steps(history: WorkflowHistory) -> list[str]:
    """What a run wrote, in order: each workflow task ("task"), marker (by name), search
    attribute upsert ("status=..." or "+<keys>"), timer and activity."""
    out: list[str] = []
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            out.append("task")
        elif e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            out.append(e.marker_recorded_event_attributes.marker_name)
        elif e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = e.upsert_workflow_search_attributes_event_attributes.search_attributes
            status = fields.indexed_fields.get("HooktideStatus")
            out.append(
                f"status={json.loads(status.data)}"
                if status is not None
                else "+" + ",".join(sorted(fields.indexed_fields))
            )
        elif e.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            out.append("timer")
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            out.append(f"activity {e.activity_task_scheduled_event_attributes.activity_type.name}")
    return out


#: The patch marker and the SDK's TemporalChangeVersion upsert open every new run.
PATCHED = ["task", "core_patch", "+TemporalChangeVersion"]


async def endpoint_state(client: Client, subscription: str) -> EndpointState:
    handle = client.get_workflow_handle(endpoint_workflow_id(subscription))
    state: EndpointState = await handle.query("state", result_type=EndpointState)
    return state


async def test_a_delivery_is_signed_per_standard_webhooks_with_the_payload_envelope(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    peer.verify("/hook", ORDERS_SECRET)
    to = target(peer)
    result, handle = await deliver(ts_client, ts_queue, to, {"order_id": "A-1"})
    assert (result.outcome, result.attempts, result.last_status) == ("delivered", 1, 200)
    [seen] = peer.at("/hook")
    assert seen.verified is True
    assert seen.headers["webhook-id"] == result.msg_id
    assert abs(int(seen.headers["webhook-timestamp"]) - time.time()) < 30
    assert seen.headers["content-type"] == "application/json"
    assert json.loads(seen.body) == {
        "type": "order.completed",
        "timestamp": "2026-01-01T00:00:00Z",
        "data": {"order_id": "A-1"},
    }
    assert await timers(handle) == []


async def test_a_first_attempt_that_succeeds_completes_the_run_in_its_first_workflow_task(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    result, handle = await deliver(ts_client, ts_queue, target(peer))
    assert (result.outcome, result.attempts, result.last_status) == ("delivered", 1, 200)
    [logged] = result.attempt_log
    assert logged.call is not None and logged.call.attempt == 1
    assert await handle.query(WebhookDeliveryWorkflow.attempts) == [logged]
    history = await handle.fetch_history()
    assert steps(history) == [*PATCHED, "core_local_activity", "status=delivered"]
    assert len(history.events) == 9  # started, task x3, 2 markers, 2 upserts, completed
    found = (await handle.describe()).typed_search_attributes
    assert found.get(sa.STATUS) == "delivered"
    assert found.get(sa.DELIVERY_ID) == result.msg_id
    assert len(peer.at("/hook")) == 1


async def test_after_a_failed_first_attempt_the_next_is_an_activity_after_the_5_s_timer(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    peer.verify("/hook", ORDERS_SECRET)
    peer.script("/hook", Reply(500), Reply(200))
    result, handle = await deliver(ts_client, ts_queue, target(peer))
    assert (result.outcome, result.attempts, result.last_status) == ("delivered", 2, 200)
    assert [a.status for a in result.attempt_log] == [500, 200]
    assert steps(await handle.fetch_history()) == [
        *PATCHED, "core_local_activity", "timer",
        "task", "activity deliver_webhook",
        "task", "status=delivered",
    ]  # fmt: skip
    [wait] = await timers(handle)
    assert timedelta(seconds=4.5) <= wait <= timedelta(seconds=5.5)
    seen = peer.at("/hook")
    assert [r.headers["webhook-id"] for r in seen] == [result.msg_id] * 2
    assert all(r.verified for r in seen)


async def test_a_run_started_without_its_search_attributes_is_pending_before_its_first_attempt(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    """An operator's redrive starts the original input alone: the run upserts its attributes
    itself, and its first attempt is a normal activity, so it is findable while that runs."""
    data = DeliveryInput(target=target(peer), msg_id=f"msg_{uuid.uuid4().hex}", payload={})
    handle = await ts_client.start_workflow(
        WebhookDeliveryWorkflow.run, data, id=f"redriven-{data.msg_id}", task_queue=ts_queue
    )
    result = await handle.result()
    assert (result.outcome, result.attempts) == ("delivered", 1)
    assert steps(await handle.fetch_history()) == [
        *PATCHED,
        "status=pending",
        "activity deliver_webhook",
        "task",
        "status=delivered",
    ]


async def test_during_a_rotation_every_secret_signs_and_either_verifies(
    ts_client: Client, ts_queue: str, peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, f"{ORDERS_SECRET} {OTHER_SECRET}")
    peer.verify("/hook", OTHER_SECRET)
    result, _ = await deliver(ts_client, ts_queue, target(peer))
    assert result.outcome == "delivered"
    [seen] = peer.at("/hook")
    assert seen.verified is True
    assert len(seen.headers["webhook-signature"].split(" ")) == 2


async def test_failures_follow_the_standard_schedule_with_one_webhook_id(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    peer.verify("/hook", ORDERS_SECRET)
    peer.script("/hook", Reply(503))
    result, handle = await deliver(ts_client, ts_queue, target(peer))
    assert (result.outcome, result.attempts, result.last_status) == ("failed", 10, 503)
    waits = await timers(handle)
    assert len(waits) == len(STANDARD_WAITS)
    for wait, scheduled in zip(waits, STANDARD_WAITS, strict=True):
        assert scheduled * 0.9 <= wait <= scheduled * 1.1
    assert waits != STANDARD_WAITS  # jittered
    seen = peer.at("/hook")
    assert len(seen) == 10
    assert {r.headers["webhook-id"] for r in seen} == {result.msg_id}
    assert all(r.verified for r in seen)


async def test_a_longer_retry_after_replaces_the_next_slot(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    peer.script("/hook", Reply(429, {"retry-after": "3600"}), Reply(204))
    result, handle = await deliver(ts_client, ts_queue, target(peer))
    assert (result.outcome, result.attempts, result.last_status) == ("delivered", 2, 204)
    assert await timers(handle) == [timedelta(hours=1)]


async def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    peer.script("/hook", Reply(301, {"location": "/elsewhere"}), Reply(200))
    result, handle = await deliver(ts_client, ts_queue, target(peer))
    assert (result.outcome, result.attempts) == ("delivered", 2)
    assert peer.at("/elsewhere") == []
    [wait] = await timers(handle)
    assert timedelta(seconds=4.5) <= wait <= timedelta(seconds=5.5)


async def test_an_answer_slower_than_the_timeout_is_a_failed_attempt(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    peer.script("/hook", Reply(200, delay=1.5), Reply(200))
    result, _ = await deliver(ts_client, ts_queue, target(peer, timeout_seconds=0.5))
    assert (result.outcome, result.attempts) == ("delivered", 2)


async def test_410_disables_the_endpoint_durably(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    peer.script("/hook", Reply(410))
    to = target(peer)
    result, handle = await deliver(ts_client, ts_queue, to)
    assert (result.outcome, result.attempts, result.last_status) == ("disabled", 1, 410)
    assert steps(await handle.fetch_history()) == [
        *PATCHED,
        "core_local_activity",
        "activity disable_endpoint",
        "task",
        "status=disabled",
    ]
    state = await endpoint_state(ts_client, to.subscription)
    assert state.disabled
    assert state.reason is not None and "410" in state.reason
    again, _ = await deliver(ts_client, ts_queue, to)
    assert (again.outcome, again.attempts) == ("endpoint-disabled", 1)
    assert len(peer.at("/hook")) == 1


async def test_the_disable_header_disables_and_enable_signal_restores(
    time_skipping: WorkflowEnvironment, ts_queue: str, peer: Peer
) -> None:
    peer.script("/hook", Reply(400, {"webhook-delivery": "disable"}), Reply(200))
    to = target(peer)
    client = time_skipping.client
    # No timers here; without skipping, the test server cannot jump to its default 10-year
    # execution timeout and close the (otherwise endless) endpoint workflow mid-test.
    with time_skipping.auto_time_skipping_disabled():
        result, _ = await deliver(client, ts_queue, to)
        assert result.outcome == "disabled"
        endpoint = client.get_workflow_handle(endpoint_workflow_id(to.subscription))
        await endpoint.signal("enable")
        assert not (await endpoint_state(client, to.subscription)).disabled
        again, _ = await deliver(client, ts_queue, to)
    assert again.outcome == "delivered"


async def test_abort_message_stops_retrying_this_message_only(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    peer.script("/hook", Reply(500, {"webhook-delivery": "abort-message"}), Reply(200))
    to = target(peer)
    result, handle = await deliver(ts_client, ts_queue, to)
    assert (result.outcome, result.attempts, result.last_status) == ("aborted", 1, 500)
    assert await timers(handle) == []
    again, _ = await deliver(ts_client, ts_queue, to)
    assert again.outcome == "delivered"


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, subs: dict[str, Any]) -> None:
    config = {
        "routes": {
            "orders": {
                "path": "/webhooks/orders",
                "workflow": "OrderWorkflow",
                "delivery_id": {"header": "webhook-id"},
                "verifier": {"type": "standard_webhooks", "secret": {"env": SECRET_ENV}},
            }
        },
        "subscriptions": subs,
    }
    path = tmp_path / "hooktide.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("HOOKTIDE_CONFIG", str(path))


async def emit(client: Client, queue: str, data: EmitInput) -> list[str]:
    handle = await client.start_workflow(
        EmitterWorkflow.run, data, id=f"emitter-{uuid.uuid4().hex[:10]}", task_queue=queue
    )
    return await handle.result()


async def test_emit_event_starts_one_delivery_per_matching_enabled_subscription(
    ts_client: Client, peer: Peer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:6]
    secret = {"env": SECRET_ENV}
    write_config(
        tmp_path,
        monkeypatch,
        {
            f"orders-{tag}": {"url": peer.url("/orders"), "events": ["order.*"], "secret": secret},
            f"all-{tag}": {"url": peer.url("/all"), "events": ["*"], "secret": secret},
            f"approvals-{tag}": {
                "url": peer.url("/approvals"),
                "events": ["approval.requested"],
                "secret": secret,
            },
            f"off-{tag}": {
                "url": peer.url("/off"),
                "events": ["order.completed"],
                "secret": secret,
                "enabled": False,
            },
        },
    )
    async with outbound_worker(ts_client) as ts_queue:
        for path in ("/orders", "/all"):
            peer.verify(path, ORDERS_SECRET)
        ids = await emit(
            ts_client, ts_queue, EmitInput(event_type="order.completed", data={"id": 1})
        )
        assert sorted(i.rsplit("-", 2)[1] for i in ids) == ["all", "orders"]
        results = [await ts_client.get_workflow_handle(i).result() for i in ids]
        assert {r["outcome"] for r in results} == {"delivered"}
        assert {r["msg_id"] for r in results} == {peer.at("/orders")[0].headers["webhook-id"]}
        assert all(r.verified for r in peer.requests)
        assert peer.at("/approvals") == [] and peer.at("/off") == []
        body = json.loads(peer.at("/orders")[0].body)
        assert (body["type"], body["data"]) == ("order.completed", {"id": 1})
        assert body["timestamp"].endswith("Z")


async def test_emitting_the_same_key_twice_delivers_once(
    ts_client: Client, peer: Peer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"once-{uuid.uuid4().hex[:6]}"
    write_config(
        tmp_path,
        monkeypatch,
        {
            name: {
                "url": peer.url("/once"),
                "events": ["order.failed"],
                "secret": {"env": SECRET_ENV},
            }
        },
    )
    async with outbound_worker(ts_client) as ts_queue:
        ids = await emit(
            ts_client, ts_queue, EmitInput(event_type="order.failed", key="A-1", times=2)
        )
        assert len(ids) == 2 and ids[0] == ids[1]
        await ts_client.get_workflow_handle(ids[0]).result()
        assert len(peer.at("/once")) == 1


async def test_a_disabled_endpoint_gets_no_new_deliveries(
    ts_client: Client, peer: Peer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"gone-{uuid.uuid4().hex[:6]}"
    write_config(
        tmp_path,
        monkeypatch,
        {name: {"url": peer.url("/gone"), "events": ["*"], "secret": {"env": SECRET_ENV}}},
    )
    async with outbound_worker(ts_client) as ts_queue:
        peer.script("/gone", Reply(410))
        [first] = await emit(ts_client, ts_queue, EmitInput(event_type="order.completed"))
        assert (await ts_client.get_workflow_handle(first).result())["outcome"] == "disabled"
        assert await emit(ts_client, ts_queue, EmitInput(event_type="order.completed")) == []
        assert len(peer.at("/gone")) == 1


async def test_publish_event_starts_a_delivery_eagerly_and_it_completes_in_two_writes(
    client: Client, peer: Peer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the dev server: the worker's own start of its delivery is eager (Temporal hands
    the first workflow task back in the start's write), and that task completes the run."""
    name = f"eager-{uuid.uuid4().hex[:6]}"
    write_config(
        tmp_path,
        monkeypatch,
        {name: {"url": peer.url("/eager"), "events": ["*"], "secret": {"env": SECRET_ENV}}},
    )
    async with outbound_worker(client) as queue:
        [wid] = await emit(client, queue, EmitInput(event_type="order.completed"))
        handle = client.get_workflow_handle(wid)
        assert (await handle.result())["outcome"] == "delivered"
    history = await handle.fetch_history()
    assert history.events[0].workflow_execution_started_event_attributes.eager_execution_accepted
    assert steps(history) == [*PATCHED, "core_local_activity", "status=delivered"]
    assert len(peer.at("/eager")) == 1
