"""A tiny HTTP peer for outbound tests: records every request and answers as scripted.

    async with serve_peer() as peer:      # uvicorn on a free 127.0.0.1 port
        peer.script("/hook", Reply(503, {"retry-after": "120"}), Reply(200))
        peer.verify("/hook", secret)      # Standard Webhooks check with `standardwebhooks`
        ... peer.url("/hook") ...; peer.at("/hook")

Scripted replies are used in order; the last one repeats. Unscripted paths answer 200 with
`{"ok": true}`. Hooktide's HTTP activities reach it only past the SSRF guard: loopback allowed
in HOOKTIDE_OUTBOUND_ALLOW (the kit's `allow_loopback=True`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from webhook_gateway.dev.processes import LOOPBACK, free_port

METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay: float = 0.0
    stream_bytes: int = 0
    chunk_delay: float = 0.0


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    verified: bool | None


class Peer:
    """Records every request in `requests`; `base` is its URL once served."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.base = ""
        self._scripts: dict[str, list[Reply]] = {}
        self._secrets: dict[str, str] = {}
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=METHODS)])

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        self._scripts[path] = list(replies)

    def verify(self, path: str, secret: str) -> None:
        self._secrets[path] = secret

    def at(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified: bool | None = None
        if request.url.path in self._secrets:
            try:
                Webhook(self._secrets[request.url.path]).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        self.requests.append(
            Recorded(
                method=request.method,
                path=request.url.path,
                query=request.url.query,
                headers=headers,
                body=body,
                received_at=time.time(),
                verified=verified,
            )
        )
        if verified is False:
            return JSONResponse({"error": "bad signature"}, status_code=401)
        script = self._scripts.get(request.url.path)
        reply = (script.pop(0) if len(script) > 1 else script[0]) if script else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.stream_bytes:
            return StreamingResponse(
                _chunks(reply.stream_bytes, reply.chunk_delay),
                status_code=reply.status,
                headers=reply.headers,
            )
        if reply.body is None:
            return JSONResponse({"ok": True}, status_code=reply.status, headers=reply.headers)
        return Response(reply.body, status_code=reply.status, headers=reply.headers)


async def _chunks(total: int, delay: float) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        size = min(16_384, total - sent)
        sent += size
        yield b"x" * size
        if delay:
            await asyncio.sleep(delay)


@asynccontextmanager
async def serve(app: ASGIApp) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a free loopback port, in this event loop; yields its base
    URL. uvicorn's own X-Forwarded-For handling is off, as in production."""
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


@asynccontextmanager
async def serve_peer() -> AsyncIterator[Peer]:
    """A new `Peer`, served until the block ends."""
    peer = Peer()
    async with serve(peer.app) as base:
        peer.base = base
        yield peer
