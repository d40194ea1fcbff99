"""The route table, as `hooktide routes` and `make run` print it."""

from __future__ import annotations

from rich.table import Table

from webhook_gateway.cli.output import plain, table
from webhook_gateway.config.routes import HooktideConfig


def routes_grid(config: HooktideConfig, base: str = "") -> Table:
    grid = table("ROUTE", "METHODS", "URL", "MODE", "WORKFLOW", "VERIFIER", "SECRET")
    for r in config.routes:
        secret = getattr(r.verifier, "secret", None)
        grid.add_row(
            r.name,
            ",".join(r.methods),
            base + r.path,
            r.mode,
            f"{r.workflow}@{r.task_queue}",
            r.verifier.type,
            secret.describe() if secret is not None else "-",
        )
    return grid


def routes_table(config: HooktideConfig, base: str = "") -> str:
    """The table as plain text, for `make run`'s banner."""
    return plain(routes_grid(config, base))
