"""`hooktide run` (what `make run` starts): the whole stack up, serving, and stopped by Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.hooktide import HOOKTIDE, clean_env, hooktide_run
from tests.support.net import free_port
from tests.support.repo import REPO
from tests.support.signing import order_payload
from webhook_gateway.dev.stack import DEV_ENV

#: `hooktide run`: the whole local stack, started and stopped.
pytestmark = pytest.mark.slow


def stack_env(tmp_path: Path) -> tuple[dict[str, str], tuple[int, int, int]]:
    """The environment of a `hooktide run` on free ports: (env, (gateway, temporal, ui))."""
    ports = free_port(), free_port(), free_port()
    env = clean_env(
        HOOKTIDE_PORT=str(ports[0]),
        HOOKTIDE_DEV_TEMPORAL_PORT=str(ports[1]),
        HOOKTIDE_DEV_UI_PORT=str(ports[2]),
        HOOKTIDE_STATE_DIR=str(tmp_path / "state"),
    )
    return env, ports


def assert_closed(*ports: int) -> None:
    for port in ports:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
        except httpx.ConnectError:
            continue
        raise AssertionError(f"port {port} still answers after Ctrl-C")


def test_run_serves_the_example_route_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    env, (port, temporal_port, ui_port) = stack_env(tmp_path)
    with hooktide_run(env) as stack:
        assert f"http://127.0.0.1:{port}/webhooks/orders" in stack.banner
        assert f"web ui       http://127.0.0.1:{ui_port}" in stack.banner
        assert DEV_ENV["HOOKTIDE_ORDERS_SECRET"] in stack.banner
        console = f"console      http://127.0.0.1:{port}/console/   (sign in with the dev token"
        assert console in stack.banner
        sign_in = httpx.get(f"http://127.0.0.1:{port}/console/sign-in", timeout=10)
        assert sign_in.status_code == 200 and "Operator token" in sign_in.text

        order = tmp_path / "order.json"
        order.write_text(json.dumps(order_payload("RUN-1")), encoding="utf-8")
        sent = subprocess.run(
            [HOOKTIDE, "send", "orders", str(order), "--url", f"http://127.0.0.1:{port}"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert sent.stdout.startswith("202 Accepted")
        # A second terminal has none of the stack's variables: send signs with the dev value.
        assert "development value of HOOKTIDE_ORDERS_SECRET" in sent.stderr
        ui = httpx.get(f"http://127.0.0.1:{ui_port}/", timeout=10)
        assert ui.status_code == 200
        # Payloads at rest: ciphertext in the SQLite file, readable in the UI via the codec.
        assert "payloads     encrypted at rest (AES-256-GCM, key 'dev-1')" in stack.banner
        state = tmp_path / "state"
        stored = b"".join(p.read_bytes() for p in state.glob("temporal.db*"))
        assert b"ada@example.com" not in stored
        settings = httpx.get(f"http://127.0.0.1:{ui_port}/api/v1/settings", timeout=10).json()
        codec = settings["Codec"]["Endpoint"]
        assert codec == f"http://127.0.0.1:{port}/codec"
        origin = f"http://127.0.0.1:{ui_port}"
        sealed = httpx.post(
            f"{codec}/encode",
            json={"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "IngiCg=="}]},
            headers={"origin": origin},
            timeout=10,
        )
        assert sealed.status_code == 200, sealed.text
        assert sealed.headers["access-control-allow-origin"] == origin
        opened = httpx.post(
            f"{codec}/decode", json=sealed.json(), headers={"origin": origin}, timeout=10
        )
        assert opened.json()["payloads"][0]["data"] == "IngiCg=="
    assert stack.process.returncode == 0, stack.output
    assert "Stopped." in stack.output
    assert (tmp_path / "state" / "temporal.db").exists()
    assert_closed(port, temporal_port)


def test_ctrl_c_stops_everything_even_when_nobody_reads_the_output(tmp_path: Path) -> None:
    """`make run | tee run.log`: Ctrl-C ends tee as well, so the stopping lines go nowhere."""
    env, (port, temporal_port, _) = stack_env(tmp_path)
    process = subprocess.Popen(
        [HOOKTIDE, "run"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    banner = b""
    while b"Press Ctrl-C" not in banner:
        line = process.stdout.readline()
        assert line, banner.decode(errors="replace")
        banner += line
    process.stdout.close()  # the reader is gone
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)

    assert_closed(port, temporal_port)
