"""The `hooktide` command: run the stack or its parts, send a signed test webhook, inspect
and redrive deliveries, and check a deployment's configuration.

Errors the command knows (`ConfigError`, `GatewayError`, `CommandFailed`) are printed as
`Name: message` with exit status 1; anything else is a bug and keeps its traceback.
What it prints goes through `cli/output.py` (rich): colour only on a terminal, and never
with NO_COLOR set. The subcommands are plain argparse: a small tree, and no dependency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import httpx

from webhook_gateway.cli import check as cli_check
from webhook_gateway.cli import common, deliveries, explain, flow, init, keys, schema
from webhook_gateway.cli.common import CommandFailed
from webhook_gateway.cli.output import Output
from webhook_gateway.cli.routes_table import routes_grid
from webhook_gateway.cli.sign import signed_headers
from webhook_gateway.config.routes import Route
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.secrets import SecretSource, SecretSources
from webhook_gateway.errors import GatewayError

#: Commands that may open a Temporal client in this process.
TEMPORAL_COMMANDS = frozenset({"deliveries", "check", "flow"})


# -- processes ---------------------------------------------------------------------------


def _gateway(args: argparse.Namespace) -> int:
    from webhook_gateway.app import create_app
    from webhook_gateway.observability.process import setup_process
    from webhook_gateway.server import serve
    from worker import exit_now

    settings = common.settings()
    config = common.config(settings)
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
    settings = common.settings()
    base = f"http://{settings.host}:{settings.port}"
    Output().table(routes_grid(common.config(settings), base))
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
    settings = common.settings()
    route = common.route(common.config(settings), args.route)
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
    out = Output()
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
    out = Output()
    report = cli_check.check(connect_temporal=args.temporal, worker=args.worker)
    problems = report.problems
    for module, types in (report.registered or {}).items():
        out.line(f"worker module {module}: {', '.join(types) or '(activities only)'}", "dim")
    for note in cli_check.notes():
        out.line(f"note: {note}", "dim")
    for warning in report.warnings:
        out.line(f"warning: {warning}", "yellow")
    if not problems:
        out.line("OK: the route file and the environment are valid.", "green")
        return 0
    out.line(f"{len(problems)} problem(s):", "red")
    for problem in problems:
        out.line(f"  - {problem}")
    return 1


# -- the parser --------------------------------------------------------------------------


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
        "shopify, slack, twilio form bodies, zoom, meta, microsoft_graph, hmac, bearer, "
        "api_key, basic) and POST it.",
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
    check.add_argument(
        "--worker",
        action="store_true",
        help="also load the worker's plug-ins; list their workflow types and flag routes "
        "whose type none registers",
    )
    check.set_defaults(func=_check)

    deliveries.add_parser(sub)
    flow.add_parser(sub)
    explain.add_parser(sub)
    init.add_parser(sub)
    schema.add_parser(sub)
    keys.add_parser(sub)
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
