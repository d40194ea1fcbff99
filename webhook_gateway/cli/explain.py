"""`hooktide explain ROUTE FILE [--header K:V]...`: what a route would do with FILE as its
body — the event type, each rule matched or not and why, each target's workflow id and
input, schema errors — without verifying a signature or touching Temporal."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from webhook_gateway.cli import common
from webhook_gateway.cli.output import Output, table
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.errors import GatewayError
from webhook_gateway.inbound.body import parse_body
from webhook_gateway.routing.explain import explain, sample
from webhook_gateway.routing.plan import Planner


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "explain",
        help="dry-run ROUTE on FILE: event type, rules matched and why, workflow ids, inputs",
        description="Show what ROUTE would do with FILE as its body (- reads standard input): "
        "the event type, each rule matched or not and why, the workflow id and input each "
        "target would get, and schema errors. Nothing is verified, started or stored.",
    )
    parser.add_argument("route")
    parser.add_argument("file")
    parser.add_argument(
        "--header", action="append", default=[], metavar="NAME:VALUE", help="a request header"
    )
    parser.add_argument("--query", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a path parameter"
    )
    parser.add_argument("--json", action="store_true", help="print the explanation as JSON")
    parser.set_defaults(func=run)


def _pairs(items: list[str], sep: str, what: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, found, value = item.partition(sep)
        if not found or not key.strip():
            raise ConfigError(f"{what} '{item}' must be NAME{sep}VALUE.")
        pairs[key.strip()] = value.strip()
    return pairs


def run(args: argparse.Namespace) -> int:
    route = common.route(common.config(common.settings()), args.route)
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read {args.file}: {exc.strerror}.") from exc
    headers = _pairs(args.header, ":", "Header")
    headers = {k.lower(): v for k, v in headers.items()}
    media = headers.setdefault("content-type", "application/json").split(";")[0].strip()
    try:
        body, _ = parse_body(media, raw)
    except GatewayError as exc:
        raise ConfigError(f"{args.file}: {exc.detail}") from exc
    delivery = sample(
        body=body,
        headers=headers,
        query=_pairs(args.query, "=", "Query parameter"),
        path_params=_pairs(args.param, "=", "Path parameter"),
        raw=raw,
        id_headers=route.verifier.id_headers,
    )
    report = explain(Planner(route, forwarded=route.forwarded_headers()), delivery)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(Output(), report)
    return 0 if report["outcome"] != "rejected" else 1


def _print(out: Output, report: dict[str, Any]) -> None:
    out.line(
        f"route {report['route']}: event type {report['event_type']!r}"
        + (f" (from {report['event_type_from']})" if "event_type_from" in report else "")
    )
    out.line(f"delivery id {report['delivery_id']}", "dim")
    if "delivery_id_error" in report:
        out.line(f"  {report['delivery_id_error']} (a delivery would be refused: 422)", "yellow")
    for error in report["schema_errors"]:
        out.line(f"schema: {error['pointer'] or '/'}: {error['message']}", "red")
    if "rules" in report:
        grid = table("RULE", "MATCH", "WHY")
        for rule in report["rules"]:
            mark = "chosen" if rule["chosen"] else ("yes" if rule["matched"] else "no")
            grid.add_row(rule["rule"], mark, rule["reason"])
        out.table(grid)
        out.line(f"fan_out {report['fan_out']}, otherwise {report['otherwise']}", "dim")
    for target in report["targets"]:
        name = target["rule"] or report["route"]
        if "error" in target:
            out.line(f"{name}: {target['error']}", "red")
            continue
        for error in target.get("schema_errors", []):
            out.line(f"{name}: schema: {error['pointer'] or '/'}: {error['message']}", "red")
        if "workflow" in target:
            out.line(
                f"{name}: {target['mode']} {target['workflow']} id {target['workflow_id']} "
                f"on {target['task_queue']}",
                "green",
            )
            if "sequencer" in target:  # flow control: the key's sequencer starts it in turn
                flow = target["sequencer"]
                order = "" if flow["order"] is None else f", order {flow['order']!r}"
                out.line(f"  via sequencer {flow['workflow_id']} (key {flow['key']!r}{order})")
            if "priority" in target:
                out.line(f"  priority: {json.dumps(target['priority'])}")
            out.line(f"  input: {json.dumps(target['input'])[:2000]}")
    styles = {"sent": "green", "ignored": "yellow", "rejected": "red"}
    out.line(f"outcome: {report['outcome']}", styles[report["outcome"]])
