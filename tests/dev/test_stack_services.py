"""`hooktide run` with the order example's peers: they come up, are in the banner, carry an
order end to end (confirmation in the mail directory, a CRM record), and Ctrl-C stops them."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.hooktide import HOOKTIDE, clean_env, hooktide_run
from tests.support.net import free_port
from tests.support.repo import REPO
from webhook_gateway.dev.stack import DEV_ENV

#: `hooktide run`: the whole local stack, started and stopped.
pytestmark = pytest.mark.slow


def test_run_starts_the_example_peers_and_an_order_goes_through_them(tmp_path: Path) -> None:
    names = ("PORT", "DEV_TEMPORAL_PORT", "DEV_UI_PORT", "DEV_INVENTORY_PORT", "DEV_CRM_PORT",
             "DEV_SUBSCRIBER_PORT", "DEV_SMTP_PORT")  # fmt: skip
    ports = {name: free_port() for name in names}
    env = clean_env(**{f"HOOKTIDE_{name}": str(port) for name, port in ports.items()})
    env["HOOKTIDE_STATE_DIR"] = str(tmp_path / "state")
    with hooktide_run(env) as stack:
        banner = stack.banner
        assert f"inventory    http://127.0.0.1:{ports['DEV_INVENTORY_PORT']}" in banner
        assert f"crm          http://127.0.0.1:{ports['DEV_CRM_PORT']}" in banner
        assert f"subscriber   http://127.0.0.1:{ports['DEV_SUBSCRIBER_PORT']}/webhooks" in banner
        assert f"smtp sink    127.0.0.1:{ports['DEV_SMTP_PORT']}" in banner

        sent = subprocess.run(
            [HOOKTIDE, "send", "orders", "examples/order.json", "--id", "stack-1",
             "--url", f"http://127.0.0.1:{ports['PORT']}"],
            cwd=REPO, env=env | DEV_ENV, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stdout + sent.stderr
        mail = tmp_path / "state" / "mail"
        crm = f"http://127.0.0.1:{ports['DEV_CRM_PORT']}/customers/cus_42"
        for _ in range(300):
            if list(mail.glob("*.eml")) and httpx.get(crm, timeout=5).status_code == 200:
                break
            time.sleep(0.1)
        (confirmation,) = mail.glob("*.eml")
        assert "Subject: Order A-1001 confirmed" in confirmation.read_text(encoding="utf-8")
        assert list(httpx.get(crm, timeout=5).json()["orders"]) == ["A-1001"]
    assert stack.process.returncode == 0, stack.output
    for name in ("inventory", "crm", "subscriber", "smtp"):
        assert f"stopping {name}" in stack.output
    for name in ("PORT", "DEV_INVENTORY_PORT", "DEV_CRM_PORT", "DEV_SUBSCRIBER_PORT"):
        try:
            httpx.get(f"http://127.0.0.1:{ports[name]}/healthz", timeout=1)
        except httpx.ConnectError:
            continue
        raise AssertionError(f"{name} still answers after Ctrl-C")
