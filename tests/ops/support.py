"""Helpers for the operations tests: the `hooktide` command as a real subprocess."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOOKTIDE = str(Path(sys.executable).parent / "hooktide")


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any HOOKTIDE_/TEMPORAL_/OTEL_ setting."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HOOKTIDE_", "TEMPORAL_", "OTEL_")) and k != "NO_COLOR"
    }
    return env | extra


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
