"""Outbound: the route file's endpoints with their state (console/endpoints.py enables and
disables them); the recent deliveries, filtered and a page at a time (visibility page
tokens); one delivery's attempts, each with its HTTP answer, error and duration (the same
`delivery_status` as `GET /outbound/{id}`); and redrive of one delivery that gave up, or of
every one a filter matches, previewed first (`lookup.plan` / `execute`, as the API and
`hooktide deliveries redrive --outbound` do)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from temporalio.client import WorkflowExecution
from temporalio.service import RPCError, RPCStatusCode

from webhook_gateway.console import endpoints, page_tokens
from webhook_gateway.console.inbound import MAX_BULK, PREVIEW_ROWS
from webhook_gateway.console.page import Ctx
from webhook_gateway.console.redrive import carry_out
from webhook_gateway.contracts import search_attributes as sa
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.dispatch.temporal_errors import temporal_errors
from webhook_gateway.errors import MalformedBody
from webhook_gateway.operator import lookup
from webhook_gateway.operator import outbound as api

PAGE_SIZE = 50
FILTERS = ("endpoint", "outcome", "event_type", "since", "until")
#: Bulk redrive: `outcome=any` plans every delivery of the filter that gave up or was stopped.
ANY = "any"
FLASH = {
    "redriven": "Redriven: a new run delivers the original message again.",
    "disabled": "Endpoint disabled: new deliveries to it end at once as endpoint-disabled.",
    "enabled": "Endpoint enabled: deliveries to it are attempted again.",
    "was-enabled": "That endpoint was not disabled; nothing changed.",
}


def parse_filter(values: dict[str, str]) -> lookup.Filter:
    outcome = values.get("outcome", "")
    if outcome and outcome not in lookup.OUTCOMES:
        raise MalformedBody(
            f"Unknown outcome '{outcome}'; use one of {', '.join(lookup.OUTCOMES)}."
        )
    try:
        return lookup.Filter(
            outbound=True,
            endpoint=values.get("endpoint") or None,
            outcomes=(outcome,) if outcome else (),
            event_type=values.get("event_type") or None,
            since=lookup.parse_time(values["since"]) if values.get("since") else None,
            until=lookup.parse_time(values["until"]) if values.get("until") else None,
        )
    except ConfigError as exc:
        raise MalformedBody(str(exc)) from None


def _row(execution: WorkflowExecution) -> dict[str, Any]:
    found = execution.typed_search_attributes
    return {
        "workflow_id": execution.id,
        "run_id": execution.run_id,
        "endpoint": found.get(sa.ENDPOINT),
        "msg_id": found.get(sa.DELIVERY_ID),
        "event_type": found.get(sa.EVENT_TYPE),
        "outcome": found.get(sa.STATUS),
        "status": lookup.status_name(execution.status),
        "started_at": execution.start_time,
    }


async def _page(
    ctx: Ctx, query: str, token: bytes | None
) -> tuple[list[dict[str, Any]], str | None]:
    rpc = timedelta(seconds=ctx.settings.temporal_rpc_timeout)
    with temporal_errors(retry_after=ctx.settings.retry_after_seconds):
        found = ctx.client.list_workflows(
            query, page_size=PAGE_SIZE, next_page_token=token, rpc_timeout=rpc
        )
        try:
            await found.fetch_next_page()
        except RPCError as exc:
            if token is not None and exc.status == RPCStatusCode.INVALID_ARGUMENT:
                raise page_tokens.bad_token() from None  # one this query's pages never had
            raise
    following = found.next_page_token
    encoded = page_tokens.encode(ctx.settings, following) if following else None
    return [_row(e) for e in found.current_page or []], encoded


async def outbound(ctx: Ctx) -> Response:
    rows_of_endpoints = await endpoints.endpoint_rows(ctx)
    values = {k: ctx.query.get(k, "") for k in FILTERS}
    problem: str | None = None
    rows: list[dict[str, Any]] = []
    following: str | None = None
    try:
        query = parse_filter(values).query(ctx.config)
        rows, following = await _page(
            ctx, query, page_tokens.decode(ctx.settings, ctx.query.get("page", ""))
        )
    except MalformedBody as exc:
        problem = exc.detail
    kept = {k: v for k, v in values.items() if v}
    return ctx.render(
        "outbound_list.html",
        endpoints=rows_of_endpoints,
        failures_hours=int(endpoints.FAILURES_SINCE.total_seconds() // 3600),
        values=values,
        names=[s.name for s in ctx.config.subscriptions],
        outcomes=list(lookup.OUTCOMES),
        rows=rows,
        problem=problem,
        next_token=following,
        next_url="/console/outbound?" + urlencode(kept | {"page": following or ""}),
        first_url="/console/outbound?" + urlencode(kept),
        paged="page" in ctx.query,
        redrive_url="/console/outbound/redrive?" + urlencode(kept),
        flash=FLASH.get(ctx.query.get("flash", "")),
    )


async def delivery(ctx: Ctx) -> Response:
    workflow_id = ctx.query.get("workflow_id", "")
    if not workflow_id:
        raise MalformedBody("Name the delivery's workflow (?workflow_id=).")
    desc = await api.find_delivery(ctx.client, workflow_id, settings=ctx.settings)
    shown = await api.delivery_status(ctx.client, desc, settings=ctx.settings)
    with temporal_errors(retry_after=ctx.settings.retry_after_seconds):
        redrivable = bool(await lookup.plan(ctx.client, [desc]))
    attempts = shown["attempts"]
    last_error = next((a["error"] for a in reversed(attempts or []) if a.get("error")), None)
    return ctx.render(
        "outbound_detail.html",
        d=shown,
        attempts=attempts,
        last_error=last_error,
        redrivable=redrivable,
        flash=FLASH.get(ctx.query.get("flash", "")),
    )


async def redrive_one(ctx: Ctx) -> Response:
    desc = await api.find_delivery(ctx.client, ctx.form.get("workflow_id"), settings=ctx.settings)
    started = await api.redrive_delivery(ctx.client, desc, settings=ctx.settings)
    ctx.audit(
        "outbound-redrive", workflow_id=desc.id, run_id=desc.run_id, new_run_id=started.run_id
    )
    query = {"workflow_id": started.workflow_id, "flash": "redriven"}
    return ctx.redirect("/console/outbound/delivery?" + urlencode(query))


async def _plan(ctx: Ctx, chosen: lookup.Filter) -> tuple[list[lookup.Step], bool]:
    query = chosen.query(ctx.config)
    with temporal_errors(retry_after=ctx.settings.retry_after_seconds):
        found = [e async for e in ctx.client.list_workflows(query, limit=MAX_BULK + 1)]
        planned = await lookup.plan(ctx.client, found[:MAX_BULK])
    return planned, len(found) > MAX_BULK


async def redrive_many(ctx: Ctx) -> Response:
    posted = ctx.request.method == "POST"
    values = {k: (ctx.form.get(k) if posted else ctx.query.get(k, "")) for k in FILTERS}
    values["outcome"] = values["outcome"] or "failed"
    if values["outcome"] not in ("failed", ANY):
        raise MalformedBody(
            f"Deliveries that are {values['outcome']} are not redriven; choose outcome failed, "
            "or any (every delivery of the filter that gave up or was stopped)."
        )
    chosen = parse_filter(values | {"outcome": ""})
    if values["outcome"] == "failed":
        chosen = replace(chosen, outcomes=("failed",))
    planned, more = await _plan(ctx, chosen)
    kept = {k: v for k, v in values.items() if v}
    back = "/console/outbound?" + urlencode({k: v for k, v in kept.items() if v != ANY})
    any_url = "/console/outbound/redrive?" + urlencode(kept | {"outcome": ANY})
    common: dict[str, Any] = {
        "planned": planned,
        "more": more,
        "kept": kept,
        "back": back,
        "any_url": any_url,
    }
    if not posted or ctx.form.get("expected") != str(len(planned)):
        return ctx.render(
            "outbound_redrive.html",
            shown=planned[:PREVIEW_ROWS],
            changed=posted,
            done=None,
            **common,
        )
    done = await carry_out(ctx, planned, action="outbound-redrive")
    ctx.audit("outbound-bulk-redrive", count=len(planned), filter=json.dumps(kept, sort_keys=True))
    return ctx.render("outbound_redrive.html", shown=[], changed=False, done=done, **common)
