"""The one record each webhook request leaves: a log line, metrics, and span attributes."""

from __future__ import annotations

import logging
import time

from opentelemetry import trace
from starlette.requests import Request

from webhook_gateway.config.routes import Route
from webhook_gateway.observability.metrics import GatewayMetrics

log = logging.getLogger("hooktide.gateway")


def request_done(
    request: Request,
    route: Route,
    *,
    outcome: str,
    status: int,
    started: float,
    delivery_id: str | None,
    workflow_id: str | None,
    reason: str | None = None,
    client_ip: str | None = None,
) -> None:
    """`outcome` is `accepted`, `duplicate`, `answered-by-verifier` or the error's slug;
    `reason` is the verifier's reason when verification failed."""
    seconds = time.perf_counter() - started
    metrics: GatewayMetrics | None = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.request_done(
            route=route.name, mode=route.mode, outcome=outcome, status=status, seconds=seconds
        )
        if reason is not None:
            metrics.verification_failed(route=route.name, reason=reason)
    fields = {
        "route": route.name,
        "mode": route.mode,
        "method": request.method,
        "path": request.url.path,
        "delivery_id": delivery_id,
        "workflow_id": workflow_id,
        "outcome": outcome,
        "status": status,
        "latency_ms": round(seconds * 1000, 2),
        "client_ip": client_ip,
    }
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(
            {f"hooktide.{k}": v for k, v in fields.items() if isinstance(v, str | int | float)}
        )
    log.info("webhook %s %s -> %d", request.method, request.url.path, status, extra=fields)
