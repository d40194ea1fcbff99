"""Inbound deliveries: the filterable list (from Temporal visibility, a page at a time with
its page token, never all), one delivery's detail (the event as its workflow received it,
decoded through the payload codec; status; steps; link to the Web UI), and redrive of one
or of every failed delivery a filter matches, previewed first. Redrive is the same
`lookup.plan` / `lookup.execute` that `hooktide deliveries redrive` runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from temporalio.client import WorkflowExecution, WorkflowExecutionDescription
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from webhook_gateway.config.routes import HooktideConfig
from webhook_gateway.console import page_tokens
from webhook_gateway.console.page import Ctx
from webhook_gateway.console.redrive import carry_out
from webhook_gateway.contracts import search_attributes as sa
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.dispatch.temporal_errors import temporal_errors, workflow_missing
from webhook_gateway.errors import MalformedBody, RequestRejected
from webhook_gateway.operator import lookup, steps

PAGE_SIZE = 50
#: A bulk redrive plans at most this many (narrow the filter for more).
MAX_BULK = 1000
PREVIEW_ROWS = 50
FILTERS = ("route", "rule", "event_type", "status", "since", "until", "delivery_id")
FLASH = {
    "redriven": "Redriven: a new run has started with the original input.",
}


class NotFound(RequestRejected):
    status = 404
    slug = "not-found"
    title = "Not found"


@dataclass(frozen=True)
class Listing:
    rows: list[dict[str, Any]]
    next_token: str | None


def parse_filter(values: dict[str, str], config: HooktideConfig) -> lookup.Filter:
    """The list's filter from its form fields; a wrong value is a 400 naming it."""
    try:
        route = config.route(values["route"]) if values.get("route") else None
    except KeyError:
        raise MalformedBody(f"No route named '{values['route']}'.") from None
    target = None
    if values.get("rule"):
        if route is None:
            raise MalformedBody("Choose the route of the rule too.")
        target = route.targets.get(values["rule"])
        if target is None:
            raise MalformedBody(f"Route '{route.name}' has no rule '{values['rule']}'.")
    status = values.get("status", "")
    if status and status not in lookup.STATUSES:
        raise MalformedBody(f"Unknown status '{status}'; use one of {', '.join(lookup.STATUSES)}.")
    workflow_ids = None
    if values.get("delivery_id"):
        routes = [route] if route else config.routes
        workflow_ids = tuple(w for _, w in lookup.candidates(routes, values["delivery_id"]))
    try:
        return lookup.Filter(
            route=route,
            target=target,
            statuses=(status,) if status else (),
            event_type=values.get("event_type") or None,
            since=lookup.parse_time(values["since"]) if values.get("since") else None,
            until=lookup.parse_time(values["until"]) if values.get("until") else None,
            workflow_ids=workflow_ids,
        )
    except ConfigError as exc:
        raise MalformedBody(str(exc)) from None


def _row(config: HooktideConfig, execution: WorkflowExecution) -> dict[str, Any]:
    target = lookup.target_of(config, execution)
    _, delivery = lookup.route_of(config, execution)
    found = execution.typed_search_attributes
    return {
        "route": target.route if target else "-",
        "rule": target.rule if target else None,
        "delivery_id": found.get(sa.DELIVERY_ID) or delivery,
        "event_type": found.get(sa.EVENT_TYPE),
        "workflow_id": execution.id,
        "run_id": execution.run_id,
        "workflow_type": execution.workflow_type,
        "status": lookup.status_name(execution.status),
        "started_at": execution.start_time,
        "closed_at": execution.close_time,
    }


async def _page(ctx: Ctx, query: str, token: bytes | None) -> Listing:
    rpc = timedelta(seconds=ctx.settings.temporal_rpc_timeout)
    with temporal_errors(retry_after=ctx.settings.retry_after_seconds):
        found = ctx.client.list_workflows(
            query, page_size=PAGE_SIZE, next_page_token=token, rpc_timeout=rpc
        )
        await found.fetch_next_page()
    rows = [_row(ctx.config, e) for e in found.current_page or []]
    ended = [r["workflow_id"] for r in rows if r["status"] in lookup.REDRIVABLE]
    with temporal_errors(retry_after=ctx.settings.retry_after_seconds):
        latest = await lookup.latest_runs(ctx.client, ended) if ended else {}
    for row in rows:
        row["superseded"] = latest.get(row["workflow_id"], row["run_id"]) != row["run_id"]
    following = found.next_page_token
    return Listing(rows, page_tokens.encode(ctx.settings, following) if following else None)


async def deliveries(ctx: Ctx) -> Response:
    values = {k: ctx.query.get(k, "") for k in FILTERS}
    problem = None
    try:
        chosen = parse_filter(values, ctx.config)
        listing = await _page(
            ctx,
            chosen.query(ctx.config),
            page_tokens.decode(ctx.settings, ctx.query.get("page", "")),
        )
    except MalformedBody as exc:
        problem, listing = exc.detail, Listing([], None)
    kept = {k: v for k, v in values.items() if v}
    return ctx.render(
        "inbound_list.html",
        values=values,
        kept=kept,
        listing=listing,
        problem=problem,
        statuses=list(lookup.STATUSES),
        routes=ctx.config.routes,
        next_url="/console/inbound?" + urlencode(kept | {"page": listing.next_token or ""}),
        first_url="/console/inbound?" + urlencode(kept),
        paged="page" in ctx.query,
        redrive_url="/console/inbound/redrive?" + urlencode(kept),
    )


async def _describe(ctx: Ctx, workflow_id: str, run_id: str | None) -> WorkflowExecutionDescription:
    if not workflow_id:
        raise MalformedBody("Name the delivery's workflow (?workflow_id=).")
    rpc = timedelta(seconds=ctx.settings.temporal_rpc_timeout)
    handle = ctx.client.get_workflow_handle(workflow_id, run_id=run_id or None)
    with temporal_errors(retry_after=ctx.settings.retry_after_seconds, workflow_id=workflow_id):
        try:
            return await handle.describe(rpc_timeout=rpc)
        except RPCError as exc:
            if workflow_missing(exc):
                raise NotFound(f"No workflow '{workflow_id}' in Temporal.") from None
            raise


async def delivery(ctx: Ctx) -> Response:
    desc = await _describe(ctx, ctx.query.get("workflow_id", ""), ctx.query.get("run_id"))
    client = ctx.client
    handle = client.get_workflow_handle(desc.id, run_id=desc.run_id)
    with temporal_errors(retry_after=ctx.settings.retry_after_seconds, workflow_id=desc.id):
        history = await handle.fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        try:
            inputs = await client.data_converter.decode(started.input.payloads)
            event: Any = inputs[0] if len(inputs) == 1 else inputs
            undecodable = None
        except Exception as exc:  # a payload this gateway's keys cannot open
            event, undecodable = None, f"{type(exc).__name__}: {exc}"
        redrives = await _redrives(ctx, desc.id)
    memo = await desc.memo()
    row = _row(ctx.config, desc)
    with temporal_errors(retry_after=ctx.settings.retry_after_seconds, workflow_id=desc.id):
        latest = (await lookup.latest_runs(client, [desc.id])).get(desc.id, desc.run_id)
    pending = list(desc.raw_description.pending_activities)
    await steps.decode_failures(history, pending, client.data_converter.payload_codec)
    summary = steps.summarize(history, pending)
    return ctx.render(
        "inbound_detail.html",
        row=row,
        desc=desc,
        event=_event_view(event),
        undecodable=undecodable,
        summary=summary,
        redrive_of=memo.get(lookup.REDRIVE_MEMO),
        redrives=redrives,
        redrivable=row["status"] in lookup.REDRIVABLE and latest == desc.run_id,
        latest_run=latest if latest != desc.run_id else None,
        flash=FLASH.get(ctx.query.get("flash", "")),
        signature=_signature(ctx, row["route"]),
    )


async def _redrives(ctx: Ctx, workflow_id: str) -> list[str]:
    """Runs started as `<id>-redrive-<n>` (a redrive of a run that had no reset point)."""
    try:
        query = f"WorkflowId STARTS_WITH {lookup.quoted(workflow_id + '-redrive-')}"
    except ConfigError:  # an id holding a quote cannot be searched by prefix
        return []
    return [e.id async for e in ctx.client.list_workflows(query, limit=20)]


def _signature(ctx: Ctx, route_name: str) -> str:
    try:
        route = ctx.config.route(route_name)
    except KeyError:
        return "unknown route"
    if route.verifier.type == "none":
        return "not signed (the route accepts unsigned requests)"
    return f"verified ({route.verifier.type}) before it was accepted"


def _event_view(event: Any) -> dict[str, Any] | None:
    """The event's fields for the page; the body pretty-printed (escaped by the template)."""
    if not isinstance(event, dict):
        return None if event is None else {"body": json.dumps(event, indent=2, default=str)}
    shown = dict(event)
    body = shown.pop("body", None)
    full = shown.pop("full_body", None)
    raw = shown.pop("raw_body", None)
    return {
        "fields": {k: v for k, v in shown.items() if k not in ("headers", "query", "path_params")},
        "headers": shown.get("headers") or {},
        "query": shown.get("query") or {},
        "body": json.dumps(body, indent=2, ensure_ascii=False, default=str),
        "full_body": json.dumps(full, indent=2, ensure_ascii=False) if full is not None else None,
        "raw_body": raw,
    }


async def redrive_one(ctx: Ctx) -> Response:
    desc = await _describe(ctx, ctx.form.get("workflow_id"), ctx.form.get("run_id"))
    with temporal_errors(retry_after=ctx.settings.retry_after_seconds, workflow_id=desc.id):
        planned = await lookup.plan(ctx.client, [desc])
        if not planned:
            raise NotRedrivable(
                f"'{desc.id}' is {lookup.status_name(desc.status)}: only failed, timed-out, "
                "terminated or canceled deliveries are redriven."
            )
        try:
            started = await lookup.execute(ctx.client, planned[0])
        except WorkflowAlreadyStartedError:
            raise NotRedrivable(f"'{desc.id}' is being redriven already.") from None
    ctx.audit("redrive", workflow_id=desc.id, run_id=desc.run_id, new_run_id=started.run_id)
    query = {
        "workflow_id": started.workflow_id,
        "run_id": started.run_id or "",
        "flash": "redriven",
    }
    return ctx.redirect("/console/inbound/delivery?" + urlencode(query))


class NotRedrivable(RequestRejected):
    status = 409
    slug = "not-redrivable"
    title = "Cannot be redriven"


async def plan_matching(ctx: Ctx, chosen: lookup.Filter) -> tuple[list[lookup.Step], bool]:
    """Every redrive the filter's failed deliveries need (at most MAX_BULK; True when there
    were more)."""
    statuses = chosen.statuses or ("failed", "timed-out")
    query = replace(chosen, statuses=statuses).query(ctx.config)
    with temporal_errors(retry_after=ctx.settings.retry_after_seconds):
        found = [e async for e in ctx.client.list_workflows(query, limit=MAX_BULK + 1)]
        planned = await lookup.plan(ctx.client, found[:MAX_BULK])
    return planned, len(found) > MAX_BULK


async def redrive_many(ctx: Ctx) -> Response:
    source = ctx.form.fields if ctx.request.method == "POST" else None
    values = {k: (ctx.form.get(k) if source is not None else ctx.query.get(k, "")) for k in FILTERS}
    chosen = parse_filter(values, ctx.config)
    if chosen.statuses and chosen.statuses[0] not in lookup.REDRIVABLE:
        raise MalformedBody(
            f"Deliveries that are {chosen.statuses[0]} are not redriven; choose failed, "
            "timed-out, terminated or canceled (or no status: failed and timed-out)."
        )
    planned, more = await plan_matching(ctx, chosen)
    kept = {k: v for k, v in values.items() if v}
    if ctx.request.method == "GET" or ctx.form.get("expected") != str(len(planned)):
        changed = ctx.request.method == "POST"
        return ctx.render(
            "inbound_redrive.html",
            planned=planned,
            shown=planned[:PREVIEW_ROWS],
            more=more,
            kept=kept,
            changed=changed,
            done=None,
            back="/console/inbound?" + urlencode(kept),
        )
    done = await carry_out(ctx, planned, action="redrive")
    ctx.audit("bulk-redrive", count=len(planned), filter=json.dumps(kept, sort_keys=True))
    return ctx.render(
        "inbound_redrive.html",
        planned=planned,
        shown=[],
        more=more,
        kept=kept,
        changed=False,
        done=done,
        back="/console/inbound?" + urlencode(kept),
    )
