"""`hooktide run`: the whole local stack in one process tree, stopped cleanly by Ctrl-C.

Order of start (webhook_gateway/dev/local_stack.py): Temporal dev server (unless
TEMPORAL_ADDRESS names a cluster), the example's peers, worker and gateway. Order of stop:
the reverse, so no acknowledged request is left half-done.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from webhook_gateway.cli.routes_table import routes_table
from webhook_gateway.config.payload_keys import payload_keys
from webhook_gateway.config.routes import load_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.dev import peers as devpeers
from webhook_gateway.dev.local_stack import LocalStack
from webhook_gateway.dev.processes import LOOPBACK
from webhook_gateway.dev.temporal_server import TemporalDevServer

#: Local development values only; any variable already set in the environment wins.
DEV_ENV = {
    "HOOKTIDE_ORDERS_SECRET": "whsec_aG9va3RpZGUtbG9jYWwtZGV2LW9yZGVycy1zZWNyZXQ=",
    "HOOKTIDE_TICKETS_SECRET": "whsec_aG9va3RpZGUtbG9jYWwtZGV2LXRpY2tldC1zZWNyZXQ=",
    "HOOKTIDE_OPERATOR_TOKEN": "dev-operator-token",
    # Payloads encrypted at rest; the Web UI reads them through the gateway's /codec, which
    # answers loopback callers without a token here only (docs/SECURITY.md).
    "HOOKTIDE_PAYLOAD_KEYS": "dev-1:aG9va3RpZGUtbG9jYWwtZGV2LXBheWxvYWQta2V5LTE=",
    "HOOKTIDE_CODEC_ALLOW_LOOPBACK": "true",
    # The provider examples' routes (`github`, `stripe` in hooktide.yaml).
    "HOOKTIDE_GITHUB_SECRET": "hooktide-local-dev-github-secret",
    "HOOKTIDE_STRIPE_SECRET": "whsec_hooktideLocalDevStripeSecret",
    # The example's inventory, CRM and subscriber services run on loopback.
    "HOOKTIDE_OUTBOUND_ALLOW": "127.0.0.0/8,::1/128",
    # The order example (webhook_gateway/dev/peers.py adds the peers' URLs and ports).
    "HOOKTIDE_APPROVAL_SECRET": "dev-approval-secret-hooktide-local-only",
    "HOOKTIDE_SUBSCRIBER_SECRET": "whsec_aG9va3RpZGUtbG9jYWwtZGV2LXN1YnNjcmliZXItc2VjcmV0",
    "HOOKTIDE_OPS_EMAIL": "ops@hooktide.localhost",
    "HOOKTIDE_APPROVER_EMAIL": "approver@hooktide.localhost",
    "HOOKTIDE_ORDER_EVENTS": "true",
    # The bundled examples' workflows run as a plug-in, as a user's own would.
    "HOOKTIDE_WORKER_MODULES": "workflows.example.plugin",
}


#: Values only the bundled example needs: left out where its peers are not installed.
EXAMPLE_ONLY = frozenset(
    {
        "HOOKTIDE_OUTBOUND_ALLOW",
        "HOOKTIDE_APPROVAL_SECRET",
        "HOOKTIDE_SUBSCRIBER_SECRET",
        "HOOKTIDE_OPS_EMAIL",
        "HOOKTIDE_APPROVER_EMAIL",
        "HOOKTIDE_ORDER_EVENTS",
        "HOOKTIDE_WORKER_MODULES",
    }
)


async def run_stack() -> int:
    env = dict(os.environ)
    examples = devpeers.available()
    dev_values = {
        k: v for k, v in DEV_ENV.items() if not env.get(k) and (examples or k not in EXAMPLE_ONLY)
    }
    env.update(dev_values)
    os.environ.update(dev_values)
    env.setdefault("HOOKTIDE_LOG_FORMAT", "text")  # people read these logs; JSON elsewhere
    settings = Settings()
    # The worker's readiness is a line it logs at INFO: say the level, wherever it was set.
    env.setdefault("HOOKTIDE_LOG_LEVEL", settings.log_level)
    config = load_config(settings.config_path)
    state = settings.state_dir
    state.mkdir(parents=True, exist_ok=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stack = LocalStack(state, env, say=_say)
    server: TemporalDevServer | None = None
    try:
        if settings.temporal_address is None:
            print(
                f"Temporal dev server starting on {LOOPBACK}:{settings.dev_temporal_port} ...",
                flush=True,
            )
            codec = f"{settings.gateway_url}/codec" if payload_keys(settings) else None
            server = await stack.start_temporal(
                db_file=state / "temporal.db",
                port=settings.dev_temporal_port,
                ui_port=settings.dev_ui_port,
                ui_codec=codec,
                fairness=True,  # rules' `priority.fairness_key` acts as it will on a cluster
            )
            if server.ui_url and not env.get("HOOKTIDE_CODEC_CORS_ORIGIN"):
                stack.env["HOOKTIDE_CODEC_CORS_ORIGIN"] = server.ui_url
        ui_url = server.ui_url if server else None
        if examples:
            stack.env.update(devpeers.peer_env(settings, stack.env, ui_url=ui_url))
            await devpeers.start(stack, settings)
        base = await stack.start_hooktide(host=settings.host, port=settings.port)
        _banner(settings, config_path=str(settings.config_path), base=base, server=server)
        if examples:
            print(devpeers.banner(settings, stack.env), flush=True)
        print(routes_table(config, base), flush=True)
        if dev_values:
            print("\nDevelopment values (set these variables yourself to use your own):")
            for key, value in dev_values.items():
                print(f"  {key}={value}")
        print("\nPress Ctrl-C to stop everything.", flush=True)
        while not stop.is_set():
            for name, code in stack.exited():
                print(f"{name} exited with code {code}; see {stack.log(name)}")
                stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
    finally:
        _say("\nStopping ...")
        stack.stop()
        _say("Stopped.")
    return 0


def _say(line: str) -> None:
    """Print, unless nobody reads any more: a closed pipe (`make run | tee`, Ctrl-C ends
    tee too) or terminal must never keep the stack from stopping."""
    with contextlib.suppress(OSError):
        print(line, flush=True)


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
    keys = payload_keys(settings)
    if keys:
        lines.append(
            f"  payloads     encrypted at rest (AES-256-GCM, key '{keys[0].id}'); the Web UI "
            f"decodes them through {base}/codec"
        )
    else:
        lines.append("  payloads     not encrypted (set HOOKTIDE_PAYLOAD_KEYS)")
    if settings.operator_token is not None:
        given = settings.operator_token.get_secret_value()
        token = (
            f"the dev token {given}"
            if given == DEV_ENV["HOOKTIDE_OPERATOR_TOKEN"]
            else "your HOOKTIDE_OPERATOR_TOKEN"
        )
        lines.append(f"  console      {base}/console/   (sign in with {token})")
    lines += [
        f"  operator     {base}/readyz, {base}/deliveries/<delivery-id>",
        f"  logs         {settings.state_dir}/*.log",
        "",
    ]
    print("\n".join(lines), flush=True)
