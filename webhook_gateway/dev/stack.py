"""`hooktide run`: the whole local stack in one process tree, stopped cleanly by Ctrl-C.

Order of start: Temporal dev server (unless TEMPORAL_ADDRESS names a cluster), worker,
gateway. Order of stop: the reverse, so no acknowledged request is left half-done.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from webhook_gateway.cli.routes_table import routes_table
from webhook_gateway.config.routes import load_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.dev import peers as devpeers
from webhook_gateway.dev.temporal_server import TemporalDevServer

#: Local development values only; any variable already set in the environment wins.
DEV_ENV = {
    "HOOKTIDE_ORDERS_SECRET": "whsec_aG9va3RpZGUtbG9jYWwtZGV2LW9yZGVycy1zZWNyZXQ=",
    "HOOKTIDE_TICKETS_SECRET": "whsec_aG9va3RpZGUtbG9jYWwtZGV2LXRpY2tldC1zZWNyZXQ=",
    "HOOKTIDE_OPERATOR_TOKEN": "dev-operator-token",
    # The example's inventory, CRM and subscriber services run on loopback.
    "HOOKTIDE_OUTBOUND_ALLOW": "127.0.0.0/8,::1/128",
    # The order example (webhook_gateway/dev/peers.py adds the peers' URLs and ports).
    "HOOKTIDE_APPROVAL_SECRET": "dev-approval-secret-hooktide-local-only",
    "HOOKTIDE_SUBSCRIBER_SECRET": "whsec_aG9va3RpZGUtbG9jYWwtZGV2LXN1YnNjcmliZXItc2VjcmV0",
    "HOOKTIDE_OPS_EMAIL": "ops@hooktide.localhost",
    "HOOKTIDE_APPROVER_EMAIL": "approver@hooktide.localhost",
    "HOOKTIDE_ORDER_EVENTS": "true",
}


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    # A session of its own: Ctrl-C reaches only us, and we stop the children in order.
    with log.open("ab") as out:
        return subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(name: str, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    print(f"  stopping {name} ...", flush=True)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(int(timeout * 5)):
            if proc.poll() is not None:
                raise RuntimeError(f"process for {url} exited with code {proc.returncode}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


async def run_stack() -> int:
    env = dict(os.environ)
    dev_values = {k: v for k, v in DEV_ENV.items() if not env.get(k)}
    env.update(dev_values)
    os.environ.update(dev_values)
    env.setdefault("HOOKTIDE_LOG_FORMAT", "text")  # people read these logs; JSON elsewhere
    settings = Settings()
    config = load_config(settings.config_path)
    state = settings.state_dir
    state.mkdir(parents=True, exist_ok=True)

    server: TemporalDevServer | None = None
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if settings.temporal_address is None:
            with (state / "temporal.log").open("ab") as log:
                server = TemporalDevServer(
                    db_file=state / "temporal.db",
                    port=settings.dev_temporal_port,
                    ui_port=settings.dev_ui_port,
                    log=log,
                )
                server.start()
            print(f"Temporal dev server starting on {server.address} ...", flush=True)
            await server.wait_ready()
            env["TEMPORAL_ADDRESS"] = server.address
        env.update(devpeers.peer_env(settings, env, ui_url=server.ui_url if server else None))
        peers = devpeers.start(settings, env, _spawn)
        children += peers
        await devpeers.wait(settings, peers)
        worker = _spawn([sys.executable, "-m", "worker"], env, state / "worker.log")
        children.append(("worker", worker))
        gateway = _spawn(
            [sys.executable, "-m", "webhook_gateway", "gateway"], env, state / "gateway.log"
        )
        children.append(("gateway", gateway))
        base = f"http://{settings.host}:{settings.port}"
        await _wait_http(f"{base}/healthz", gateway)
        _banner(settings, config_path=str(settings.config_path), base=base, server=server)
        print(devpeers.banner(settings, env), flush=True)
        print(routes_table(config, base), flush=True)
        if dev_values:
            print("\nDevelopment values (set these variables yourself to use your own):")
            for key, value in dev_values.items():
                print(f"  {key}={value}")
        print("\nPress Ctrl-C to stop everything.", flush=True)
        while not stop.is_set():
            for name, proc in children:
                if proc.poll() is not None:
                    print(f"{name} exited with code {proc.returncode}; see {state}/{name}.log")
                    stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
    finally:
        print("\nStopping ...", flush=True)
        for name, proc in reversed(children):
            _stop(name, proc)
        if server is not None:
            print("  stopping Temporal dev server ...", flush=True)
            server.stop()
        print("Stopped.", flush=True)
    return 0


def _banner(
    settings: Settings, *, config_path: str, base: str, server: TemporalDevServer | None
) -> None:
    temporal = (
        f"embedded dev server {server.address}, SQLite {server.db_file}"
        if server
        else f"{settings.target} (namespace {settings.temporal_namespace})"
    )
    lines = [
        "",
        "Hooktide is running",
        f"  gateway      {base}   (routes from {config_path})",
        f"  temporal     {temporal}",
    ]
    if server and server.ui_url:
        lines.append(f"  web ui       {server.ui_url}")
    lines += [
        f"  operator     {base}/readyz, {base}/deliveries/<delivery-id>",
        f"  logs         {settings.state_dir}/*.log",
        "",
    ]
    print("\n".join(lines), flush=True)
