"""The route table, as `hooktide routes` and `make run` print it."""

from __future__ import annotations

from rich.table import Table

from webhook_gateway.cli.output import plain, table
from webhook_gateway.config.routes import HooktideConfig


def routes_grid(config: HooktideConfig, base: str = "") -> Table:
    grid = table("ROUTE", "METHODS", "URL", "MODE", "WORKFLOW", "VERIFIER", "SECRET")
    for r in config.routes:
        secret = getattr(r.verifier, "secret", None)
        own = r.targets.get(None)
        grid.add_row(
            r.name,
            ",".join(r.methods),
            base + r.path,
            own.mode if own else f"rules ({r.fan_out})",
            f"{own.workflow}@{own.task_queue}" if own else f"otherwise: {r.otherwise}",
            r.verifier.type,
            secret.describe() if secret is not None else "-",
        )
        for rule in r.rules:
            target = r.targets[rule.name]
            events = ",".join(rule.events) or "*"
            when = f" if {rule.when}" if rule.when else ""
            grid.add_row(
                f"  {rule.name}",
                "",
                f"  {events}{when}",
                target.mode,
                f"{target.workflow}@{target.task_queue}",
                "",
                "",
            )
    return grid


def routes_table(config: HooktideConfig, base: str = "") -> str:
    """The table as plain text, for `make run`'s banner."""
    return plain(routes_grid(config, base))
