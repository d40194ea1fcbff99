"""How the gateway is served: uvloop and httptools where they import, a named fallback where
not, and a real `serve()` in a process of its own running on them."""

from __future__ import annotations

import importlib.util
import json
import logging
import signal
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

from tests.support.net import LOOPBACK, free_port
from webhook_gateway import server

APP = """
import asyncio, sys
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from webhook_gateway.observability.drain import Drain
from webhook_gateway.server import serve

async def stack(request):
    return JSONResponse({
        "loop": type(asyncio.get_running_loop()).__module__,
        "httptools": "uvicorn.protocols.http.httptools_impl" in sys.modules,
        "h11": "uvicorn.protocols.http.h11_impl" in sys.modules,
    })

app = Starlette(routes=[Route("/stack", stack)])
app.state.drain = Drain()
serve(app, host="127.0.0.1", port=int(sys.argv[1]), drain_seconds=1)
"""


def test_the_fast_stack_is_chosen_where_it_imports() -> None:
    assert server.serving_stack() == ("uvloop", "httptools")


def test_a_missing_package_falls_back_and_names_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "uvloop" else real(name)
    )
    with caplog.at_level(logging.WARNING, logger="hooktide.gateway"):
        assert server.serving_stack() == ("asyncio", "httptools")
    assert "pip install uvloop" in caplog.text


def test_serve_runs_the_app_on_uvloop_with_httptools() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(APP), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[1].decode()
            try:
                answer = httpx.get(f"http://{LOOPBACK}:{port}/stack", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not come up in 30 s"
                time.sleep(0.05)
        assert json.loads(answer.content) == {"loop": "uvloop", "httptools": True, "h11": False}
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
