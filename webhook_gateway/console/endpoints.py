"""Outbound endpoints (the route file's `subscriptions`) and their state, which the console
shows and changes.

An endpoint's state is its EndpointWorkflow (`hooktide-endpoint-<name>`, its `state`
query); no such workflow means enabled. Disabling is the signal-with-start the worker's
`disable_endpoint` activity does, on the worker's task queue (HOOKTIDE_TASK_QUEUE, which
every worker serves with Hooktide's own workflows); enabling is the `enable` signal, sent
the same way so that a state workflow that was closed is started again, enabled. Both are
audited with who did it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from starlette.responses import Response
from temporalio.client import WorkflowQueryFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from webhook_gateway.config.routes import HooktideConfig
from webhook_gateway.console.inbound import NotFound
from webhook_gateway.console.page import Ctx
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.outbound import EndpointState, Subscription, endpoint_workflow_id
from webhook_gateway.dispatch.temporal_errors import temporal_errors, workflow_missing
from webhook_gateway.operator import lookup

#: Failures counted per endpoint over this window.
FAILURES_SINCE = timedelta(hours=24)
#: What a probe of Temporal may raise; the page then says "unknown" for that figure.
UNANSWERED = (RPCError, TimeoutError, RuntimeError, WorkflowQueryFailedError)


@dataclass(frozen=True)
class EndpointRow:
    name: str
    where: str  # scheme, host and path: a query string may hold a credential
    events: list[str]
    configured: bool  # `enabled` in the route file
    state: EndpointState | None  # None: Temporal or the worker did not answer
    failures: int | None


def _where(url: str) -> str:
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}{query}"


async def endpoint_state(ctx: Ctx, name: str) -> EndpointState | None:
    handle = ctx.client.get_workflow_handle(endpoint_workflow_id(name))
    rpc = timedelta(seconds=ctx.settings.temporal_rpc_timeout)
    try:
        return await asyncio.wait_for(
            handle.query("state", result_type=EndpointState, rpc_timeout=rpc),
            timeout=rpc.total_seconds() + 0.5,
        )
    except RPCError as exc:
        return EndpointState(subscription=name) if workflow_missing(exc) else None
    except UNANSWERED:  # no worker in time; Temporal not reachable
        return None


async def _failures(ctx: Ctx, name: str) -> int | None:
    since = datetime.now(UTC) - FAILURES_SINCE
    query = lookup.Filter(endpoint=name, outcomes=("failed",), since=since).query(ctx.config)
    rpc = timedelta(seconds=ctx.settings.temporal_rpc_timeout)
    try:
        return (await ctx.client.count_workflows(query, rpc_timeout=rpc)).count
    except (*UNANSWERED, ConfigError):
        return None


async def _endpoint_row(ctx: Ctx, sub: Subscription) -> EndpointRow:
    state, failures = await asyncio.gather(endpoint_state(ctx, sub.name), _failures(ctx, sub.name))
    return EndpointRow(sub.name, _where(sub.url), sub.events, sub.enabled, state, failures)


async def endpoint_rows(ctx: Ctx) -> list[EndpointRow]:
    return list(await asyncio.gather(*(_endpoint_row(ctx, s) for s in ctx.config.subscriptions)))


def _subscription(config: HooktideConfig, name: str) -> Subscription:
    found = next((s for s in config.subscriptions if s.name == name), None)
    if found is None:
        raise NotFound(f"No endpoint '{name}' in the route file's subscriptions.")
    return found


async def disable(ctx: Ctx) -> Response:
    sub = _subscription(ctx.config, ctx.form.get("name"))
    note = ctx.form.get("note").strip()[:200]
    reason = f"disabled from the console by {ctx.who}" + (f": {note}" if note else "")
    with temporal_errors(retry_after=ctx.settings.retry_after_seconds):
        await ctx.client.start_workflow(
            "EndpointWorkflow",
            {"subscription": sub.name},
            id=endpoint_workflow_id(sub.name),
            task_queue=ctx.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="disable",
            start_signal_args=[{"subscription": sub.name, "reason": reason}],
            rpc_timeout=timedelta(seconds=ctx.settings.temporal_rpc_timeout),
        )
    ctx.audit("endpoint-disable", endpoint=sub.name, reason=reason)
    return ctx.redirect("/console/outbound?flash=disabled")


async def enable(ctx: Ctx) -> Response:
    sub = _subscription(ctx.config, ctx.form.get("name"))
    state = await endpoint_state(ctx, sub.name)
    if state is not None and not state.disabled:
        ctx.audit("endpoint-enable", endpoint=sub.name, changed=False)
        return ctx.redirect("/console/outbound?flash=was-enabled")
    # Signal-with-start: a state workflow that was closed (terminated) still answers its
    # last state, so a plain signal could not enable it.
    with temporal_errors(retry_after=ctx.settings.retry_after_seconds):
        await ctx.client.start_workflow(
            "EndpointWorkflow",
            {"subscription": sub.name},
            id=endpoint_workflow_id(sub.name),
            task_queue=ctx.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="enable",
            rpc_timeout=timedelta(seconds=ctx.settings.temporal_rpc_timeout),
        )
    ctx.audit("endpoint-enable", endpoint=sub.name, changed=True)
    return ctx.redirect("/console/outbound?flash=enabled")
