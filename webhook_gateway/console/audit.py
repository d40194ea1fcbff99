"""Every console action leaves one log line: who (the name given at sign-in), from where,
what, and on which workflow or endpoint."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("hooktide.console.audit")


def record(action: str, *, who: str, client_ip: str | None, **what: Any) -> None:
    fields = {"action": action, "who": who, "client_ip": client_ip, **what}
    summary = " ".join(f"{k}={v}" for k, v in what.items())
    log.info("console %s by %s: %s", action, who, summary, extra=fields)
