"""Group commit end to end: a real gateway, the dev server on SQLite, a real worker."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.worker import Worker

from tests.support.gateway import serve_gateway
from tests.support.net import free_port
from tests.support.polling import eventually
from tests.support.routes import route_config
from tests.support.signing import order_payload, signed
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.highfreq import (
    InboxBatch,
    InboxInput,
    InboxStatus,
    PendingStart,
    StartEventsInput,
    StartEventsResult,
    inbox_workflow_id,
)
from webhook_gateway.dev.temporal_server import TemporalDevServer
from webhook_gateway.dispatch.dispatcher import Dispatcher
from workflows.highfreq.inbox import InboxWorkflow

SETTINGS = Settings(HOOKTIDE_TEMPORAL_RPC_TIMEOUT=1.0, HOOKTIDE_RETRY_AFTER=7)


async def _post(
    http: httpx.AsyncClient, delivery_id: str, body: bytes | None = None
) -> httpx.Response:
    payload = body if body is not None else order_payload(f"GC-{delivery_id}")
    content, headers = signed(payload, msg_id=delivery_id)
    return await http.post("/webhooks/hf", content=content, headers=headers)


async def _status(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    try:
        return (await client.get_workflow_handle(workflow_id).describe()).status
    except RPCError:
        return None


async def test_group_commit_acks_are_durable_and_each_delivery_gets_one_workflow(
    client: Client, task_queue: str
) -> None:
    group_commit = {"max_batch": 20, "max_wait_ms": 20, "shards": 2}
    config, route = route_config(
        task_queue, workflow_id={"prefix": "gc-order-"}, group_commit=group_commit
    )
    # A generous RPC timeout: this test is about durability, not about a loaded 2-core box.
    settings = Settings(HOOKTIDE_TEMPORAL_RPC_TIMEOUT=5.0)
    ids = [f"gc-{uuid.uuid4().hex}" for _ in range(60)]
    async with serve_gateway(config, settings, client=client, timeout=30) as http:
        # Every delivery three times at once: the sender retrying while the first is in flight.
        responses = await asyncio.gather(*(_post(http, d) for d in ids * 3))
        stats = http.app.state.dispatcher.group_commit_stats()[route]

    assert [r.status_code for r in responses] == [202] * 180, [
        r.text for r in responses if r.status_code != 202
    ]
    for response, delivery_id in zip(responses, ids * 3, strict=True):
        assert response.json() == {
            "delivery_id": delivery_id,
            "workflow_id": f"gc-order-{delivery_id}",
            "run_id": None,
            "duplicate": None,
        }
    assert stats.events == 180 and stats.batches < 180 and stats.max_batch_size > 1
    for delivery_id in ids:
        status = await eventually(
            lambda d=delivery_id: _status(client, f"gc-order-{d}"),  # type: ignore[misc]
            lambda s: s == WorkflowExecutionStatus.COMPLETED,
            timeout=60,
        )
        assert status == WorkflowExecutionStatus.COMPLETED, delivery_id

    async def inboxes() -> list[InboxStatus]:
        handles = [client.get_workflow_handle(inbox_workflow_id(route, s)) for s in range(2)]
        return [await h.query(InboxWorkflow.status) for h in handles]

    # The last chunk's activity may still be sending the later copies' starts.
    done = await eventually(inboxes, lambda found: sum(i.backlog for i in found) == 0)
    assert sum(i.started for i in done) == 60  # one workflow each, never two
    assert sum(i.duplicates for i in done) == 120
    assert sum(i.backlog for i in done) == 0


async def test_group_commit_answers_503_and_acks_nothing_when_temporal_is_down(
    tmp_path: Path, task_queue: str
) -> None:
    server = TemporalDevServer(db_file=tmp_path / "t.db", port=free_port(), ui_port=None)
    server.start()
    try:
        await server.wait_ready()
        down = await Client.connect(server.address, data_converter=pydantic_data_converter)
    finally:
        server.stop()
    config, route = route_config(task_queue, group_commit={"max_batch": 50, "max_wait_ms": 50})
    async with serve_gateway(config, SETTINGS, client=down, timeout=30) as http:
        responses = await asyncio.gather(*(_post(http, uuid.uuid4().hex) for _ in range(12)))
        stats = http.app.state.dispatcher.group_commit_stats()[route]

    assert [r.status_code for r in responses] == [503] * 12
    assert {r.headers["retry-after"] for r in responses} == {"7"}
    assert stats.events == 0 and stats.failed_events == 12
    assert stats.failed_batches < 12  # they failed together, as they were sent


async def test_a_failed_group_commit_fails_only_the_requests_it_carried(
    client: Client, task_queue: str
) -> None:
    group_commit = {"max_batch": 50, "max_wait_ms": 50, "shards": 1}
    config, _route = route_config(
        task_queue,
        group_commit=group_commit,
        max_body_bytes=4_000_000,
        workflow_id={"prefix": "gcf-"},
    )
    settings = Settings(HOOKTIDE_TEMPORAL_RPC_TIMEOUT=5.0)
    big = json.dumps({**order_payload("BIG"), "blob": "x" * 2_300_000}).encode()
    small = [uuid.uuid4().hex for _ in range(10)]
    big_id = uuid.uuid4().hex
    async with serve_gateway(config, settings, client=client, timeout=30) as http:
        results = await asyncio.gather(
            *(_post(http, d) for d in small[:5]),
            _post(http, big_id, big),
            *(_post(http, d) for d in small[5:]),
        )
    codes = [r.status_code for r in results]

    # Too big for one Temporal payload: its call fails; the others' calls do not.
    assert codes == [202] * 5 + [503] + [202] * 5
    for delivery_id in small:
        status = await eventually(
            lambda d=delivery_id: _status(client, f"gcf-{d}"),  # type: ignore[misc]
            lambda s: s is not None,
            timeout=60,
        )
        assert status is not None
    assert await _status(client, f"gcf-{big_id}") is None


async def test_group_commit_answers_503_once_the_backlog_exceeds_max_backlog(
    client: Client,
) -> None:
    unserved = f"nobody-polls-{uuid.uuid4().hex[:6]}"
    group_commit = {"max_batch": 1, "max_wait_ms": 0, "shards": 1, "max_backlog": 5}
    config, route = route_config(unserved, group_commit=group_commit)
    async with serve_gateway(config, SETTINGS, client=client, timeout=30) as http:
        responses = [await _post(http, uuid.uuid4().hex) for _ in range(8)]
        stats = http.app.state.dispatcher.group_commit_stats()[route]
    await client.get_workflow_handle(inbox_workflow_id(route, 0)).terminate("test over")

    assert [r.status_code for r in responses] == [202] * 5 + [503] * 3
    assert "limit 5" in responses[-1].json()["detail"]
    assert responses[-1].headers["retry-after"] == "7"
    assert stats.rejected_backlog == 3 and stats.estimated_backlog == (5,)


async def test_dispatcher_close_stops_the_committer_tasks(client: Client) -> None:
    config, route = route_config("unused", group_commit={"shards": 3})
    dispatcher = Dispatcher(client, rpc_timeout=1.0, retry_after=5)
    committer = dispatcher._committer(config.route(route))
    tasks = list(committer._tasks)
    await dispatcher.aclose()

    assert len(tasks) == 4 and all(t.done() for t in tasks)
    assert dispatcher.group_commit_stats() == {}


started_ids: list[str] = []


@activity.defn(name="start_events")
async def slow_start_events(data: StartEventsInput) -> StartEventsResult:
    await asyncio.sleep(0.1)
    ids = [i.workflow_id for b in data.batches for i in b.items]
    started_ids.extend(ids)
    return StartEventsResult(started=len(ids))


async def test_inbox_continues_as_new_carrying_the_backlog(client: Client) -> None:
    queue = f"inbox-{uuid.uuid4().hex[:8]}"
    inbox_id = f"inbox-test-{uuid.uuid4().hex[:8]}"
    start = InboxInput(route="t", shard=0, history_events=20, start_chunk=5)
    expected: list[str] = []
    handle = None
    for n in range(6):
        items = []
        for i in range(10):
            wid = f"{inbox_id}-{n}-{i}"
            expected.append(wid)
            event = WebhookEvent(route="t", delivery_id=wid, received_at="2026-01-01T00:00:00Z")
            items.append(PendingStart(workflow_id=wid, event=event, size=200))
        batch = InboxBatch(workflow="OrderWorkflow", task_queue="nowhere", items=items)
        handle = await client.start_workflow(
            InboxWorkflow.run, start, id=inbox_id, task_queue=queue,
            start_signal="events", start_signal_args=[batch],
        )  # fmt: skip
    assert handle is not None
    first_run = handle.first_execution_run_id or handle.result_run_id
    started_ids.clear()
    async with Worker(
        client, task_queue=queue, workflows=[InboxWorkflow], activities=[slow_start_events]
    ):
        status: InboxStatus = await eventually(
            lambda: client.get_workflow_handle(inbox_id).query(InboxWorkflow.status),
            lambda s: s.backlog == 0 and s.started == 60,
            timeout=60,
        )
    first = client.get_workflow_handle(inbox_id, run_id=first_run)
    last_event = [e async for e in first.fetch_history_events()][-1]
    await client.get_workflow_handle(inbox_id).terminate("test over")

    assert sorted(started_ids) == sorted(expected)  # every event once, none twice
    assert (status.backlog, status.started) == (0, 60)
    assert last_event.HasField("workflow_execution_continued_as_new_event_attributes")
    carried = last_event.workflow_execution_continued_as_new_event_attributes.input.payloads[0]
    backlog = json.loads(carried.data)["backlog"]
    assert 0 < sum(len(b["items"]) for b in backlog) < 60


async def test_the_committer_reports_each_inbox_pace_of_starts(
    client: Client, task_queue: str
) -> None:
    group_commit = {"max_batch": 10, "max_wait_ms": 5, "shards": 1, "backlog_refresh_ms": 50,
                    "pacing": {"initial_rate": 25}}  # fmt: skip
    config, route = route_config(
        task_queue, workflow_id={"prefix": "gcp-"}, group_commit=group_commit
    )
    settings = Settings(HOOKTIDE_TEMPORAL_RPC_TIMEOUT=5.0)
    async with serve_gateway(config, settings, client=client, timeout=30) as http:
        responses = await asyncio.gather(*(_post(http, uuid.uuid4().hex) for _ in range(5)))
        dispatcher = http.app.state.dispatcher
        stats = await eventually(
            lambda: dispatcher.group_commit_stats()[route],
            lambda s: s.start_rate != (None,) and s.estimated_backlog == (0,),
        )

    inbox = await client.get_workflow_handle(inbox_workflow_id(route, 0)).query(
        InboxWorkflow.status
    )
    await client.get_workflow_handle(inbox_workflow_id(route, 0)).terminate("test over")

    assert [r.status_code for r in responses] == [202] * 5
    assert inbox.rate is not None and stats.start_rate == (inbox.rate,)


async def test_an_idle_shard_is_asked_for_its_backlog_ten_times_less_often(
    client: Client, task_queue: str
) -> None:
    group_commit = {"max_batch": 10, "max_wait_ms": 5, "shards": 2, "backlog_refresh_ms": 10}
    config, route = route_config(
        task_queue, workflow_id={"prefix": "gci-"}, group_commit=group_commit
    )
    settings = Settings(HOOKTIDE_TEMPORAL_RPC_TIMEOUT=5.0)
    async with serve_gateway(config, settings, client=client, timeout=30) as http:
        responses = await asyncio.gather(*(_post(http, uuid.uuid4().hex) for _ in range(6)))
        dispatcher = http.app.state.dispatcher
        await eventually(
            lambda: dispatcher.group_commit_stats()[route],
            lambda s: s.estimated_backlog == (0, 0),
        )
        committer = dispatcher._committer(config.route(route))
        rounds, queries = committer._rounds, committer._queries
        await eventually(lambda: committer._rounds, lambda n: n >= rounds + 40)
        idle_rounds, idle_queries = committer._rounds - rounds, committer._queries - queries

    assert [r.status_code for r in responses] == [202] * 6
    # Busy, each round asks both shards; idle, one round in ten does.
    assert idle_queries <= 2 * (idle_rounds // 10 + 1) < idle_rounds
