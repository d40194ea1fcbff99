"""Traces: one trace from the gateway's request span through StartWorkflow into the
workflow and its activity, recorded with an in-memory exporter (no collector needed)."""

from __future__ import annotations

import uuid

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from tests.support.activities import order_activities
from tests.support.gateway import serve_gateway
from tests.support.routes import orders_route
from tests.support.signing import order_payload, signed
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.dev.temporal_server import TemporalDevServer
from webhook_gateway.observability import tracing
from workflows.example.order import OrderWorkflow


def _named(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert found, f"no span {name!r} in {[s.name for s in spans]}"
    return found[0]


async def test_a_request_is_one_trace_from_gateway_to_workflow_and_activity(
    dev_server: TemporalDevServer, client: Client
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    queue = f"ops-traces-{uuid.uuid4().hex[:8]}"
    config = parse_config({"routes": {"orders": orders_route(queue, "traced-")}})
    worker_client = await Client.connect(
        dev_server.address,
        data_converter=pydantic_data_converter,
        interceptors=tracing.client_interceptors(tracer),
    )
    body, headers = signed(order_payload())
    async with (
        Worker(
            worker_client,
            task_queue=queue,
            workflows=[OrderWorkflow],
            activities=[order_activities().validate_order],
        ),
        serve_gateway(config, client=client, tracer=tracer) as http,
    ):
        response = await http.post("/webhooks/orders", content=body, headers=headers)
        assert response.status_code == 202, response.text
        await client.get_workflow_handle(response.json()["workflow_id"]).result()

    spans = list(exporter.get_finished_spans())
    server = _named(spans, "POST /webhooks/orders")
    start = _named(spans, "StartWorkflow:OrderWorkflow")
    run = _named(spans, "RunWorkflow:OrderWorkflow")
    activity = _named(spans, "RunActivity:validate_order")
    assert server.kind == SpanKind.SERVER
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 202
    assert server.attributes["hooktide.workflow_id"] == response.json()["workflow_id"]
    trace_id = server.context.trace_id
    assert {s.context.trace_id for s in (start, run, activity)} == {trace_id}
    assert start.parent is not None and start.parent.span_id == server.context.span_id


def test_tracing_is_off_without_an_otlp_endpoint() -> None:
    settings = Settings()
    assert settings.otel_endpoint is None
    assert tracing.tracer(settings) is None
    assert tracing.client_interceptors(None) == []
    assert tracing.configure(settings, service="hooktide-test") is None
