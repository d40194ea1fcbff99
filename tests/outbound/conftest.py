"""Outbound fixtures: a recording HTTP peer on 127.0.0.1, loopback allowlisted, and a worker
on the time-skipping server with every workflow and activity plus the test workflows."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.outbound.workers import outbound_worker
from tests.support.gateway import serve
from tests.support.peer import Peer

LOOPBACK_ONLY = "127.0.0.0/8,::1/128"


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The peer lives on loopback, which the SSRF guard refuses unless allowlisted."""
    monkeypatch.setenv("HOOKTIDE_OUTBOUND_ALLOW", LOOPBACK_ONLY)


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    recorder = Peer()
    async with serve(recorder.app) as base:
        recorder.base = base
        yield recorder


@pytest.fixture
async def ts_queue(time_skipping: WorkflowEnvironment) -> AsyncIterator[str]:
    """A fresh task queue on the time-skipping server, served by a real worker."""
    async with outbound_worker(time_skipping.client) as queue:
        yield queue


@pytest.fixture
def ts_client(time_skipping: WorkflowEnvironment) -> Client:
    return time_skipping.client
