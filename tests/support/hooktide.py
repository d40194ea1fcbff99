"""The `hooktide` command as a real process: one command at a time, or `hooktide run` (the
whole local stack) until Ctrl-C. Every process runs in the repository, as a developer would,
with the environment `clean_env` gives it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.repo import REPO
from webhook_gateway.config.settings import ENV_FILE

HOOKTIDE = str(Path(sys.executable).parent / "hooktide")
#: For the processes a test starts: never read a developer's `.env` (config/settings.py).
NO_DOTENV = {ENV_FILE: ""}
#: The tests run the bundled examples' workflows, as `make run` does: their plug-in is on.
EXAMPLES = {"HOOKTIDE_WORKER_MODULES": "workflows.example.plugin"}


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any HOOKTIDE_/TEMPORAL_/OTEL_ setting (and
    without a `.env`) but with the examples' plug-in, then `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HOOKTIDE_", "TEMPORAL_", "OTEL_")) and k != "NO_COLOR"
    }
    return env | NO_DOTENV | EXAMPLES | extra


async def hooktide(*args: str, env: dict[str, str], timeout: float = 60) -> Ran:
    """Run `hooktide ARGS` without blocking the event loop (the gateway and worker the
    command talks to run in this same loop)."""
    proc = await asyncio.create_subprocess_exec(
        HOOKTIDE,
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    #: What `hooktide run` printed up to "Press Ctrl-C".
    banner: str
    #: The rest of its output, once stopped.
    output: str = ""


@contextmanager
def hooktide_run(env: dict[str, str]) -> Iterator[RunningStack]:
    """`hooktide run` (what `make run` starts), once it has printed its banner (90 s at
    most); on leaving, Ctrl-C (SIGINT) and its output and exit code kept."""
    process = subprocess.Popen(
        [HOOKTIDE, "run"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    stack = RunningStack(process, banner="")
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        stack.banner = "".join(lines)
        assert "Press Ctrl-C" in stack.banner, stack.banner
        yield stack
    finally:
        process.send_signal(signal.SIGINT)
        stack.output, _ = process.communicate(timeout=60)
