"""`GET /metrics` after real requests through a real gateway, and the worker's SDK metrics."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.worker import Worker

from tests.support.gateway import serve_gateway
from tests.support.net import LOOPBACK, free_port
from tests.support.routes import orders_route
from tests.support.signing import order_payload, signed
from webhook_gateway.config.routes import parse_config
from webhook_gateway.dev.temporal_server import TemporalDevServer
from webhook_gateway.observability.metrics import GatewayMetrics, worker_runtime
from workflows.example.order import OrderWorkflow

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
async def gateway(client: Client, task_queue: str) -> AsyncIterator[httpx.AsyncClient]:
    config = parse_config({"routes": {"orders": orders_route(task_queue, "metrics-")}})
    async with serve_gateway(config, client=client) as http:
        yield http


async def test_metrics_count_requests_by_route_mode_and_outcome(
    gateway: httpx.AsyncClient,
) -> None:
    body, headers = signed(order_payload())
    first = await gateway.post("/webhooks/orders", content=body, headers=headers)
    again = await gateway.post("/webhooks/orders", content=body, headers=headers)
    forged = await gateway.post(
        "/webhooks/orders", content=body, headers=headers | {"webhook-signature": "v1,AAAA"}
    )
    bare = await gateway.post(
        "/webhooks/orders", content=body, headers={"content-type": "application/json"}
    )
    assert (first.status_code, again.status_code) == (202, 202)
    assert (forged.status_code, bare.status_code) == (401, 401)

    response = await gateway.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    base = {"route": "orders", "mode": "start"}
    assert value(found, "hooktide_requests_total", **base, outcome="accepted", status="202") == 1
    assert value(found, "hooktide_requests_total", **base, outcome="duplicate", status="202") == 1
    assert (
        value(found, "hooktide_requests_total", **base, outcome="verification-failed", status="401")
        == 2
    )
    failures = "hooktide_verification_failures_total"
    assert value(found, failures, route="orders", reason="bad-signature") == 1
    assert value(found, failures, route="orders", reason="missing-header") == 1
    assert value(found, "hooktide_ack_latency_seconds_count", **base) == 2
    assert value(found, "hooktide_ack_latency_seconds_bucket", **base, le="+Inf") == 2
    assert value(found, "hooktide_requests_in_flight") == 1  # this scrape itself


async def test_metrics_time_temporal_calls_and_count_their_errors(
    gateway: httpx.AsyncClient,
) -> None:
    before = samples((await gateway.get("/metrics")).text)
    body, headers = signed(order_payload())
    await gateway.post("/webhooks/orders", content=body, headers=headers)
    await gateway.post("/webhooks/orders", content=body, headers=headers)

    found = samples((await gateway.get("/metrics")).text)

    rpc = "hooktide_temporal_rpc_seconds_count"
    started = value(found, rpc, operation="start_workflow")
    assert started - value(before, rpc, operation="start_workflow") == 2
    errors = "hooktide_temporal_rpc_errors_total"
    duplicates = value(found, errors, operation="start_workflow", error="ALREADY_EXISTS")
    assert (
        duplicates - value(before, errors, operation="start_workflow", error="ALREADY_EXISTS") == 1
    )


@dataclass(frozen=True)
class Stats:
    route: str
    batches: int = 4
    events: int = 10
    failed_batches: int = 1
    rejected_backlog: int = 2
    last_batch_size: int = 3
    max_batch_size: int = 5
    queued: tuple[int, ...] = (1, 0)
    estimated_backlog: tuple[int, ...] = (7, 9)
    start_rate: tuple[float | None, ...] = (12.5, None)


def test_group_commit_stats_are_exported_per_route_and_shard() -> None:
    metrics = GatewayMetrics()
    metrics.watch_group_commit(lambda: [Stats("fast")])

    found = samples(_render(metrics))

    assert value(found, "hooktide_group_commit_batches_total", route="fast") == 4
    assert value(found, "hooktide_group_commit_events_total", route="fast") == 10
    assert value(found, "hooktide_group_commit_failed_batches_total", route="fast") == 1
    assert value(found, "hooktide_group_commit_rejected_total", route="fast") == 2
    assert value(found, "hooktide_group_commit_max_batch_size", route="fast") == 5
    assert value(found, "hooktide_group_commit_queued", route="fast", shard="0") == 1
    assert value(found, "hooktide_group_commit_backlog", route="fast", shard="1") == 9
    assert value(found, "hooktide_group_commit_start_rate", route="fast", shard="0") == 12.5
    assert (
        "hooktide_group_commit_start_rate",
        frozenset({("route", "fast"), ("shard", "1")}),
    ) not in found


def _render(metrics: GatewayMetrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode()


def test_worker_runtime_is_off_without_an_address() -> None:
    assert worker_runtime(None) is None
    assert worker_runtime("") is None


async def test_worker_sdk_metrics_are_served_on_the_configured_address(
    dev_server: TemporalDevServer,
) -> None:
    from temporalio.contrib.pydantic import pydantic_data_converter

    from tests.support.activities import order_activities
    from webhook_gateway.contracts.events import WebhookEvent

    port = free_port()
    runtime = worker_runtime(f"{LOOPBACK}:{port}")
    assert runtime is not None
    client = await Client.connect(
        dev_server.address, data_converter=pydantic_data_converter, runtime=runtime
    )
    queue = f"ops-metrics-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[OrderWorkflow],
        activities=[order_activities().validate_order],
    ):
        event = WebhookEvent.model_validate(
            {
                "route": "orders",
                "delivery_id": "m-1",
                "received_at": "2026-01-01T00:00:00Z",
                "method": "POST",
                "body": order_payload(),
            }
        )
        await client.execute_workflow(
            OrderWorkflow.run, event, id=f"metrics-{uuid.uuid4().hex}", task_queue=queue
        )
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://{LOOPBACK}:{port}/metrics")).text

    names = {name for name, _ in samples(text)}
    assert any(n.startswith("temporal_workflow_completed") for n in names), sorted(names)[:20]
    assert any(n.startswith("temporal_activity_execution_latency") for n in names)
    assert f'task_queue="{queue}"' in text


async def test_group_commit_batches_of_a_real_route_appear_in_metrics(
    client: Client, task_queue: str
) -> None:
    group_commit = {"max_batch": 10, "max_wait_ms": 5, "shards": 2}
    fast = orders_route(task_queue, "fast-", path="/webhooks/fast", group_commit=group_commit)
    async with serve_gateway(parse_config({"routes": {"fast": fast}}), client=client) as http:
        for _ in range(3):
            body, headers = signed(order_payload())
            response = await http.post("/webhooks/fast", content=body, headers=headers)
            assert response.status_code == 202, response.text
        found = samples((await http.get("/metrics")).text)

    assert value(found, "hooktide_group_commit_events_total", route="fast") == 3
    assert value(found, "hooktide_group_commit_batches_total", route="fast") >= 1
    shards = {dict(labels)["shard"] for name, labels in found if "group_commit_backlog" in name}
    assert shards == {"0", "1"}
