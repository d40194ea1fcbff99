"""The `hooktide` command: run the stack or its parts, send a signed test webhook, inspect
and redrive deliveries, and check a deployment's configuration.

Errors the command knows (`ConfigError`, `GatewayError`, `CommandFailed`) are printed as
`Name: message` with exit status 1; anything else is a bug and keeps its traceback.
Colour only on a terminal, and never with NO_COLOR set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import httpx
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from webhook_gateway.cli import check as cli_check
from webhook_gateway.cli.routes_table import routes_table
from webhook_gateway.cli.sign import signed_headers
from webhook_gateway.config.routes import HooktideConfig, Route, load_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.secrets import SecretSource, SecretSources
from webhook_gateway.dispatch.temporal_client import connect
from webhook_gateway.dispatch.temporal_errors import temporal_errors
from webhook_gateway.errors import GatewayError
from webhook_gateway.operator import lookup as cli_deliveries
from webhook_gateway.operator.lookup import REDRIVABLE, STATUSES, Filter, Step

COLOURS = {"red": "31", "green": "32", "yellow": "33", "bold": "1", "dim": "2"}
STATUS_COLOURS = {"failed": "red", "timed-out": "red", "terminated": "yellow"}
STATUS_COLOURS |= {"canceled": "yellow", "completed": "green", "running": "bold"}


#: Commands that may open a Temporal client in this process.
TEMPORAL_COMMANDS = frozenset({"deliveries", "check"})


class CommandFailed(Exception):
    """The command could not do what was asked; the message says why."""


class Output:
    """Writes lines, coloured only when `stream` is a terminal and NO_COLOR is unset."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.colour = self.tty and not os.environ.get("NO_COLOR")

    def paint(self, text: str, style: str | None) -> str:
        if not self.colour or style is None:
            return text
        return f"\x1b[{COLOURS[style]}m{text}\x1b[0m"

    def line(self, text: str = "", style: str | None = None) -> None:
        print(self.paint(text, style), file=self.stream, flush=True)

    @staticmethod
    def progress(done: int, total: int, label: str) -> None:
        """A progress line on stderr that rewrites itself, on a terminal only."""
        if sys.stderr.isatty():
            end = "\n" if done == total else ""
            sys.stderr.write(f"\r\x1b[K[{done}/{total}] {label}{end}")
            sys.stderr.flush()


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(cli_check.describe_settings_error(exc)) from exc


def _config(settings: Settings) -> HooktideConfig:
    return load_config(settings.config_path)


def _route(config: HooktideConfig, name: str) -> Route:
    try:
        return config.route(name)
    except KeyError:
        known = ", ".join(r.name for r in config.routes)
        raise ConfigError(f"No route named '{name}'; the routes are: {known}.") from None


async def _client(settings: Settings) -> Client:
    with temporal_errors(retry_after=settings.retry_after_seconds):
        return await connect(settings)


# -- processes ---------------------------------------------------------------------------


def _gateway(args: argparse.Namespace) -> int:
    from webhook_gateway.app import create_app
    from webhook_gateway.observability.process import setup_process
    from webhook_gateway.server import serve
    from worker import exit_now

    settings = _settings()
    config = _config(settings)
    setup_process(settings, service="hooktide-gateway", config=config)
    serve(
        create_app(settings, config=config),
        host=settings.host,
        port=settings.port,
        drain_seconds=settings.drain_seconds,
    )
    exit_now(0)
    return 0


def _worker(args: argparse.Namespace) -> int:
    import worker

    worker.main()
    return 0


def _run(args: argparse.Namespace) -> int:
    from webhook_gateway.dev.stack import run_stack

    return asyncio.run(run_stack())


# -- routes, send, check -----------------------------------------------------------------


def _routes(args: argparse.Namespace) -> int:
    settings = _settings()
    table = routes_table(_config(settings), f"http://{settings.host}:{settings.port}")
    out = Output(sys.stdout)
    head, _, rest = table.partition("\n")
    out.line(head, "bold")
    out.line(rest)
    return 0


def _dev_secret_fallback(route: Route) -> None:
    """Beside `make run`, a second terminal lacks its variables: sign with the same dev
    values, for the route's own secret variables only, and say so."""
    from webhook_gateway.dev.stack import DEV_ENV

    names = {
        name
        for value in vars(route.verifier).values()
        if isinstance(value, SecretSource | SecretSources)
        for name in value.env_names()
    }
    fallback = sorted(n for n in names if n in DEV_ENV and not os.environ.get(n))
    if fallback:
        os.environ.update({n: DEV_ENV[n] for n in fallback})
        print(f"(signing with the development value of {', '.join(fallback)})", file=sys.stderr)


def _send(args: argparse.Namespace) -> int:
    settings = _settings()
    route = _route(_config(settings), args.route)
    _dev_secret_fallback(route)
    try:
        body = Path(args.file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read {args.file}: {exc.strerror}.") from exc
    path = route.path
    for item in args.param:
        key, _, value = item.partition("=")
        path = path.replace("{" + key + "}", value)
    url = (args.url or f"http://{settings.host}:{settings.port}").rstrip("/") + path
    delivery_id = args.id or f"msg_{uuid.uuid4().hex}"
    headers = {"content-type": args.content_type}
    headers |= signed_headers(route, body, delivery_id=delivery_id, url=url)
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        raise CommandFailed(f"POST {url} failed: {exc}") from exc
    out = Output(sys.stdout)
    out.line(
        f"{response.status_code} {response.reason_phrase}",
        "green" if response.is_success else "red",
    )
    try:
        out.line(json.dumps(response.json(), indent=2))
    except ValueError:
        out.line(response.text)
    return 0 if response.is_success else 1


def _check(args: argparse.Namespace) -> int:
    out = Output(sys.stdout)
    problems = cli_check.problems(connect_temporal=args.temporal)
    for note in cli_check.notes():
        out.line(f"note: {note}", "dim")
    for warning in cli_check.warnings():
        out.line(f"warning: {warning}", "yellow")
    if not problems:
        out.line("OK: the route file and the environment are valid.", "green")
        return 0
    out.line(f"{len(problems)} problem(s):", "red")
    for problem in problems:
        out.line(f"  - {problem}")
    return 1


# -- deliveries --------------------------------------------------------------------------


def _filter(args: argparse.Namespace, config: HooktideConfig, default: Sequence[str]) -> Filter:
    statuses = tuple(args.status.split(",")) if args.status else tuple(default)
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise ConfigError(f"Unknown status {unknown}; use any of {', '.join(STATUSES)}.")
    return Filter(
        route=_route(config, args.route) if args.route else None,
        outbound=args.outbound,
        task_queue=args.task_queue,
        statuses=statuses,
        since=cli_deliveries.parse_time(args.since) if args.since else None,
        until=cli_deliveries.parse_time(args.until) if args.until else None,
        outcomes=_outcomes(args.outcome),
    )


def _outcomes(text: str | None) -> tuple[str, ...]:
    outcomes = tuple(text.split(",")) if text else ()
    unknown = [o for o in outcomes if o not in cli_deliveries.OUTCOMES]
    if unknown:
        raise ConfigError(
            f"Unknown outcome {unknown}; use any of {', '.join(cli_deliveries.OUTCOMES)}."
        )
    return outcomes


def _list(args: argparse.Namespace) -> int:
    settings = _settings()
    config = _config(settings)
    query = _filter(args, config, ()).query(config)

    async def rows() -> list[dict[str, Any]]:
        client = await _client(settings)
        with temporal_errors(retry_after=settings.retry_after_seconds):
            found = client.list_workflows(query, limit=args.limit)
            return [await cli_deliveries.row(config, e) async for e in found]

    found = asyncio.run(rows())
    out = Output(sys.stdout)
    if args.json:
        out.line(json.dumps(found, indent=2))
        return 0
    columns: tuple[str, ...] = ("status", "route", "delivery_id", "workflow_id", "started_at")
    if args.outbound or args.outcome:
        columns = ("status", "outcome", "delivery_id", "started_at")
    table = [[str(r[c] if r[c] is not None else "-") for c in columns] for r in found]
    widths = [max([len(c), *(len(t[i]) for t in table)]) for i, c in enumerate(columns)]
    out.line("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)), "bold")
    for cells in table:
        text = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        out.line(text, STATUS_COLOURS.get(cells[0]))
    out.line(f"{len(found)} workflow(s)", "dim")
    return 0


def _candidates(config: HooktideConfig, delivery_id: str, route: str | None) -> list[str]:
    routes = [_route(config, route)] if route else config.routes
    ids = [
        r.workflow_id_rule.prefix + delivery_id for r in routes if not r.workflow_id_rule.sources()
    ]
    return list(dict.fromkeys(ids))


async def _describe(client: Client, workflow_ids: Sequence[str]) -> list[Any]:
    """The latest run of each workflow id that exists."""
    found = []
    for workflow_id in workflow_ids:
        try:
            found.append(await client.get_workflow_handle(workflow_id).describe())
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
    return found


def _show(args: argparse.Namespace) -> int:
    settings = _settings()
    config = _config(settings)
    ids = [args.workflow_id] if args.workflow_id else _candidates(config, args.id, args.route)

    async def show() -> dict[str, Any] | None:
        client = await _client(settings)
        with temporal_errors(retry_after=settings.retry_after_seconds):
            found = await _describe(client, ids)
            if not found:
                return None
            desc = found[0]
            answer = await cli_deliveries.row(config, desc)
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
            query = f"WorkflowId STARTS_WITH {cli_deliveries._quoted(desc.id + '-redrive-')}"
            answer["redrives"] = [e.id async for e in client.list_workflows(query)]
            return answer

    answer = asyncio.run(show())
    if answer is None:
        raise CommandFailed(
            f"No workflow found for delivery '{args.id}' (tried {', '.join(ids) or 'none'}); "
            "name the route (--route) or the workflow (--workflow-id)."
        )
    out = Output(sys.stdout)
    if args.json:
        out.line(json.dumps(answer, indent=2, default=str))
        return 0
    for key, value in answer.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        out.line(f"{key:>15}  {text}", STATUS_COLOURS.get(value) if key == "status" else None)
    return 0


def _redrive(args: argparse.Namespace) -> int:
    settings = _settings()
    config = _config(settings)
    out = Output(sys.stdout)
    by_id = bool(args.ids or args.workflow_id)
    if not by_id and not (args.route or args.outbound or args.since):
        raise CommandFailed(
            "Name what to redrive: delivery ids, --workflow-id, --route, --outbound or --since."
        )
    default = ["completed", "failed", "timed-out"] if args.outbound else ["failed", "timed-out"]
    filt = _filter(args, config, default)
    query = filt.query(config)
    explicit = [w for d in args.ids for w in _candidates(config, d, args.route)]
    explicit += args.workflow_id

    async def redrive() -> int:
        client = await _client(settings)
        with temporal_errors(retry_after=settings.retry_after_seconds):
            if by_id:
                candidates = await _describe(client, explicit)
            else:
                candidates = [e async for e in client.list_workflows(query, limit=args.limit)]
            steps: list[Step] = []
            for done, execution in enumerate(candidates, 1):
                out.progress(done, len(candidates), f"checking {execution.id}")
                steps += await cli_deliveries.plan(client, [execution])
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
        for done, step in enumerate(steps, 1):
            out.progress(done, len(steps), f"redriving {step.workflow_id}")
            try:
                with temporal_errors(retry_after=settings.retry_after_seconds):
                    started = await cli_deliveries.execute(client, step)
            except GatewayError as exc:
                failures += 1
                out.line(f"  failed   {step.workflow_id}: {exc}", "red")
            else:
                out.line(f"  redriven {step.workflow_id} -> {started}", "green")
        return 1 if failures else 0

    return asyncio.run(redrive())


# -- the parser --------------------------------------------------------------------------


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
        f"any of: {', '.join(cli_deliveries.OUTCOMES)}",
        metavar="O[,O]",
    )
    parser.add_argument("--since", help="started at or after: 30m, 2h, 7d or an ISO time")
    parser.add_argument("--until", help="started at or before: 30m, 2h, 7d or an ISO time")
    parser.add_argument("--limit", type=int, default=100, help="at most this many (100)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hooktide",
        description="Durable webhooks on Temporal. Settings come from the environment "
        "(HOOKTIDE_*, TEMPORAL_*; see docs/OPERATIONS.md).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="start the local stack: Temporal, worker, gateway").set_defaults(
        func=_run
    )
    sub.add_parser("gateway", help="serve the webhook gateway").set_defaults(func=_gateway)
    sub.add_parser("worker", help="run the Temporal worker").set_defaults(func=_worker)
    sub.add_parser("routes", help="print the route table").set_defaults(func=_routes)

    send = sub.add_parser(
        "send",
        help="sign FILE with ROUTE's verifier settings and post it",
        description="Sign FILE as ROUTE's verifier expects (standard_webhooks, github, stripe, "
        "shopify, slack, twilio form bodies, hmac, bearer, api_key, basic) and POST it.",
    )
    send.add_argument("route")
    send.add_argument("file")
    send.add_argument("--id", help="delivery id (default: a new one)")
    send.add_argument("--param", action="append", default=[], help="path parameter NAME=VALUE")
    send.add_argument("--url", help="gateway base URL (default: from HOOKTIDE_HOST/PORT)")
    send.add_argument("--content-type", default="application/json")
    send.set_defaults(func=_send)

    check = sub.add_parser(
        "check",
        help="validate the route file and the environment; exit 1 on any problem",
        description="Load the route file, resolve every route's secrets, validate every "
        "HOOKTIDE_*/TEMPORAL_* variable and the files they name; print every problem.",
    )
    check.add_argument("--temporal", action="store_true", help="also connect to Temporal")
    check.set_defaults(func=_check)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (ConfigError, GatewayError, CommandFailed) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        code = 1
    if args.command in TEMPORAL_COMMANDS:
        # A Temporal client's Rust threads can abort the interpreter's teardown (see
        # worker.exit_now); everything is done and flushed, so leave without one.
        from worker import exit_now

        exit_now(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
