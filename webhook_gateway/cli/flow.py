"""`hooktide flow show | stuck | release`: flow control's sequencers (docs/FLOW_CONTROL.md),
through the same functions as the operator API's /flow endpoints (operator/flow.py)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json

from webhook_gateway.cli import common
from webhook_gateway.cli.common import CommandFailed
from webhook_gateway.cli.output import STATUS_STYLES, Output, table
from webhook_gateway.config.routes import HooktideConfig
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.flow import SequencerView
from webhook_gateway.operator import flow


def _config(settings: Settings) -> HooktideConfig | None:
    """The route file, for hints only: a key is shown and released without it (its route
    may be gone, or a secret unset where the command runs)."""
    try:
        return common.config(settings)
    except ConfigError:
        return None


def _show(args: argparse.Namespace) -> int:
    settings = common.settings()
    config = _config(settings)

    async def show() -> flow.Sequencer:
        client = await common.client(settings)
        return await flow.show(client, args.target, args.key, settings=settings, config=config)

    found = asyncio.run(show())
    out = Output()
    if args.json:
        out.line(json.dumps(found.json(), indent=2))
        return 0
    _print_view(out, found.workflow_id, found.view)
    return 0


def _print_view(out: Output, workflow_id: str, view: SequencerView) -> None:
    oldest = view.oldest_waiting_at.isoformat() if view.oldest_waiting_at else "-"
    limit = "unbounded" if view.settings.limit is None else str(view.settings.limit)
    rows: list[tuple[str, str, str | None]] = [
        ("target", view.target, None),
        ("key", view.key, None),
        ("sequencer", workflow_id, None),
        ("waiting", f"{view.waiting} (oldest since {oldest})", None),
        ("next up", ", ".join(view.next_up) or "-", None),
        ("running", ", ".join(r.workflow_id for r in view.running) or "-", None),
    ]
    if view.blocked is not None:
        b = view.blocked
        rows.append(
            (
                "blocked",
                f"{b.workflow_id} ({b.status} since {b.since.isoformat()}; delivery "
                f"{b.delivery_id})",
                STATUS_STYLES.get(b.status, "red"),
            )
        )
    else:
        rows.append(("blocked", "no", None))
    rows += [
        ("late", ", ".join(view.late) or "-", None),
        ("last order", "-" if view.last_order is None else str(view.last_order), None),
        ("started", str(view.started), None),
        ("limit", limit, None),
    ]
    for name, value, style in rows:
        out.line(f"{name:>10}  {value}", style)
    if view.blocked is not None:
        out.line(
            f"release with: hooktide flow release {view.target} {view.key} --skip|--redrive",
            "dim",
        )


def _stuck(args: argparse.Namespace) -> int:
    settings = common.settings()

    async def stuck() -> list[flow.Stuck]:
        client = await common.client(settings)
        return await flow.stuck(client, settings=settings, route=args.route, limit=args.limit)

    found = asyncio.run(stuck())
    out = Output()
    if args.json:
        out.line(json.dumps([s.json() for s in found], indent=2))
        return 0
    if not found:
        out.line("No key is blocked.", "green")
        return 0
    grid = table("TARGET", "KEY", "BLOCKED BY", "STATUS", "SINCE", "WAITING")
    for entry in found:
        grid.add_row(*_stuck_row(entry))
    out.table(grid)
    out.line(f"{len(found)} blocked key(s); release one with: hooktide flow release TARGET KEY "
             "--skip|--redrive", "dim")  # fmt: skip
    return 0


def _stuck_row(entry: flow.Stuck) -> list[str]:
    view = entry.view
    if view is None:
        return [entry.workflow_id, "-", "(no worker answered)", "-", "-", "-"]
    blocked = view.blocked
    if blocked is None:  # released since visibility was read
        return [view.target, view.key, "(released)", "-", "-", str(view.waiting)]
    return [
        view.target,
        view.key,
        blocked.workflow_id,
        blocked.status,
        blocked.since.isoformat(),
        str(view.waiting),
    ]


def _release(args: argparse.Namespace) -> int:
    settings = common.settings()
    config = _config(settings)
    action: flow.Action = "redrive" if args.redrive else "skip"
    out = Output()

    async def release() -> flow.Released | None:
        client = await common.client(settings)
        plan = await flow.plan_release(
            client, args.target, args.key, action, settings=settings, config=config
        )
        out.line("Plan:", "bold")
        for line in plan.describe():
            out.line(f"  {line}")
        if not args.yes:
            return None
        return await flow.release(client, plan, by=_who(), settings=settings)

    done = asyncio.run(release())
    if done is None:
        raise CommandFailed("Add --yes to carry out this release.")
    redriven = f" (redriven: {done.redriven})" if done.redriven else ""
    out.line(f"released {done.plan.blocked.workflow_id} with {action}{redriven}", "green")
    return 0


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "flow",
        help="flow control: a key's sequencer, the stuck keys, releasing one",
        description="A key's sequencer (ordered, concurrency, throttle; docs/FLOW_CONTROL.md). "
        "TARGET is the route's name, or ROUTE.RULE for a rule's.",
    )
    fsub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = fsub.add_parser("show", help="what a key's sequencer holds: waiting, running, blocked")
    show.add_argument("target", metavar="TARGET")
    show.add_argument("key", metavar="KEY")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=_show)
    stuck = fsub.add_parser(
        "stuck",
        help="blocked keys (HooktideStatus = 'blocked') and what blocks each",
    )
    stuck.add_argument("--route", help="only this route's sequencers")
    stuck.add_argument("--limit", type=int, default=100, help="at most this many (100)")
    stuck.add_argument("--json", action="store_true", help="print JSON")
    stuck.set_defaults(func=_stuck)
    release = fsub.add_parser(
        "release",
        help="release a blocked key: --skip its failed workflow, or --redrive it",
        description="Release a key blocked by a failed workflow (on_failure: block). --skip "
        "goes on with the next event; --redrive runs the failed workflow again first (a "
        "reset, as `hooktide deliveries redrive`) and goes on once it has closed. Prints the "
        "plan; --yes carries it out.",
    )
    release.add_argument("target", metavar="TARGET")
    release.add_argument("key", metavar="KEY")
    how = release.add_mutually_exclusive_group(required=True)
    how.add_argument("--skip", action="store_true", help="go on without it")
    how.add_argument("--redrive", action="store_true", help="run it again, then go on")
    release.add_argument("--yes", action="store_true", help="carry out the plan")
    release.set_defaults(func=_release)
