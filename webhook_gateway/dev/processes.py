"""One child process of the local stack: its command, environment and log file, how to tell
that it is ready, and how to stop it (SIGTERM, or SIGKILL for fault injection).

A child can be started again after it stopped; its log file is appended to, and readiness
looks only at what was written since the last start.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import IO

import httpx

LOOPBACK = "127.0.0.1"

#: Says whether a child is ready (it is known to be running when this is asked).
Ready = Callable[["Child"], Awaitable[bool]]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"VmRSS not found for process {pid}")


def http_ok(url: str, *, ok: Callable[[int], bool] = lambda status: status == 200) -> Ready:
    """Ready once `url` answers with a status that `ok` accepts (200 unless told)."""

    async def check(child: Child) -> bool:
        try:
            async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
                return ok((await http.get(url)).status_code)
        except httpx.TransportError:
            return False

    return check


@dataclass(eq=False, repr=False)
class Child:
    """A restartable child process (see the module's docstring)."""

    name: str
    argv: list[str]
    _: KW_ONLY
    env: Mapping[str, str] | None = None  # None: this process's environment
    log: Path | None = None  # None: output discarded
    cwd: Path | None = None
    ready: Ready | None = None  # None: ready once started
    hint: str = ""  # what to check when it fails to start
    # A session of its own: the terminal's Ctrl-C reaches only the parent, which stops its
    # children in order.
    new_session: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log_offset: int = field(default=0, init=False)

    def __repr__(self) -> str:
        state = f"pid {self.process.pid}" if self.running and self.process else "not running"
        return f"<Child {self.name!r} {state}>"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if self.log is None:
            self.process = self._popen(subprocess.DEVNULL)
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = self._popen(out)

    def _popen(self, out: int | IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.argv,
            env=None if self.env is None else dict(self.env),
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=self.new_session,
        )

    def output(self) -> bytes:
        """What the child wrote to its log since it was last started."""
        if self.log is None or not self.log.exists():
            return b""
        with self.log.open("rb") as log:
            log.seek(self._log_offset)
            return log.read()

    async def is_ready(self) -> bool:
        return self.ready is None or await self.ready(self)

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Until it is ready; raises if it exits first or `timeout` passes."""
        where = "; ".join(filter(None, [f"see {self.log}" if self.log else "", self.hint]))
        what = self.name + (f" ({where})" if where else "")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.process is None:
                raise RuntimeError(f"{what} is not running")
            if self.process.poll() is not None:
                raise RuntimeError(f"{what} exited with code {self.process.returncode}")
            if await self.is_ready():
                return
            if loop.time() > deadline:
                raise TimeoutError(f"{what} was not ready within {timeout} s")
            await asyncio.sleep(0.2)

    def stop(self, *, kill: bool = False, timeout: float = 15.0) -> None:
        """SIGTERM (SIGKILL if `kill`) and wait; one that outlasts `timeout` is killed."""
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
