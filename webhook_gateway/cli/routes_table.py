"""The route table, as `hooktide routes` and `make run` print it."""

from __future__ import annotations

from webhook_gateway.config.routes import HooktideConfig


def routes_table(config: HooktideConfig, base: str = "") -> str:
    rows = [("ROUTE", "METHODS", "URL", "MODE", "WORKFLOW", "VERIFIER", "SECRET")]
    for r in config.routes:
        secret = getattr(r.verifier, "secret", None)
        rows.append(
            (
                r.name,
                ",".join(r.methods),
                base + r.path,
                r.mode,
                f"{r.workflow}@{r.task_queue}",
                r.verifier.type,
                secret.describe() if secret is not None else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )
