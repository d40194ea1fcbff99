"""Real uvicorn servers on free loopback ports, in the test's loop: `serve` for any ASGI app
(a peer, an example service), `serve_gateway` for the gateway itself with an httpx client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from opentelemetry.trace import Tracer
from starlette.applications import Starlette
from temporalio.client import Client

from tests.support.net import LOOPBACK, free_port
from webhook_gateway.app import create_app
from webhook_gateway.config.routes import HooktideConfig
from webhook_gateway.config.settings import Settings


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


class GatewayClient(httpx.AsyncClient):
    """An httpx client on a served gateway; `app` is the gateway (for its state), `url` its
    base URL (for a `hooktide` process or a page link)."""

    def __init__(self, app: Starlette, url: str, *, timeout: float) -> None:
        super().__init__(base_url=url, timeout=timeout)
        self.app = app
        self.url = url


@asynccontextmanager
async def serve_gateway(
    config: HooktideConfig,
    settings: Settings | None = None,
    *,
    client: Client | None = None,
    tracer: Tracer | None = None,
    timeout: float = 15,
) -> AsyncIterator[GatewayClient]:
    """The gateway with these routes and settings (default: the environment's), on a real
    server; without `client` it connects to Temporal lazily, as `hooktide gateway` does."""
    app = create_app(settings or Settings(), config=config, client=client, tracer=tracer)
    async with serve(app) as url, GatewayClient(app, url, timeout=timeout) as http:
        yield http
