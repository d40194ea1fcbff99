"""Real uvicorn servers on free loopback ports, in the test's loop: `serve` for any ASGI app
(a peer, an example service; the testing kit's), `serve_gateway` for the gateway itself with
an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from opentelemetry.trace import Tracer
from starlette.applications import Starlette
from temporalio.client import Client

from webhook_gateway.app import create_app
from webhook_gateway.config.routes import HooktideConfig
from webhook_gateway.config.settings import Settings
from webhook_gateway.testing.peer import serve as serve


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
