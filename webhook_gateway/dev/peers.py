"""The order example's peers in `hooktide run`: inventory, CRM, webhook subscriber and SMTP
sink, each a child process on 127.0.0.1 with its state under the state directory.

`peer_env` points the worker at them (unless the variables are already set, e.g. to a real
SMTP server); `start` adds them to the local stack and waits for each; `banner` says where.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from webhook_gateway.config.settings import Settings
from webhook_gateway.dev.local_stack import LocalStack
from webhook_gateway.dev.processes import LOOPBACK, Child, Ready, http_ok

REPO = Path(__file__).resolve().parents[2]  # where `examples` is


def available() -> bool:
    """The example's peers live in the repository's `examples/`, not in the wheel: a project
    made by `hooktide init` runs its stack without them."""
    return (REPO / "examples" / "inventory.py").is_file()


def peer_env(settings: Settings, env: dict[str, str], *, ui_url: str | None) -> dict[str, str]:
    """The variables that point the worker at the local peers; what `env` sets wins."""
    wanted = {
        "HOOKTIDE_INVENTORY_URL": f"http://{LOOPBACK}:{settings.dev_inventory_port}",
        "HOOKTIDE_CRM_URL": f"http://{LOOPBACK}:{settings.dev_crm_port}",
        "HOOKTIDE_SMTP_HOST": LOOPBACK,
        "HOOKTIDE_SMTP_PORT": str(settings.dev_smtp_port),
    }
    if ui_url:
        wanted["HOOKTIDE_UI_URL"] = ui_url
    if env.get("HOOKTIDE_SMTP_HOST"):  # a real server: keep its port as well
        wanted.pop("HOOKTIDE_SMTP_PORT")
    return {k: v for k, v in wanted.items() if not env.get(k)}


def _module(name: str, *args: str) -> list[str]:
    return [sys.executable, "-m", f"examples.{name}", "--host", LOOPBACK, *args]


def _smtp_greets(port: int) -> Ready:
    async def check(child: Child) -> bool:
        try:
            reader, writer = await asyncio.open_connection(LOOPBACK, port)
            greeting = await asyncio.wait_for(reader.readline(), timeout=2)
            writer.close()
            await writer.wait_closed()
        except (OSError, TimeoutError):
            return False
        return greeting.startswith(b"220")

    return check


async def start(stack: LocalStack, settings: Settings) -> None:
    """Spawns the peers together, then waits until each answers (HTTP health, or an SMTP
    greeting); raises if one exits."""
    state = settings.state_dir
    path = stack.env.get("PYTHONPATH")
    env = {"PYTHONPATH": str(REPO) + (f":{path}" if path else "")}
    commands = {
        "inventory": _module(
            "inventory", "--port", str(settings.dev_inventory_port), "--state",
            str(state / "inventory.json"),
        ),
        "crm": _module(
            "crm", "--port", str(settings.dev_crm_port), "--state", str(state / "crm.json")
        ),
        "subscriber": _module(
            "subscriber", "--port", str(settings.dev_subscriber_port), "--events",
            str(state / "subscriber-events.jsonl"),
        ),
        "smtp": _module("smtp_sink", "--port", str(settings.dev_smtp_port), "--dir",
                        str(state / "mail")),
    }  # fmt: skip
    ready = {
        "inventory": _healthz(settings.dev_inventory_port),
        "crm": _healthz(settings.dev_crm_port),
        "subscriber": _healthz(settings.dev_subscriber_port),
        "smtp": _smtp_greets(settings.dev_smtp_port),
    }
    for name, argv in commands.items():
        stack.spawn(name, argv, ready=ready[name], env=env, hint="is its port in use?")
    await stack.ready(*commands)


def _healthz(port: int) -> Ready:
    return http_ok(f"http://{LOOPBACK}:{port}/healthz")


def banner(settings: Settings, env: dict[str, str]) -> str:
    state = settings.state_dir
    smtp = env.get("HOOKTIDE_SMTP_HOST", LOOPBACK)
    lines = [
        "The order example's peers",
        f"  inventory    http://{LOOPBACK}:{settings.dev_inventory_port}   "
        f"(state {state}/inventory.json; faults: POST /admin/faults)",
        f"  crm          http://{LOOPBACK}:{settings.dev_crm_port}   (state {state}/crm.json)",
        f"  subscriber   http://{LOOPBACK}:{settings.dev_subscriber_port}/webhooks   "
        f"(events {state}/subscriber-events.jsonl)",
        f"  smtp sink    {LOOPBACK}:{settings.dev_smtp_port}   (mail {state}/mail/*.eml)",
    ]
    if smtp != LOOPBACK:
        lines.append(f"  email        sent through {smtp} (HOOKTIDE_SMTP_HOST)")
    return "\n".join([*lines, ""])
