"""A local stack of separate processes that the harness can kill -9 and restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from webhook_gateway.dev.temporal_server import TemporalDevServer

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class Stack:
    """Temporal dev server (SQLite file), one worker process, one gateway process."""

    def __init__(
        self,
        workdir: Path,
        *,
        secret: str,
        task_queue: str,
        route: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self._temporal_log = (workdir / "temporal.log").open("ab")
        self.temporal = TemporalDevServer(
            db_file=workdir / "temporal.db", port=free_port(), ui_port=None, log=self._temporal_log
        )
        self.port = free_port()
        self.task_queue = task_queue
        config = {
            "routes": {
                "orders": {
                    "path": "/webhooks/orders",
                    "workflow": "OrderWorkflow",
                    "task_queue": task_queue,
                    "delivery_id": {"header": "webhook-id"},
                    "workflow_id": {"prefix": "order-"},
                    "verifier": {
                        "type": "standard_webhooks",
                        "secret": {"env": "HOOKTIDE_ORDERS_SECRET"},
                    },
                }
                | (route or {})
            }
        }
        config_file = workdir / "hooktide.yaml"
        config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.env = (
            {k: v for k, v in os.environ.items() if not k.startswith("HOOKTIDE_")}
            | {
                "TEMPORAL_ADDRESS": self.temporal.address,
                "HOOKTIDE_CONFIG": str(config_file),
                "HOOKTIDE_PORT": str(self.port),
                "HOOKTIDE_ORDERS_SECRET": secret,
                "HOOKTIDE_TASK_QUEUE": task_queue,
            }
            | (env or {})
        )
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _spawn(self, name: str) -> None:
        args = ["-m", "worker"] if name == "worker" else ["-m", "webhook_gateway", "gateway"]
        with (self.workdir / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    async def start(self) -> None:
        self.temporal.start()
        await self.temporal.wait_ready()
        self._spawn("worker")
        self._spawn("gateway")
        await self.wait_gateway()

    async def wait_gateway(self, timeout: float = 30.0) -> None:
        async with httpx.AsyncClient() as http:
            for _ in range(int(timeout / 0.1)):
                try:
                    if (await http.get(self.url + "/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError("gateway did not come up")

    def rss_kib(self, name: str = "gateway") -> int:
        """Resident memory of a process, from /proc (Linux)."""
        status = Path(f"/proc/{self.procs[name].pid}/status").read_text(encoding="utf-8")
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("VmRSS not found")

    def kill(self, name: str) -> None:
        if name == "temporal":
            self.temporal.stop(kill=True)
            return
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    async def restart(self, name: str) -> None:
        if name == "temporal":
            self.temporal.start()
            await self.temporal.wait_ready()
        else:
            self._spawn(name)
            if name == "gateway":
                await self.wait_gateway()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.temporal.stop()
        self._temporal_log.close()
