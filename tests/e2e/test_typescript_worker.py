"""A workflow in another SDK language: the TypeScript worker of tests/typescript/ serves a
route's workflow type on its task queue, and the gateway (which knows nothing else of it)
signals-with-start it, has an update refused by its validator and answers with the reply of
another. What crosses is the JSON `hooktide schema` describes.

Node.js and npm are required: without them, or when `npm ci` cannot reach the registry, the
test fails, unless HOOKTIDE_SKIP_TYPESCRIPT=1 says this machine cannot have them."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest
from temporalio.client import Client

from tests.support.gateway import serve_gateway
from tests.support.repo import REPO
from tests.support.routes import ORDERS_VERIFIER
from tests.support.signing import signed
from webhook_gateway.config.routes import parse_config
from webhook_gateway.dev.temporal_server import TemporalDevServer

pytestmark = pytest.mark.slow

PROJECT = REPO / "tests" / "typescript"
SKIP = "HOOKTIDE_SKIP_TYPESCRIPT"
NODE_AT_LEAST = (20, 3)
READY = "worker running"
WORKFLOW = "TsTicketWorkflow"


def unavailable(message: str, output: str = "") -> NoReturn:
    """This machine lacks Node.js or the npm registry: a failure, unless told to skip."""
    if os.environ.get(SKIP) == "1":
        pytest.skip(message)
    hint = f"(on a machine that cannot have Node.js 20.3+ and npm, set {SKIP}=1 to skip)"
    pytest.fail("\n".join(filter(None, [message, hint, output])), pytrace=False)


def broken(message: str, output: str = "") -> NoReturn:
    """The project itself is wrong (a type error): a failure everywhere."""
    pytest.fail("\n".join(filter(None, [message, output])), pytrace=False)


def run(
    command: list[str], what: str, *, timeout: float, fail: Callable[[str, str], NoReturn]
) -> float:
    """Run `command` in the project; its duration, or `fail` naming `what` and its output."""
    began = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=PROJECT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        fail(f"{what} did not finish in {timeout:.0f} s", "")
    if done.returncode != 0:
        fail(f"{what} failed (exit {done.returncode}):", (done.stdout + done.stderr)[-2000:])
    return time.monotonic() - began


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One install at a time, should two sessions share this checkout."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def needs_build(installed: Path) -> bool:
    """lib/ lacks a module of src/, or is older than the sources or the dependencies."""
    sources = list(PROJECT.glob("src/*.ts"))
    built = [PROJECT / "lib" / f"{ts.stem}.js" for ts in sources]
    if not all(js.exists() for js in built):
        return True
    inputs = [*sources, PROJECT / "tsconfig.json", installed]
    return max(p.stat().st_mtime for p in inputs) > min(js.stat().st_mtime for js in built)


def prepare() -> dict[str, float]:
    """node and npm present and recent enough; dependencies installed from the lock file
    (`npm ci`, once per lock file); the TypeScript compiled (once per change)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("node and npm are needed for the TypeScript worker, and are not on PATH")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    found = tuple(int(n) for n in version.stdout.strip().lstrip("v").split(".")[:2])
    if found < NODE_AT_LEAST:
        unavailable(f"Node.js {version.stdout.strip()} is too old: the Temporal SDK needs 20.3+")
    timings: dict[str, float] = {}
    with locked(PROJECT / ".install.lock"):
        installed = PROJECT / "node_modules" / ".package-lock.json"
        lock = PROJECT / "package-lock.json"
        if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
            command = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
            # No registry (or no network) is this machine's problem: `unavailable`.
            timings["npm ci"] = run(
                command, "npm ci in tests/typescript", timeout=600, fail=unavailable
            )
        if needs_build(installed):
            # A type error is the project's: it fails even where skipping is allowed.
            timings["tsc"] = run(
                [npm, "run", "build"], "tsc in tests/typescript", timeout=300, fail=broken
            )
    return timings


@dataclass
class TypeScriptWorker:
    queue: str
    process: asyncio.subprocess.Process
    output: list[str] = field(default_factory=list)
    started_in: float = 0.0

    def peak_rss_mb(self) -> float | None:
        """The node process's high-water resident set (Linux), read before it stops."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return None


async def start_worker(address: str, queue: str) -> TypeScriptWorker:
    node = shutil.which("node")
    assert node is not None
    env = os.environ | {"TEMPORAL_ADDRESS": address, "TASK_QUEUE": queue}
    began = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        node,
        "lib/worker.js",
        cwd=PROJECT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    worker = TypeScriptWorker(queue=queue, process=process)
    assert process.stdout is not None
    deadline = began + 90
    while True:
        remaining = deadline - time.monotonic()
        line = b""
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                line = await asyncio.wait_for(process.stdout.readline(), remaining)
        if not line:
            process.kill()
            await process.wait()
            log = "".join(worker.output)[-3000:]
            pytest.fail(f"the TypeScript worker did not start:\n{log}", pytrace=False)
        worker.output.append(line.decode(errors="replace"))
        if READY in worker.output[-1]:
            worker.started_in = time.monotonic() - began
            return worker


async def drain(worker: TypeScriptWorker) -> None:
    """Keep reading the worker's log, so that a full pipe never stalls it."""
    assert worker.process.stdout is not None
    async for line in worker.process.stdout:
        worker.output.append(line.decode(errors="replace"))


@pytest.fixture(scope="module")
async def ts_worker(
    dev_server: TemporalDevServer, client: Client
) -> AsyncIterator[TypeScriptWorker]:
    """The TypeScript worker on a fresh task queue of the session's dev server."""
    timings = await asyncio.to_thread(prepare)
    worker = await start_worker(dev_server.address, f"ts-{uuid.uuid4().hex[:8]}")
    reading = asyncio.create_task(drain(worker))
    try:
        yield worker
    finally:
        peak = worker.peak_rss_mb()
        worker.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(worker.process.wait(), 20)
        except TimeoutError:
            worker.process.kill()
            await worker.process.wait()
        await reading
        spent = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        bundled = re.search(r"webpack .* compiled .*in (\d+) ms", "".join(worker.output))
        memory = f"{peak:.0f} MB" if peak is not None else "unknown"
        print(
            f"\nTypeScript worker: {spent + ', ' if spent else ''}started in "
            f"{worker.started_in:.1f} s (webpack {bundled[1] if bundled else '?'} ms of it), "
            f"peak RSS {memory}, exit {worker.process.returncode}"
        )


def ticket_routes(queue: str) -> dict[str, Any]:
    common = {
        "workflow": WORKFLOW,
        "task_queue": queue,
        "workflow_id": {"path_param": "ticket", "prefix": "ts-ticket-"},
        "delivery_id": {"header": "webhook-id"},
        "verifier": ORDERS_VERIFIER,
    }
    return {
        "routes": {
            "ts-open": {**common, "path": "/ts/tickets/{ticket}", "mode": "signal_with_start"},
            "ts-reply": {
                **common,
                "path": "/ts/tickets/{ticket}/reply",
                "mode": "update",
                "reply_timeout_seconds": 15,
            },
        }
    }


async def test_typescript_workflow_reads_the_event_and_its_reply_is_the_http_answer(
    ts_worker: TypeScriptWorker, client: Client
) -> None:
    ticket = uuid.uuid4().hex[:10]
    async with serve_gateway(parse_config(ticket_routes(ts_worker.queue)), client=client) as http:
        body, opening = signed({"comment": "opened"})
        opened = await http.post(f"/ts/tickets/{ticket}", content=body, headers=opening)
        body, refusing = signed({"comment": "never", "reject": True})
        refused = await http.post(f"/ts/tickets/{ticket}/reply", content=body, headers=refusing)
        body, headers = signed({"comment": "answered", "status": 201, "close": True})
        replied = await http.post(f"/ts/tickets/{ticket}/reply", content=body, headers=headers)

    assert opened.status_code == 202, opened.text
    assert opened.json()["workflow_id"] == f"ts-ticket-{ticket}"
    assert refused.status_code == 422, refused.text
    assert "the TypeScript validator refused it" in refused.json()["detail"]
    assert replied.status_code == 201, replied.text
    assert replied.headers["x-hooktide-worker"] == "typescript"
    assert replied.headers["x-delivery-id"] == headers["webhook-id"]
    reply = replied.json()
    received = datetime.fromisoformat(reply.pop("received_at"))
    assert abs(datetime.now(UTC) - received) < timedelta(minutes=5)
    assert reply == {
        "ticket": f"ts-ticket-{ticket}",
        "route": "ts-reply",
        "delivery_id": headers["webhook-id"],
        "path_ticket": ticket,
        "content_type": "application/json",
        "comments": ["opened", "answered"],
    }
    # The workflow's own result, written by the TypeScript SDK, read by the pydantic converter.
    summary = await client.get_workflow_handle(f"ts-ticket-{ticket}").result()
    assert summary == {
        "ticket": f"ts-ticket-{ticket}",
        "deliveries": [opening["webhook-id"], headers["webhook-id"]],
        "comments": ["opened", "answered"],
    }
