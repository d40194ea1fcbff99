"""The requests a coalesced call carries: answered together, failed together."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


def fail_all(futures: Iterable[asyncio.Future[Any]], exc: Exception) -> None:
    """Fails each waiter still waiting; those that already left are skipped."""
    for future in futures:
        if not future.done():
            future.set_exception(exc)
            # Retrieved here so a waiter that already left does not log "never retrieved".
            future.exception()
