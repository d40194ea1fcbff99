"""OpenTelemetry traces: a server span per gateway request, carried through the Temporal
client into the workflow and its activities by `temporalio.contrib.opentelemetry`.

Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then `configure` installs a tracer provider
that exports over OTLP/HTTP, and `client_interceptors` adds the SDK's `TracingInterceptor`
(a worker whose client has it traces workflows and activities as well). The span a request
makes is the parent of `StartWorkflow:<type>` (or `SignalWithStartWorkflow`, ...), whose
context travels in the workflow's headers to `RunWorkflow:<type>` and `RunActivity:<name>`.
"""

from __future__ import annotations

import time

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from webhook_gateway.config.settings import Settings

TRACER_NAME = "hooktide"


def configure(settings: Settings, *, service: str) -> TracerProvider | None:
    """Install the process's tracer provider when an OTLP endpoint is configured."""
    if not settings.otel_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = settings.otel_endpoint.rstrip("/") + "/v1/traces"
    resource = Resource.create({SERVICE_NAME: settings.otel_service_name or service})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    return provider


def tracer(settings: Settings) -> Tracer | None:
    """The process's tracer when tracing is on, else None (no spans, no headers added)."""
    return trace.get_tracer(TRACER_NAME) if settings.otel_endpoint else None


def client_interceptors(tracer: Tracer | None) -> list[Interceptor]:
    return [TracingInterceptor(tracer)] if tracer is not None else []


class TracingMiddleware:
    """One SERVER span per HTTP request, continuing a `traceparent` the sender may send."""

    def __init__(self, app: ASGIApp, *, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        parent = propagate.extract({"traceparent": headers.get("traceparent", "")})
        method, path = scope["method"], scope["path"]
        status = 500
        started = time.perf_counter()
        with self.tracer.start_as_current_span(
            f"{method} {path}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        ) as span:

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            try:
                await self.app(scope, receive, send_status)
            finally:
                span.set_attribute("http.response.status_code", status)
                span.set_attribute("hooktide.latency_ms", (time.perf_counter() - started) * 1e3)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
