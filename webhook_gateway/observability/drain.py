"""Graceful shutdown: once draining, new requests get 503 + Retry-After (and readiness fails,
so load balancers move away) while requests already in flight run to their answer."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from webhook_gateway.errors import TemporalUnavailable
from webhook_gateway.problem import error_response

ALWAYS_SERVED = frozenset({"/healthz"})


class Drain:
    """Shared state: how many requests are in flight, and whether we are draining."""

    def __init__(self) -> None:
        self.draining = False
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        self.draining = True

    async def wait_idle(self, timeout: float) -> bool:
        """True when no request is in flight any more; False if `timeout` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _enter(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def _leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()


class DrainMiddleware:
    def __init__(self, app: ASGIApp, drain: Drain, retry_after: int = 5) -> None:
        self.app = app
        self.drain = drain
        self.retry_after = retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.drain.draining and scope["path"] not in ALWAYS_SERVED:
            error = TemporalUnavailable(
                "The gateway is shutting down; retry shortly.", retry_after=self.retry_after
            )
            error.slug, error.title = "shutting-down", "Shutting down"
            response = error_response(error, instance=scope["path"])
            response.headers["connection"] = "close"
            await response(scope, receive, send)
            return
        self.drain._enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.drain._leave()
