"""Waiting for what happens elsewhere (a workflow, Temporal's visibility, a peer, a mailbox)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]] | Callable[[], T],
    ok: Callable[[T], bool],
    *,
    timeout: float = 30.0,
) -> T:
    """Ask `probe` (sync or async) again, in real time, until `ok(answer)` or `timeout` seconds
    have passed; the last answer is returned either way, for the caller's assert to show."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        answer = probe()
        if inspect.isawaitable(answer):
            answer = await answer
        if ok(answer) or loop.time() > deadline:  # type: ignore[arg-type]
            return answer  # type: ignore[return-value]
        await asyncio.sleep(0.2)
