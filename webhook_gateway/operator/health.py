"""`/healthz` (the process is up) and `/readyz` (Temporal answers)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from temporalio.client import Client

from webhook_gateway.config.settings import Settings
from webhook_gateway.dispatch.temporal_errors import temporal_errors

READY_TIMEOUT = 2.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    client: Client = request.app.state.dispatcher.client
    settings: Settings = request.app.state.settings
    with temporal_errors(retry_after=settings.retry_after_seconds):
        await asyncio.wait_for(
            client.service_client.check_health(timeout=timedelta(seconds=READY_TIMEOUT)),
            timeout=READY_TIMEOUT + 0.5,
        )
    return JSONResponse({"status": "ready", "temporal": settings.target})
