"""A real uvicorn server running the gateway on a free loopback port, in the test's loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette

from tests.support.net import LOOPBACK, free_port


@asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    """Serve `app`; yields its base URL. As in production (webhook_gateway/server.py),
    uvicorn's own X-Forwarded-For handling is off: HOOKTIDE_TRUSTED_PROXIES alone decides."""
    port = free_port()
    config = uvicorn.Config(
        app, host=LOOPBACK, port=port, log_level="warning", lifespan="on", proxy_headers=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    if task.done():
        task.result()
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        await task
