"""`hooktide deliveries list | show | redrive`: the deliveries Temporal holds, found through
visibility, and their redrive."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from typing import Any

from temporalio.client import WorkflowExecution

from webhook_gateway.cli import common
from webhook_gateway.cli.common import CommandFailed
from webhook_gateway.cli.output import STATUS_STYLES, Output, table
from webhook_gateway.config.routes import HooktideConfig
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.dispatch.temporal_errors import temporal_errors
from webhook_gateway.errors import GatewayError
from webhook_gateway.operator import lookup
from webhook_gateway.operator.lookup import REDRIVABLE, STATUSES, Filter, Step


def _filter(args: argparse.Namespace, config: HooktideConfig, default: Sequence[str]) -> Filter:
    statuses = tuple(args.status.split(",")) if args.status else tuple(default)
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise ConfigError(f"Unknown status {unknown}; use any of {', '.join(STATUSES)}.")
    return Filter(
        route=common.route(config, args.route) if args.route else None,
        outbound=args.outbound,
        task_queue=args.task_queue,
        statuses=statuses,
        since=lookup.parse_time(args.since) if args.since else None,
        until=lookup.parse_time(args.until) if args.until else None,
        outcomes=_outcomes(args.outcome),
        event_type=args.event_type,
        endpoint=args.endpoint,
    )


def _outcomes(text: str | None) -> tuple[str, ...]:
    outcomes = tuple(text.split(",")) if text else ()
    unknown = [o for o in outcomes if o not in lookup.OUTCOMES]
    if unknown:
        raise ConfigError(f"Unknown outcome {unknown}; use any of {', '.join(lookup.OUTCOMES)}.")
    return outcomes


def _list(args: argparse.Namespace) -> int:
    settings = common.settings()
    config = common.config(settings)
    query = _filter(args, config, ()).query(config)

    async def rows() -> list[dict[str, Any]]:
        client = await common.client(settings)
        with temporal_errors(retry_after=settings.retry_after_seconds):
            found = client.list_workflows(query, limit=args.limit)
            return [await lookup.row(config, e) async for e in found]

    found = asyncio.run(rows())
    out = Output()
    if args.json:
        out.line(json.dumps(found, indent=2))
        return 0
    columns: tuple[str, ...] = ("status", "route", "delivery_id", "workflow_id", "started_at")
    if args.outbound or args.outcome or args.endpoint:
        columns = ("status", "outcome", "delivery_id", "started_at")
    grid = table(*(c.upper() for c in columns))
    for row in found:
        cells = [str(row[c] if row[c] is not None else "-") for c in columns]
        grid.add_row(*cells, style=STATUS_STYLES.get(cells[0]))
    out.table(grid)
    out.line(f"{len(found)} workflow(s)", "dim")
    return 0


def _candidates(config: HooktideConfig, delivery_id: str, route: str | None) -> list[str]:
    routes = [common.route(config, route)] if route else config.routes
    return [workflow_id for _, workflow_id in lookup.candidates(routes, delivery_id)]


def _show(args: argparse.Namespace) -> int:
    settings = common.settings()
    config = common.config(settings)
    ids = [args.workflow_id] if args.workflow_id else _candidates(config, args.id, args.route)

    async def show() -> dict[str, Any] | None:
        client = await common.client(settings)
        with temporal_errors(retry_after=settings.retry_after_seconds):
            found = await lookup.describe_existing(client, ids)
            if not found:
                return None
            desc = found[0]
            answer = await lookup.row(config, desc)
            handle = client.get_workflow_handle(desc.id, run_id=desc.run_id)
            history = await handle.fetch_history()
            started = history.events[0].workflow_execution_started_event_attributes
            inputs = await client.data_converter.decode(started.input.payloads)
            answer["input"] = inputs[0] if len(inputs) == 1 else inputs
            answer["history_events"] = len(history.events)
            last = history.events[-1]
            if last.HasField("workflow_execution_failed_event_attributes"):
                failure = last.workflow_execution_failed_event_attributes.failure
                messages = [failure.message]
                while failure.HasField("cause"):
                    failure = failure.cause
                    messages.append(failure.message)
                answer["failure"] = ": ".join(messages)
            query = f"WorkflowId STARTS_WITH {lookup.quoted(desc.id + '-redrive-')}"
            answer["redrives"] = [e.id async for e in client.list_workflows(query)]
            return answer

    answer = asyncio.run(show())
    if answer is None:
        raise CommandFailed(
            f"No workflow found for delivery '{args.id}' (tried {', '.join(ids) or 'none'}); "
            "name the route (--route) or the workflow (--workflow-id)."
        )
    out = Output()
    if args.json:
        out.line(json.dumps(answer, indent=2, default=str))
        return 0
    for key, value in answer.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        out.line(f"{key:>15}  {text}", STATUS_STYLES.get(value) if key == "status" else None)
    return 0


def _redrive(args: argparse.Namespace) -> int:
    settings = common.settings()
    config = common.config(settings)
    out = Output()
    by_id = bool(args.ids or args.workflow_id)
    if not by_id and not (args.route or args.outbound or args.since or args.endpoint):
        raise CommandFailed(
            "Name what to redrive: delivery ids, --workflow-id, --route, --outbound or --since."
        )
    outbound = args.outbound or args.endpoint
    default = ["completed", "failed", "timed-out"] if outbound else ["failed", "timed-out"]
    query = _filter(args, config, default).query(config)
    explicit = [w for d in args.ids for w in _candidates(config, d, args.route)]
    explicit += args.workflow_id

    async def redrive() -> int:
        client = await common.client(settings)
        with temporal_errors(retry_after=settings.retry_after_seconds):
            candidates: list[WorkflowExecution]
            if by_id:
                candidates = [*await lookup.describe_existing(client, explicit)]
            else:
                candidates = [e async for e in client.list_workflows(query, limit=args.limit)]
            steps: list[Step] = []
            with out.progress(len(candidates)) as step_on:
                for execution in candidates:
                    step_on(f"checking {execution.id}")
                    steps += await lookup.plan(client, [execution])
        if not steps:
            out.line("Nothing to redrive.", "green")
            return 0
        out.line(f"Plan: {len(steps)} redrive(s)", "bold")
        for step in steps:
            out.line(f"  {step.describe()}")
        if args.dry_run:
            out.line("Dry run: nothing was changed.", "dim")
            return 0
        if not args.yes:
            raise CommandFailed(f"Add --yes to carry out these {len(steps)} redrive(s).")
        failures = 0
        with out.progress(len(steps)) as step_on:
            for step in steps:
                step_on(f"redriving {step.workflow_id}")
                try:
                    with temporal_errors(retry_after=settings.retry_after_seconds):
                        started = await lookup.execute(client, step)
                except GatewayError as exc:
                    failures += 1
                    out.line(f"  failed   {step.workflow_id}: {exc}", "red")
                else:
                    out.line(f"  redriven {step.workflow_id} -> {started}", "green")
        return 1 if failures else 0

    return asyncio.run(redrive())


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--route", help="only this route's workflows")
    parser.add_argument(
        "--outbound", action="store_true", help="outbound webhook deliveries instead"
    )
    parser.add_argument("--task-queue", help="only workflows on this task queue")
    parser.add_argument(
        "--status", help=f"comma-separated, any of: {', '.join(STATUSES)}", metavar="S[,S]"
    )
    parser.add_argument(
        "--outcome",
        help="outbound deliveries by HooktideStatus (implies --outbound), comma-separated, "
        f"any of: {', '.join(lookup.OUTCOMES)}",
        metavar="O[,O]",
    )
    parser.add_argument("--event-type", help="only this event type (HooktideEventType)")
    parser.add_argument(
        "--endpoint", help="outbound deliveries to this subscription (implies --outbound)"
    )
    parser.add_argument("--since", help="started at or after: 30m, 2h, 7d or an ISO time")
    parser.add_argument("--until", help="started at or before: 30m, 2h, 7d or an ISO time")
    parser.add_argument("--limit", type=int, default=100, help="at most this many (100)")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    deliveries = sub.add_parser("deliveries", help="inspect and redrive deliveries")
    dsub = deliveries.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = dsub.add_parser("list", help="workflows started by deliveries (visibility)")
    _add_filters(listing)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_list)
    show = dsub.add_parser("show", help="one delivery's workflow: status, input, failure")
    show.add_argument("id", help="the delivery id")
    show.add_argument("--route", help="the route it came in on")
    show.add_argument("--workflow-id", help="the workflow id, when not derived from the id")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=_show)
    redrive = dsub.add_parser(
        "redrive",
        help="re-run failed deliveries with their original input",
        description="Re-run failed deliveries as new runs with their original input: inbound "
        "workflows are reset to their first workflow task (same workflow id); outbound "
        "deliveries that gave up are started again. Prints the plan; --dry-run stops there, "
        f"--yes carries it out. Redrivable inbound statuses: {', '.join(sorted(REDRIVABLE))}.",
    )
    redrive.add_argument("ids", nargs="*", metavar="DELIVERY_ID", help="delivery ids")
    redrive.add_argument(
        "--workflow-id", action="append", default=[], help="a workflow id (repeatable)"
    )
    _add_filters(redrive)
    redrive.add_argument("--dry-run", action="store_true", help="print the plan only")
    redrive.add_argument("--yes", action="store_true", help="carry out the plan")
    redrive.set_defaults(func=_redrive)
