"""Coalesced collects on the dev server: concurrent requests for one key share a signal, every
event lands in exactly one batch, and a failed call fails exactly the requests it carried."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from tests.support.events import event
from tests.support.gateway import serve_gateway
from tests.support.polling import eventually
from tests.support.routes import route_config
from tests.support.signing import order_payload, signed
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.batching import COLLECT_MANY_SIGNAL, CollectedEvents
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.highfreq import (
    BATCH_WORKFLOW,
    COLLECT_SIGNAL,
    BatchSummary,
    CollectorInput,
)
from webhook_gateway.dispatch.collect_commit import CollectCommitter, carried
from webhook_gateway.errors import TemporalUnavailable
from worker import build_worker
from workflows.highfreq.batch import BatchCollectorWorkflow

SETTINGS = Settings()


def collector_input(queue: str, **fields: Any) -> CollectorInput:
    return CollectorInput(
        route="test", key="k", workflow="EventBatchWorkflow", task_queue=queue,
        workflow_id_prefix=f"t-{uuid.uuid4().hex[:6]}-", **fields,
    )  # fmt: skip


async def signals(client: Client, handle: WorkflowHandle[Any, Any]) -> list[tuple[str, list[str]]]:
    """(signal name, delivery ids carried) of each signal in the collector's history."""
    found: list[tuple[str, list[str]]] = []
    async for e in handle.fetch_history_events():
        if not e.HasField("workflow_execution_signaled_event_attributes"):
            continue
        attributes = e.workflow_execution_signaled_event_attributes
        if attributes.signal_name == COLLECT_MANY_SIGNAL:
            [carried] = await client.data_converter.decode(
                attributes.input.payloads, type_hints=[CollectedEvents]
            )
            found.append((attributes.signal_name, [c.delivery_id for c in carried.events]))
        else:
            found.append((attributes.signal_name, []))
    return found


def submits(
    committer: CollectCommitter, collector_id: str, queue: str, events: list[WebhookEvent]
) -> list[Coroutine[Any, Any, str]]:
    """One submit per event, all for one collector, to be awaited together."""
    start = collector_input(queue)
    return [
        committer.submit(collector_id, e, workflow=BATCH_WORKFLOW, task_queue=queue, start=start)
        for e in events
    ]


async def delivered_ids(client: Client, workflow_ids: list[str]) -> list[str]:
    ids: list[str] = []
    for wid in workflow_ids:
        summary = await client.get_workflow_handle(wid, result_type=BatchSummary).result()
        ids.extend(summary.delivery_ids)
    return ids


async def test_concurrent_submits_for_one_collector_share_one_signal(client: Client) -> None:
    queue = f"unpolled-{uuid.uuid4().hex[:6]}"  # no worker: the history holds only signals
    committer = CollectCommitter(client, rpc_timeout=5, retry_after=3)
    collector_id = f"collector-{uuid.uuid4().hex}"
    events = [event({"n": n}) for n in range(10)]

    run_ids = await asyncio.gather(*submits(committer, collector_id, queue, events))
    handle = client.get_workflow_handle(collector_id)
    sent = await signals(client, handle)
    run_id = (await handle.describe()).run_id
    await handle.terminate("test over")

    assert sent == [(COLLECT_MANY_SIGNAL, [e.delivery_id for e in events])]
    assert set(run_ids) == {run_id}
    assert committer.lanes() == 0  # the lane ended with its queue


async def test_a_running_collector_gets_a_plain_signal_and_a_closed_one_a_new_run(
    client: Client,
) -> None:
    queue = f"unpolled-{uuid.uuid4().hex[:6]}"
    committer = CollectCommitter(client, rpc_timeout=5, retry_after=3)
    collector_id = f"collector-{uuid.uuid4().hex}"
    rounds = [[event({"round": r, "n": n}) for n in range(2)] for r in range(3)]

    first = await asyncio.gather(*submits(committer, collector_id, queue, rounds[0]))
    second = await asyncio.gather(*submits(committer, collector_id, queue, rounds[1]))
    handle = client.get_workflow_handle(collector_id)
    sent_first_run = await signals(client, handle)
    await handle.terminate("closed before the third round")
    third = await asyncio.gather(*submits(committer, collector_id, queue, rounds[2]))
    later = client.get_workflow_handle(collector_id, run_id=third[0])
    sent_later_run = await signals(client, later)
    await later.terminate("test over")

    assert first[0] is not None and set(first) == {first[0]}
    assert second == [None, None]  # a plain signal: Temporal reports no run
    assert sent_first_run == [
        (COLLECT_MANY_SIGNAL, [e.delivery_id for e in rounds[0]]),
        (COLLECT_MANY_SIGNAL, [e.delivery_id for e in rounds[1]]),
    ]
    assert third[0] is not None and third[0] != first[0]
    assert sent_later_run == [(COLLECT_MANY_SIGNAL, [e.delivery_id for e in rounds[2]])]


async def test_a_failed_call_fails_exactly_the_requests_it_carried(client: Client) -> None:
    queue = f"unpolled-{uuid.uuid4().hex[:6]}"
    committer = CollectCommitter(client, rpc_timeout=5, retry_after=3)
    collector_id = f"collector-{uuid.uuid4().hex}"
    # Over the payload budget, it travels alone; over Temporal's 2 MB limit, its call fails.
    too_big = event({"pad": "x" * 2_500_000})
    small = [event({"n": n}) for n in range(3)]

    outcomes = await asyncio.gather(
        *submits(committer, collector_id, queue, [too_big, *small]), return_exceptions=True
    )
    handle = client.get_workflow_handle(collector_id)
    sent = await signals(client, handle)
    await handle.terminate("test over")

    assert isinstance(outcomes[0], TemporalUnavailable)
    assert all(isinstance(o, str) for o in outcomes[1:])
    assert sent == [(COLLECT_MANY_SIGNAL, [e.delivery_id for e in small])]


async def _send(http: httpx.AsyncClient, payload: Any, delivery_id: str) -> str:
    content, headers = signed(payload, msg_id=delivery_id)
    response = await http.post("/webhooks/hf", content=content, headers=headers)
    assert response.status_code == 202, response.text
    return str(response.json()["workflow_id"])


async def test_concurrent_requests_land_in_exactly_one_batch_each(
    client: Client, task_queue: str
) -> None:
    # The first signal waits up to 1 s for company: all 24 requests are in flight by then.
    batch = {"key": "customer.id", "max_size": 5, "max_wait_seconds": 1, "coalesce_wait_ms": 1000}
    config, _ = route_config(task_queue, mode="batch", workflow="EventBatchWorkflow", batch=batch)
    key = f"c-{uuid.uuid4().hex[:6]}"
    ids = [f"msg_{uuid.uuid4().hex}" for _ in range(20)]
    payloads = [{**order_payload(f"CC-{n}"), "customer": {"id": key}} for n in range(20)]
    sends = list(zip(payloads, ids, strict=True))
    sends += sends[:4]  # redeliveries, concurrent with their first delivery
    async with serve_gateway(config, SETTINGS, client=client, timeout=30) as http:
        collectors = set(await asyncio.gather(*(_send(http, p, d) for p, d in sends)))
    (collector_id,) = collectors
    handle = client.get_workflow_handle(collector_id)
    status = await eventually(
        lambda: handle.query(BatchCollectorWorkflow.status),
        lambda s: s.buffered == 0 and len(s.delivered) == 4,
        timeout=60,
    )
    delivered = await delivered_ids(client, status.delivered)
    sent = await signals(client, handle)
    await handle.terminate("test over")

    assert sorted(delivered) == sorted(ids)  # each once, redeliveries dropped
    assert {name for name, _ in sent} == {COLLECT_MANY_SIGNAL}
    assert sum(len(carried) for _, carried in sent) == len(sends)
    assert len(sent) < len(sends)


@pytest.mark.parametrize(
    ("coalesce", "signal"), [(True, COLLECT_MANY_SIGNAL), (False, COLLECT_SIGNAL)]
)
async def test_batch_route_signal_follows_coalesce(
    client: Client, task_queue: str, coalesce: bool, signal: str
) -> None:
    batch = {"key": "customer.id", "max_size": 2, "max_wait_seconds": 3600, "coalesce": coalesce}
    config, _ = route_config(task_queue, mode="batch", workflow="EventBatchWorkflow", batch=batch)
    key = f"c-{uuid.uuid4().hex[:6]}"
    ids = [f"msg_{uuid.uuid4().hex}" for _ in range(2)]
    async with serve_gateway(config, SETTINGS, client=client, timeout=30) as http:
        for n, delivery_id in enumerate(ids):
            payload = {**order_payload(f"CF-{n}"), "customer": {"id": key}}
            collector_id = await _send(http, payload, delivery_id)
    handle = client.get_workflow_handle(collector_id)
    status = await eventually(
        lambda: handle.query(BatchCollectorWorkflow.status),
        lambda s: len(s.delivered) == 1,
        timeout=60,
    )
    delivered = await delivered_ids(client, status.delivered)
    sent = await signals(client, handle)
    await handle.terminate("test over")

    assert delivered == ids
    assert [name for name, _ in sent] == [signal, signal]


async def test_batches_start_by_local_activity_without_a_child(client: Client) -> None:
    queue = uuid.uuid4().hex
    handle = await client.start_workflow(
        BatchCollectorWorkflow.run, collector_input(queue, max_size=2, idle_seconds=0.5),
        id=uuid.uuid4().hex, task_queue=queue, start_signal=COLLECT_MANY_SIGNAL,
        start_signal_args=[CollectedEvents(events=[carried(event({"n": n})) for n in range(4)])],
    )  # fmt: skip
    async with build_worker(client, queue):
        status = await handle.result()
        delivered = await delivered_ids(client, status.delivered)
    kinds = {e.event_type async for e in handle.fetch_history_events()}

    assert len(delivered) == 4
    assert EventType.EVENT_TYPE_MARKER_RECORDED in kinds
    assert EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED not in kinds
