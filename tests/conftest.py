"""Real servers for the suite: Temporal's dev server (SQLite file) and time-skipping server,
both from PyPI packages, plus a real worker; a recording HTTP peer and a worker with the test
workflows for the outbound tests. Nothing here reaches beyond 127.0.0.1.

The suite's environment: no `.env` is read, by this process or the `hooktide` processes it
starts (HOOKTIDE_ENV_FILE, set before collection), and the order routes' secret is set for the
session; anything else a test needs it sets itself, with monkeypatch or an explicit env."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.support.gateway import serve
from tests.support.hooktide import EXAMPLES, NO_DOTENV
from tests.support.net import LOOPBACK_ONLY, free_port
from tests.support.peer import Peer
from tests.support.signing import ORDERS_SECRET
from tests.support.workers import outbound_worker
from webhook_gateway.dev.temporal_server import TemporalDevServer
from webhook_gateway.testing.servers import temporal_environment
from worker import build_worker


def pytest_configure(config: pytest.Config) -> None:
    """Before any test module is imported (some build Settings at import): no `.env`."""
    environment = pytest.MonkeyPatch()
    for name, value in (NO_DOTENV | EXAMPLES).items():
        environment.setenv(name, value)
    config.add_cleanup(environment.undo)


@pytest.fixture(scope="session", autouse=True)
def orders_secret() -> Iterator[None]:
    """TEST_ORDERS_SECRET, which tests.support.routes' routes verify with (ORDERS_SECRET)."""
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("TEST_ORDERS_SECRET", ORDERS_SECRET)
        yield


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    """One dev server on a SQLite file for the whole session (headless, free port)."""
    db = tmp_path_factory.mktemp("temporal") / "temporal.db"
    server = TemporalDevServer(db_file=db, port=free_port(), ui_port=None)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def client(dev_server: TemporalDevServer) -> Client:
    await dev_server.wait_ready()
    return await Client.connect(dev_server.address, data_converter=pydantic_data_converter)


@pytest.fixture(scope="session")
async def task_queue(client: Client) -> AsyncIterator[str]:
    """A task queue of this session's own, served by a real worker with every workflow."""
    queue = f"hooktide-test-{uuid.uuid4().hex[:8]}"
    worker: Worker = build_worker(client, queue)
    async with worker:
        yield queue


@pytest.fixture(scope="session")
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server, as the testing kit's `hooktide_env` starts it."""
    async with temporal_environment("time-skipping") as env:
        yield env


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The peer lives on loopback, which the SSRF guard refuses unless allowlisted (outbound
    test modules use this for every test: `pytestmark = pytest.mark.usefixtures(...)`)."""
    monkeypatch.setenv("HOOKTIDE_OUTBOUND_ALLOW", LOOPBACK_ONLY)


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    recorder = Peer()
    async with serve(recorder.app) as base:
        recorder.base = base
        yield recorder


@pytest.fixture
async def ts_queue(time_skipping: WorkflowEnvironment) -> AsyncIterator[str]:
    """A fresh task queue on the time-skipping server, served by a real worker with every
    workflow and the test workflows (tests/example overrides it with the example's worker)."""
    async with outbound_worker(time_skipping.client) as queue:
        yield queue


@pytest.fixture
def ts_client(time_skipping: WorkflowEnvironment) -> Client:
    return time_skipping.client
