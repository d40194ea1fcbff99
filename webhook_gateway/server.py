"""Serving the gateway with uvicorn, with a drain on SIGTERM/SIGINT.

First signal: start draining (new requests get 503, readiness fails), wait until requests
in flight have answered (at most `drain_seconds`), then stop. A second signal stops at once.

Served on uvloop with httptools' parser: per request, the HTTP/1.1 parsing and the event
loop's own work cost less there than on asyncio with h11 (bench/ack_path.py). Both are
dependencies of Hooktide; where one will not import, the gateway says so and serves on the
standard stack instead.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import socket
from types import FrameType
from typing import Literal

import uvicorn
from starlette.applications import Starlette

from webhook_gateway.observability.drain import Drain

log = logging.getLogger("hooktide.gateway")


Loop = Literal["uvloop", "asyncio"]
Http = Literal["httptools", "h11"]


def serving_stack() -> tuple[Loop, Http]:
    """uvloop and httptools, each where it imports; otherwise asyncio or h11, with a warning
    naming the package to install."""
    loop: Loop = "uvloop"
    http: Http = "httptools"
    if importlib.util.find_spec("uvloop") is None:
        log.warning("uvloop is not installed: serving on asyncio's loop; pip install uvloop")
        loop = "asyncio"
    if importlib.util.find_spec("httptools") is None:
        log.warning("httptools is not installed: parsing HTTP with h11; pip install httptools")
        http = "h11"
    return loop, http


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, drain: Drain, drain_seconds: float) -> None:
        super().__init__(config)
        self.drain = drain
        self.drain_seconds = drain_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: asyncio.Future[None] | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain.draining or self._loop is None:
            super().handle_exit(sig, frame)
            return
        self.drain.start()
        log.info("draining: %d request(s) in flight", self.drain.in_flight)
        self._loop.call_soon_threadsafe(self._schedule_exit)

    def _schedule_exit(self) -> None:
        self._draining = asyncio.ensure_future(self._exit_when_idle())

    async def _exit_when_idle(self) -> None:
        idle = await self.drain.wait_idle(self.drain_seconds)
        if not idle:
            log.warning("drain time over with %d request(s) in flight", self.drain.in_flight)
        self.should_exit = True


def serve(app: Starlette, *, host: str, port: int, drain_seconds: float) -> None:
    loop, http = serving_stack()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop=loop,
        http=http,
        timeout_graceful_shutdown=int(drain_seconds) + 1,
        # Client addresses come from our own trusted-proxy rules (client_ip.py), not uvicorn.
        proxy_headers=False,
        access_log=False,
        log_level="info",
        # Our own handler (logging_setup) formats uvicorn's records like every other one.
        log_config=None,
    )
    DrainingServer(config, app.state.drain, drain_seconds).run()
