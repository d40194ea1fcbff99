"""Batch and debounce routes: collector workflows on the time-skipping server (timers) and
through a real gateway on the dev server (wiring, dedupe)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from tests.support.events import event
from tests.support.gateway import serve_gateway
from tests.support.polling import eventually
from tests.support.routes import route_config
from tests.support.signing import order_payload, signed
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.batching import COLLECT_MANY_SIGNAL, CollectedEvents
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.highfreq import (
    BatchSummary,
    CollectedEvent,
    CollectorInput,
    CollectorStatus,
    EventBatch,
)
from webhook_gateway.contracts.order import OrderResult
from worker import build_worker
from workflows.highfreq.batch import BatchCollectorWorkflow
from workflows.highfreq.debounce import DebounceCollectorWorkflow


def collector_input(queue: str, workflow: str, **fields: Any) -> CollectorInput:
    return CollectorInput(
        route="test", key="k", workflow=workflow, task_queue=queue,
        workflow_id_prefix=f"t-{uuid.uuid4().hex[:6]}-", **fields,
    )  # fmt: skip


async def started(
    client: Client,
    queue: str,
    workflow: type[BatchCollectorWorkflow] | type[DebounceCollectorWorkflow],
    start: CollectorInput,
    events: Sequence[WebhookEvent],
) -> WorkflowHandle[Any, CollectorStatus]:
    """The collector, started by a signal with the first event, then signalled the others."""
    handle = await client.start_workflow(
        workflow.run, start, id=uuid.uuid4().hex, task_queue=queue,
        start_signal="event", start_signal_args=[events[0]],
    )  # fmt: skip
    for e in events[1:]:
        await handle.signal(workflow.event, e)
    return handle


async def batch_input(client: Client, workflow_id: str) -> EventBatch:
    """The batch a route's workflow was started with (its first history event)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [batch] = await client.data_converter.decode(started.input.payloads, type_hints=[EventBatch])
    assert isinstance(batch, EventBatch)
    return batch


async def batch_counts(client: Client, status: CollectorStatus) -> list[int]:
    """How many events each batch the collector delivered carried."""
    return [
        (await client.get_workflow_handle(wid, result_type=BatchSummary).result()).count
        for wid in status.delivered
    ]


async def test_batch_is_delivered_when_max_wait_passes(
    time_skipping: WorkflowEnvironment,
) -> None:
    client, queue = time_skipping.client, uuid.uuid4().hex
    start = collector_input(
        queue, "EventBatchWorkflow", max_size=100, max_wait_seconds=600, idle_seconds=60
    )
    events = [event({"n": n}) for n in range(3)]
    async with build_worker(client, queue):
        # The last one is a redelivery.
        handle = await started(client, queue, BatchCollectorWorkflow, start, [*events, events[1]])
        status = await handle.result()
        summaries = [
            await client.get_workflow_handle(wid, result_type=BatchSummary).result()
            for wid in status.delivered
        ]
        delivered = await batch_input(client, status.delivered[0])

    assert isinstance(status, CollectorStatus)
    assert len(status.delivered) == 1
    assert summaries[0].delivery_ids == [e.delivery_id for e in events]
    assert [e.body for e in delivered.events] == [{"n": 0}, {"n": 1}, {"n": 2}]


async def test_batch_is_cut_by_bytes_below_the_payload_limit(
    time_skipping: WorkflowEnvironment,
) -> None:
    client, queue = time_skipping.client, uuid.uuid4().hex
    start = collector_input(
        queue, "EventBatchWorkflow", max_size=100, max_bytes=2_600, max_wait_seconds=60
    )
    events = [event({"n": n, "pad": "x" * 1000}) for n in range(5)]
    async with build_worker(client, queue):
        handle = await started(client, queue, BatchCollectorWorkflow, start, events)
        counts = await batch_counts(client, await handle.result())

    assert counts == [2, 2, 1]


async def test_batch_boundaries_follow_the_size_the_gateway_sent(
    time_skipping: WorkflowEnvironment,
) -> None:
    client, queue = time_skipping.client, uuid.uuid4().hex
    start = collector_input(
        queue, "EventBatchWorkflow", max_size=100, max_bytes=2_600, max_wait_seconds=60
    )
    # Measured, all five fit in one batch; declared as 1,000 bytes each, two do.
    events = [CollectedEvent(**dict(event({"n": n})), size=1_000) for n in range(5)]
    async with build_worker(client, queue):
        handle = await started(client, queue, BatchCollectorWorkflow, start, events)
        counts = await batch_counts(client, await handle.result())

    assert sum(len(WebhookEvent(**dict(e)).model_dump_json()) for e in events) < 2_600
    assert counts == [2, 2, 1]


async def test_buffered_events_keep_their_size_through_continue_as_new(client: Client) -> None:
    queue = uuid.uuid4().hex
    start = collector_input(
        queue, "EventBatchWorkflow", max_size=100, max_bytes=2_600, max_wait_seconds=1,
        idle_seconds=0.5, history_events=6,
    )  # fmt: skip
    events = [CollectedEvent(**dict(event({"n": n})), size=1_000) for n in range(5)]
    # Signalled before a worker polls: the first run sees all five at once and carries three.
    handle = await started(client, queue, BatchCollectorWorkflow, start, events)
    async with build_worker(client, queue):
        counts = await batch_counts(client, await handle.result())
    last_run = (await client.get_workflow_handle(handle.id).describe()).run_id

    assert last_run != handle.result_run_id  # the run continued as new
    assert counts == [2, 2, 1]


async def test_debounce_delivers_only_the_last_event_of_a_burst(
    time_skipping: WorkflowEnvironment,
) -> None:
    client, queue = time_skipping.client, uuid.uuid4().hex
    start = collector_input(queue, "OrderWorkflow", period_seconds=30, idle_seconds=60)
    events = [event(order_payload(f"D-{n}")) for n in range(5)]
    async with build_worker(client, queue):
        handle = await started(client, queue, DebounceCollectorWorkflow, start, events)
        status = await handle.result()
        results = [
            await client.get_workflow_handle(wid, result_type=OrderResult).result()
            for wid in status.delivered
        ]

    assert [r.order_id for r in results] == ["D-4"]
    assert results[0].delivery_id == events[-1].delivery_id


async def test_debounce_max_wait_delivers_during_an_endless_burst(
    time_skipping: WorkflowEnvironment,
) -> None:
    client, queue = time_skipping.client, uuid.uuid4().hex
    start = collector_input(
        queue, "OrderWorkflow", period_seconds=30, burst_max_seconds=0.001, idle_seconds=60
    )
    async with build_worker(client, queue):
        handle = await started(
            client, queue, DebounceCollectorWorkflow, start, [event(order_payload("M-1"))]
        )
        status = await handle.result()

    assert len(status.delivered) == 1


SETTINGS = Settings()


async def _send(http: httpx.AsyncClient, payload: Any, delivery_id: str | None = None) -> str:
    content, headers = signed(payload, msg_id=delivery_id)
    response = await http.post("/webhooks/hf", content=content, headers=headers)
    assert response.status_code == 202, response.text
    return str(response.json()["workflow_id"])


async def test_batch_route_delivers_lists_of_max_size_per_key(
    client: Client, task_queue: str
) -> None:
    batch = {"key": "customer.id", "max_size": 3, "max_wait_seconds": 3600}
    config, _ = route_config(task_queue, mode="batch", workflow="EventBatchWorkflow", batch=batch)
    key = f"c-{uuid.uuid4().hex[:6]}"
    payloads = [{**order_payload(f"B-{n}"), "customer": {"id": key}} for n in range(6)]
    ids = [f"msg_{uuid.uuid4().hex}" for _ in payloads]
    async with serve_gateway(config, SETTINGS, client=client, timeout=30) as http:
        collectors = {await _send(http, p, d) for p, d in zip(payloads, ids, strict=True)}
        collectors.add(await _send(http, payloads[0], ids[0]))  # a redelivery
    (collector_id,) = collectors
    handle = client.get_workflow_handle(collector_id)
    status = await eventually(
        lambda: handle.query(BatchCollectorWorkflow.status),
        lambda s: len(s.delivered) == 2,
        timeout=60,
    )
    summaries = [
        await client.get_workflow_handle(wid, result_type=BatchSummary).result()
        for wid in status.delivered
    ]
    await handle.terminate("test over")

    assert key in collector_id
    assert [s.delivery_ids for s in summaries] == [ids[:3], ids[3:]]
    assert status.buffered == 0


async def test_batch_route_signals_each_event_with_its_json_size(
    client: Client, task_queue: str
) -> None:
    batch = {"key": "customer.id", "max_size": 3, "max_wait_seconds": 3600}
    config, _ = route_config(task_queue, mode="batch", workflow="EventBatchWorkflow", batch=batch)
    payload = {**order_payload("S-1"), "customer": {"id": f"c-{uuid.uuid4().hex[:6]}"}}
    async with serve_gateway(config, SETTINGS, client=client, timeout=30) as http:
        collector_id = await _send(http, payload)
    handle = client.get_workflow_handle(collector_id)
    signals = [
        e.workflow_execution_signaled_event_attributes
        async for e in handle.fetch_history_events()
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    await handle.terminate("test over")
    [carried] = await client.data_converter.decode(
        signals[0].input.payloads, type_hints=[CollectedEvents]
    )
    [signalled] = carried.events

    assert signals[0].signal_name == COLLECT_MANY_SIGNAL
    assert signalled.body == payload
    assert signalled.size == len(WebhookEvent(**dict(signalled)).model_dump_json())


async def test_debounce_route_delivers_the_last_event_to_the_workflow(
    client: Client, task_queue: str
) -> None:
    debounce = {"key": "customer.id", "period_seconds": 1.0, "idle_seconds": 5}
    config, _ = route_config(task_queue, mode="debounce", debounce=debounce)
    key = f"c-{uuid.uuid4().hex[:6]}"
    async with serve_gateway(config, SETTINGS, client=client, timeout=30) as http:
        for n in range(4):
            collector_id = await _send(
                http, {**order_payload(f"DB-{n}"), "customer": {"id": key, "email": "a@b.c"}}
            )
    handle = client.get_workflow_handle(collector_id, result_type=CollectorStatus)
    status = await eventually(
        lambda: handle.query(DebounceCollectorWorkflow.status),
        lambda s: len(s.delivered) > 0,
        timeout=60,
    )
    result = await client.get_workflow_handle(status.delivered[0], result_type=OrderResult).result()
    final = await handle.result()

    assert result.order_id == "DB-3"
    assert final.delivered == status.delivered


async def test_batch_route_without_a_key_answers_422(client: Client, task_queue: str) -> None:
    batch = {"key": "customer.id", "max_size": 3}
    config, _ = route_config(task_queue, mode="batch", workflow="EventBatchWorkflow", batch=batch)
    content, headers = signed({"no": "customer"})
    async with serve_gateway(config, SETTINGS, client=client, timeout=30) as http:
        response = await http.post("/webhooks/hf", content=content, headers=headers)

    assert response.status_code == 422
    assert "customer.id" in response.json()["detail"]


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ({"mode": "batch"}, "field batch is missing"),
        ({"mode": "debounce"}, "field debounce is missing"),
        ({"mode": "start", "batch": {"key": "a"}}, "field batch is only for mode 'batch'"),
        (
            {"mode": "signal_with_start", "workflow_id": {"header": "x"}, "group_commit": {}},
            "field group_commit is only for mode 'start'",
        ),
        ({"mode": "batch", "batch": {"key": "a[", "max_size": 2}}, "field batch.key"),
        ({"mode": "batch", "batch": {"key": "a", "max_size": 0}}, "field batch.max_size"),
        ({"group_commit": {"shards": 0}}, "field group_commit.shards"),
    ],
)
def test_high_frequency_route_errors_name_the_route_and_field(
    route: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        route_config("q", **route)

    assert "route 'hf-" in str(caught.value)
    assert message in str(caught.value)
