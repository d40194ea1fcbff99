"""`hooktide run` (what `make run` starts): the whole stack up, serving, and stopped by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.net import free_port
from tests.support.signing import order_payload
from webhook_gateway.dev.stack import DEV_ENV

REPO = Path(__file__).resolve().parent.parent
HOOKTIDE = str(Path(sys.executable).parent / "hooktide")


def test_run_serves_the_example_route_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    port, temporal_port, ui_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "HOOKTIDE_"))}
    env |= {
        "HOOKTIDE_PORT": str(port),
        "HOOKTIDE_DEV_TEMPORAL_PORT": str(temporal_port),
        "HOOKTIDE_DEV_UI_PORT": str(ui_port),
        "HOOKTIDE_STATE_DIR": str(tmp_path / "state"),
    }
    stack = subprocess.Popen(
        [HOOKTIDE, "run"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    assert stack.stdout is not None
    banner: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = stack.stdout.readline()
            if not line:
                break
            banner.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(banner)
        assert "Press Ctrl-C" in text, text
        assert f"http://127.0.0.1:{port}/webhooks/orders" in text
        assert f"web ui       http://127.0.0.1:{ui_port}" in text
        assert DEV_ENV["HOOKTIDE_ORDERS_SECRET"] in text

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
    finally:
        stack.send_signal(signal.SIGINT)
        out, _ = stack.communicate(timeout=60)
    assert stack.returncode == 0, out
    assert "Stopped." in out
    assert (tmp_path / "state" / "temporal.db").exists()
    for p in (port, temporal_port):
        try:
            httpx.get(f"http://127.0.0.1:{p}/", timeout=1)
        except httpx.ConnectError:
            continue
        raise AssertionError(f"port {p} still answers after Ctrl-C")
