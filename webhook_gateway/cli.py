"""The `hooktide` command: run the stack, its parts, or send a signed test webhook."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import uuid
from pathlib import Path

import httpx

from webhook_gateway.config import load_config
from webhook_gateway.errors import ConfigError
from webhook_gateway.routes_table import routes_table
from webhook_gateway.settings import Settings
from webhook_gateway.verifiers.standard_webhooks import StandardWebhooksConfig, decode_secret, sign

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _gateway(args: argparse.Namespace) -> int:
    from webhook_gateway.app import create_app
    from webhook_gateway.server import serve
    from worker import exit_now

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    settings = Settings()
    serve(
        create_app(settings),
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
    from webhook_gateway.devstack import run_stack

    return asyncio.run(run_stack())


def _routes(args: argparse.Namespace) -> int:
    settings = Settings()
    print(
        routes_table(load_config(settings.config_path), f"http://{settings.host}:{settings.port}")
    )
    return 0


def _send(args: argparse.Namespace) -> int:
    settings = Settings()
    route = load_config(settings.config_path).route(args.route)
    body = Path(args.file).read_bytes()
    path = route.path
    for item in args.param:
        key, _, value = item.partition("=")
        path = path.replace("{" + key + "}", value)
    headers = {"content-type": args.content_type}
    delivery_id = args.id or f"msg_{uuid.uuid4().hex}"
    if isinstance(route.verifier, StandardWebhooksConfig):
        key = decode_secret(route.verifier.secret.resolve(route.name)[0], route=route.name)
        stamp = int(time.time())
        headers |= {
            "webhook-id": delivery_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(key, delivery_id, stamp, body),
        }
    url = (args.url or f"http://{settings.host}:{settings.port}") + path
    response = httpx.post(url, content=body, headers=headers, timeout=30)
    print(f"{response.status_code} {response.reason_phrase}")
    try:
        print(json.dumps(response.json(), indent=2))
    except ValueError:
        print(response.text)
    return 0 if response.is_success else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hooktide", description="Durable webhooks on Temporal.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start the local stack: Temporal, worker, gateway").set_defaults(
        func=_run
    )
    sub.add_parser("gateway", help="serve the webhook gateway").set_defaults(func=_gateway)
    sub.add_parser("worker", help="run the Temporal worker").set_defaults(func=_worker)
    sub.add_parser("routes", help="print the route table").set_defaults(func=_routes)
    send = sub.add_parser("send", help="sign FILE with ROUTE's settings and post it")
    send.add_argument("route")
    send.add_argument("file")
    send.add_argument("--id", help="delivery id (default: a new one)")
    send.add_argument("--param", action="append", default=[], help="path parameter NAME=VALUE")
    send.add_argument("--url", help="gateway base URL (default: from HOOKTIDE_HOST/PORT)")
    send.add_argument("--content-type", default="application/json")
    send.set_defaults(func=_send)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (ConfigError, KeyError, OSError, httpx.HTTPError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
