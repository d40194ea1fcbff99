"""What the example services share: state in a JSON file, Idempotency-Key handling, and
switches to inject failures.

Failures are set with `POST /admin/faults` (or `--faults` at start) and apply to the
requests that follow, admin and health endpoints excepted:

    curl -X POST 127.0.0.1:8101/admin/faults -d '{"status": 503, "retry_after": 5, "times": 2}'
    curl -X POST 127.0.0.1:8102/admin/faults -d '{"status": 422, "times": -1}'   # until cleared
    curl -X POST 127.0.0.1:8102/admin/faults -d '{"delay": 3, "times": 1}'       # slow, then ok
    curl -X DELETE 127.0.0.1:8101/admin/faults
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

Handler = Callable[[Any], Awaitable[tuple[int, Any]]]


class JsonState:
    """A dict kept in one JSON file, rewritten atomically after every change."""

    def __init__(self, path: Path, initial: dict[str, Any]) -> None:
        self.path = path
        self.data: dict[str, Any] = initial
        if path.exists():
            self.data = {**initial, **json.loads(path.read_text(encoding="utf-8"))}
        path.parent.mkdir(parents=True, exist_ok=True)

    def save(self) -> None:
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


class Faults(BaseModel):
    """The next `times` requests (-1: all, until cleared) matching `path_prefix` and `method`
    wait `delay` seconds, then answer `status` (with `Retry-After` if given) or, without a
    status, are served normally (slowness only)."""

    status: int | None = Field(default=None, ge=400, le=599)
    retry_after: int | None = Field(default=None, ge=0)
    delay: float = Field(default=0.0, ge=0, le=120)
    times: int = Field(default=1, ge=-1)
    path_prefix: str = "/"
    method: str | None = None

    def applies(self, request: Request) -> bool:
        if self.times == 0 or not request.url.path.startswith(self.path_prefix):
            return False
        return self.method is None or self.method.upper() == request.method

    async def take(self) -> Response | None:
        if self.times > 0:
            self.times -= 1
        if self.delay:
            await anyio.sleep(self.delay)
        if self.status is None:
            return None
        headers = {"retry-after": str(self.retry_after)} if self.retry_after is not None else {}
        return JSONResponse(
            {"error": "injected failure", "status": self.status},
            status_code=self.status,
            headers=headers,
        )


def log(service: str, message: str) -> None:
    print(f"{service:<10} {message}", file=sys.stdout, flush=True)


class Peer:
    """One example service: its state, its faults, and the wrapper every route goes through."""

    def __init__(self, name: str, state: JsonState, faults: Faults | None = None) -> None:
        self.name = name
        self.state = state
        self.faults = faults or Faults(times=0)
        self.state.data.setdefault("idempotency", {})

    def endpoint(self, handler: Callable[[Request, Any], Awaitable[tuple[int, Any]]]) -> Any:
        """Wrap a JSON handler: faults first, then Idempotency-Key (a repeated key answers
        the stored response; the same key with another request body is a 422)."""

        async def run(request: Request) -> Response:
            if self.faults.applies(request):
                injected = await self.faults.take()
                if injected is not None:
                    log(
                        self.name,
                        f"{request.method} {request.url.path} -> injected {injected.status_code}",
                    )
                    return injected
            raw = await request.body()
            key = request.headers.get("idempotency-key")
            fingerprint = hashlib.sha256(
                request.method.encode() + request.url.path.encode() + b"\n" + raw
            ).hexdigest()
            stored = self.state.data["idempotency"].get(key) if key else None
            if stored is not None:
                if stored["fingerprint"] != fingerprint:
                    return JSONResponse(
                        {"error": "Idempotency-Key reused with a different request"},
                        status_code=422,
                    )
                log(
                    self.name,
                    f"{request.method} {request.url.path} -> {stored['status']} (replayed)",
                )
                return JSONResponse(
                    stored["body"], status_code=stored["status"],
                    headers={"idempotent-replayed": "true"},
                )  # fmt: skip
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:
                return JSONResponse({"error": "body is not JSON"}, status_code=400)
            try:
                status, body = await handler(request, payload)
            except ValidationError as exc:
                status, body = (
                    422,
                    {"error": "invalid request", "detail": exc.errors(include_url=False)},
                )
            if key and status < 500:
                self.state.data["idempotency"][key] = {
                    "fingerprint": fingerprint, "status": status, "body": body,
                }  # fmt: skip
            self.state.save()
            log(self.name, f"{request.method} {request.url.path} -> {status}")
            return JSONResponse(body, status_code=status)

        return run

    async def _get_faults(self, request: Request) -> Response:
        return JSONResponse(self.faults.model_dump())

    async def _set_faults(self, request: Request) -> Response:
        try:
            self.faults = Faults.model_validate_json(await request.body() or b"{}")
        except ValidationError as exc:
            return JSONResponse({"error": exc.errors(include_url=False)}, status_code=422)
        log(self.name, f"faults set: {self.faults.model_dump(exclude_defaults=True)}")
        return JSONResponse(self.faults.model_dump())

    async def _clear_faults(self, request: Request) -> Response:
        self.faults = Faults(times=0)
        return JSONResponse(self.faults.model_dump())

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": self.name})

    def app(self, routes: list[BaseRoute]) -> Starlette:
        return Starlette(
            routes=[
                Route("/healthz", self._health, methods=["GET"]),
                Route("/admin/faults", self._get_faults, methods=["GET"]),
                Route("/admin/faults", self._set_faults, methods=["POST"]),
                Route("/admin/faults", self._clear_faults, methods=["DELETE"]),
                *routes,
            ]
        )


def faults_from(text: str | None) -> Faults:
    return Faults.model_validate_json(text) if text else Faults(times=0)
