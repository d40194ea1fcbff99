"""The overview: per route, this replica's answers since it started (accepted, duplicate,
ignored, rejected by reason) and a chart of its last hour; beside them, what Temporal holds
for the route (workflows by status, from visibility), with links to the failures."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.responses import Response
from temporalio.client import Client
from temporalio.service import RPCError

from webhook_gateway.config.routes import Route
from webhook_gateway.console.chart import minutes_svg
from webhook_gateway.console.page import Ctx
from webhook_gateway.observability.metrics import GatewayMetrics
from webhook_gateway.observability.recent import ACCEPTED
from webhook_gateway.operator import lookup

SHOWN = ("accepted", "duplicate", "ignored")


@dataclass(frozen=True)
class RouteRow:
    name: str
    path: str
    sender: str
    counts: dict[str, int]
    rejected: dict[str, int]
    reasons: dict[str, int]
    temporal: dict[str, int] | None  # workflows by status; None when Temporal did not answer


async def overview(ctx: Ctx) -> Response:
    metrics: GatewayMetrics = ctx.request.app.state.metrics
    recent = metrics.recent
    rpc = timedelta(seconds=ctx.settings.temporal_rpc_timeout)
    held = await asyncio.gather(*(_held(ctx.client, ctx, r, rpc) for r in ctx.config.routes))
    rows = []
    for route, temporal in zip(ctx.config.routes, held, strict=True):
        outcomes = recent.outcomes(route.name)
        rows.append(
            RouteRow(
                name=route.name,
                path=route.path,
                sender=route.verifier.type,
                counts={k: outcomes.get(k, 0) for k in SHOWN},
                rejected={k: n for k, n in sorted(outcomes.items()) if k not in ACCEPTED},
                reasons=dict(sorted(recent.reasons(route.name).items())),
                temporal=temporal,
            )
        )
    return ctx.render(
        "overview.html",
        rows=rows,
        chart=minutes_svg(recent.per_minute(), label="Requests per minute, last hour"),
        since=datetime.fromtimestamp(recent.started, UTC),
        temporal_down=any(t is None for t in held),
    )


async def _held(client: Client, ctx: Ctx, route: Route, rpc: timedelta) -> dict[str, int] | None:
    query = lookup.Filter(route=route).query(ctx.config)
    try:
        counted = await client.count_workflows(f"{query} GROUP BY ExecutionStatus", rpc_timeout=rpc)
    except (RPCError, TimeoutError, RuntimeError):  # not answering, or not connected yet
        return None
    found: dict[str, int] = {}
    for group in counted.groups:
        status = str(group.group_values[0]) if group.group_values else "unknown"
        found[_STATUS_NAMES.get(status, status.lower())] = group.count
    return found


_STATUS_NAMES = {v: k for k, v in lookup.STATUSES.items()}
