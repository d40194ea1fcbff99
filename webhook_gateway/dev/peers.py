"""The order example's peers in `hooktide run`: inventory, CRM, webhook subscriber and SMTP
sink, each a child process on 127.0.0.1 with its state under the state directory.

`peer_env` points the worker at them (unless the variables are already set, e.g. to a real
SMTP server); `start` spawns them; `wait` waits for each to answer; `banner` says where.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from webhook_gateway.config.settings import Settings

REPO = Path(__file__).resolve().parent.parent
Spawn = Callable[[list[str], dict[str, str], Path], subprocess.Popen[bytes]]
LOOPBACK = "127.0.0.1"


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


def start(
    settings: Settings, env: dict[str, str], spawn: Spawn
) -> list[tuple[str, subprocess.Popen[bytes]]]:
    state = settings.state_dir
    peer_env = env | {"PYTHONPATH": str(REPO) + (f":{p}" if (p := env.get("PYTHONPATH")) else "")}
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
    return [(name, spawn(cmd, peer_env, state / f"{name}.log")) for name, cmd in commands.items()]


async def wait(
    settings: Settings, children: list[tuple[str, subprocess.Popen[bytes]]], timeout: float = 30.0
) -> None:
    """Until each peer answers (HTTP health, or an SMTP greeting); raises if one exits."""
    procs = dict(children)
    http = {
        "inventory": settings.dev_inventory_port,
        "crm": settings.dev_crm_port,
        "subscriber": settings.dev_subscriber_port,
    }
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(trust_env=False) as client:
        for name, proc in procs.items():
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with code {proc.returncode}; see "
                        f"{settings.state_dir}/{name}.log (is its port in use?)"
                    )
                if await _answers(client, http.get(name), settings.dev_smtp_port):
                    break
                if loop.time() > deadline:
                    raise TimeoutError(f"{name} did not come up within {timeout} s")
                await asyncio.sleep(0.2)


async def _answers(client: httpx.AsyncClient, http_port: int | None, smtp_port: int) -> bool:
    try:
        if http_port is not None:
            response = await client.get(f"http://{LOOPBACK}:{http_port}/healthz")
            return response.status_code == 200
        reader, writer = await asyncio.open_connection(LOOPBACK, smtp_port)
        greeting = await asyncio.wait_for(reader.readline(), timeout=2)
        writer.close()
        await writer.wait_closed()
        return greeting.startswith(b"220")
    except (httpx.TransportError, OSError, TimeoutError):
        return False


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
