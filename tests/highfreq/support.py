"""Route files and helpers for the high-frequency tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from webhook_gateway.config.routes import HooktideConfig, parse_config

SECRET = {"env": "TEST_ORDERS_SECRET"}
T = TypeVar("T")


def route_config(task_queue: str, **route: Any) -> tuple[HooktideConfig, str]:
    """One route, named uniquely so inbox and collector ids never meet another test's."""
    name = f"hf-{uuid.uuid4().hex[:8]}"
    body: dict[str, Any] = {
        "path": "/webhooks/hf",
        "workflow": "OrderWorkflow",
        "task_queue": task_queue,
        "delivery_id": {"header": "webhook-id"},
        "verifier": {"type": "standard_webhooks", "secret": SECRET},
        **route,
    }
    return parse_config({"routes": {name: body}}), name


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = 60.0
) -> T:
    """Poll `probe` until `done(result)`; the last result is returned either way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await probe()
        if done(result) or loop.time() > deadline:
            return result
        await asyncio.sleep(0.2)
