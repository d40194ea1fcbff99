"""`hooktide schema event|reply [--out FILE]`: the JSON Schema of what a workflow receives
or replies, as it travels through Temporal (contracts/wire.py), for workers in any SDK
language. schemas/webhook-event.json and schemas/webhook-reply.json are its output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.wire import WIRE_TYPES, wire_schema


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "schema",
        help="print the JSON Schema of the event a workflow receives or the reply it gives",
        description="Print the JSON Schema (draft 2020-12) of a WebhookEvent (event: what the "
        "gateway sends) or a WebhookReply (reply: what an update returns), as the JSON inside "
        "a Temporal payload with encoding json/plain; for workers in any SDK language.",
    )
    parser.add_argument("type", choices=sorted(WIRE_TYPES))
    parser.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    parser.set_defaults(func=run)


def render(name: str) -> str:
    """The schema as the committed files hold it: two-space indent, a final newline."""
    return json.dumps(wire_schema(name), indent=2, ensure_ascii=False) + "\n"


def run(args: argparse.Namespace) -> int:
    text = render(args.type)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot write {args.out}: {exc.strerror}.") from exc
    return 0
