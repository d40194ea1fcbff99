"""The one record each webhook request leaves: a log line, metrics, and span attributes."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from opentelemetry import trace
from starlette.requests import Request

from webhook_gateway.config.routes import Route
from webhook_gateway.observability.metrics import GatewayMetrics

log = logging.getLogger("hooktide.gateway")


@dataclass
class Outcome:
    """What is known of a request so far; filled in as it is verified and routed."""

    delivery_id: str | None = None
    workflow_id: str | None = None  # the first target's
    event_type: str | None = None
    rules: list[str] = field(default_factory=list)  # the rules that took it


def request_done(
    request: Request,
    route: Route,
    known: Outcome,
    *,
    outcome: str,
    status: int,
    started: float,
    reason: str | None = None,
    client_ip: str | None = None,
) -> None:
    """`outcome` is `accepted`, `duplicate`, `ignored`, `answered-by-verifier`,
    `answered-handshake` or the error's slug; `reason` is the verifier's reason when
    verification failed. Metrics are labelled by route, mode and rule, never by the raw
    event type (a sender may send any number of them)."""
    seconds = time.perf_counter() - started
    mode = "rules" if route.rules else route.mode
    metrics: GatewayMetrics | None = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.request_done(
            route=route.name, mode=mode, outcome=outcome, status=status, seconds=seconds
        )
        if reason is not None:
            metrics.verification_failed(route=route.name, reason=reason)
        if outcome in ("accepted", "duplicate"):
            for rule in known.rules:
                metrics.rule_matched(route=route.name, rule=rule)
    fields = {
        "route": route.name,
        "mode": mode,
        "method": request.method,
        "path": request.url.path,
        "delivery_id": known.delivery_id,
        "workflow_id": known.workflow_id,
        "event_type": known.event_type,
        "rules": ",".join(known.rules) if known.rules else None,
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
