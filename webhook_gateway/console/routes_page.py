"""Routes: the route table (each route's path, methods, sender, where its events go, its
rules) and the explain form: paste a request's headers, query string and body, and see what
the route would do with it, rule by rule: the same `explain(Planner(...), sample(...))` that
`hooktide explain` and `POST /routes/{name}/explain` run. Nothing is verified, started or
stored, so explaining is not audited; the form is still a POST and carries its CSRF token.

A verifier's configuration names where its secrets are read from: only its type is shown."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.responses import Response

from webhook_gateway.config.id_rule import IdRule
from webhook_gateway.config.routes import HooktideConfig, Route
from webhook_gateway.config.target import Target
from webhook_gateway.console.page import Ctx
from webhook_gateway.errors import GatewayError, MalformedBody
from webhook_gateway.inbound.body import parse_body
from webhook_gateway.routing.explain import explain, sample
from webhook_gateway.routing.plan import Planner

FIELDS = ("route", "headers", "query", "path_params", "body")
EXAMPLE_HEADERS = "Content-Type: application/json"


@dataclass(frozen=True)
class TargetRow:
    rule: str | None
    events: list[str]
    when: str | None
    input: str | None
    workflow: str
    mode: str
    task_queue: str
    workflow_id: str


@dataclass(frozen=True)
class RouteRow:
    name: str
    path: str
    methods: list[str]
    verifier: str
    delivery_id: str
    event_type: str | None
    content_types: list[str]
    targets: list[TargetRow]
    has_rules: bool
    fan_out: str
    otherwise: str


def _id(rule: IdRule) -> str:
    return f"{rule.prefix}<{rule.describe()}>"


def _target(route: Route, target: Target) -> TargetRow:
    rule = route.rule(target.rule) if target.rule is not None else None
    return TargetRow(
        rule=target.rule,
        events=list(rule.events) if rule else [],
        when=rule.when if rule else None,
        input=rule.input if rule else None,
        workflow=target.workflow,
        mode=target.mode,
        task_queue=target.task_queue,
        workflow_id=_id(target.workflow_id),
    )


def route_rows(config: HooktideConfig) -> list[RouteRow]:
    return [
        RouteRow(
            name=r.name,
            path=r.path,
            methods=list(r.methods),
            verifier=r.verifier.type,
            delivery_id=r.delivery_id_rule.describe(),
            event_type=r.event_type_rule.describe() if r.event_type_rule else None,
            content_types=list(r.content_types),
            targets=[_target(r, t) for t in r.targets.values()],
            has_rules=bool(r.rules),
            fan_out=r.fan_out,
            otherwise=r.otherwise,
        )
        for r in config.routes
    ]


async def routes(ctx: Ctx) -> Response:
    return ctx.render("routes.html", rows=route_rows(ctx.config))


def _headers(text: str) -> dict[str, str]:
    """`Name: value`, one a line (as `hooktide explain --header`), names lower-cased."""
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise MalformedBody(f"Header line {number} is not 'Name: value': {line[:80]!r}.")
        found[name.strip().lower()] = value.strip()
    return found


def _path_params(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip():
            raise MalformedBody(f"Path parameter line {number} is not 'name=value'.")
        found[name.strip()] = value.strip()
    return found


def run_explain(route: Route, values: dict[str, str]) -> dict[str, Any]:
    """What `hooktide explain ROUTE FILE --header ...` reports for these form fields; the
    body is parsed as the endpoint parses it (JSON unless Content-Type says otherwise)."""
    headers = _headers(values["headers"])
    media = headers.setdefault("content-type", "application/json").split(";")[0].strip()
    raw = values["body"].encode("utf-8")
    try:
        body, _ = parse_body(media, raw)
    except GatewayError as exc:
        raise MalformedBody(f"Body: {exc.detail}") from None
    query = parse_qs(values["query"].strip().lstrip("?"), keep_blank_values=True)
    delivery = sample(
        body=body,
        headers=headers,
        query={k: v[0] if len(v) == 1 else v for k, v in query.items()},
        path_params=_path_params(values["path_params"]),
        raw=raw,
        id_headers=route.verifier.id_headers,
    )
    return explain(Planner(route, forwarded=route.forwarded_headers()), delivery)


async def explain_page(ctx: Ctx) -> Response:
    posted = ctx.request.method == "POST"
    values = {k: (ctx.form.get(k) if posted else ctx.query.get(k, "")) for k in FIELDS}
    if not posted and not values["headers"]:
        values["headers"] = EXAMPLE_HEADERS
    report, problem = None, None
    if posted:
        try:
            try:
                route = ctx.config.route(values["route"])
            except KeyError:
                raise MalformedBody(f"No route named '{values['route']}'.") from None
            report = run_explain(route, values)
        except MalformedBody as exc:
            problem = exc.detail
    return ctx.render(
        "routes_explain.html",
        status=400 if problem else 200,
        values=values,
        names=[r.name for r in ctx.config.routes],
        problem=problem,
        report=report,
        report_json=json.dumps(report, indent=2) if report is not None else None,
        inputs=[
            json.dumps(t.get("input"), indent=2, ensure_ascii=False)
            for t in (report or {}).get("targets", [])
        ],
        rows=route_rows(ctx.config),
    )
