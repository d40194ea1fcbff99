"""Fixtures for the order example: its real peers on loopback, the environment that points
the worker at them, and a worker on the time-skipping server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.example.support import Mailbox, Service, order_env, peers
from worker import build_worker


@dataclass(frozen=True)
class Peers:
    inventory: Service
    crm: Service
    mail: Mailbox


@pytest.fixture
async def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Peers]:
    """The inventory, CRM and SMTP sink, and the worker's environment pointing at them."""
    async with peers(tmp_path) as (inventory, crm, mail):
        for name, value in order_env(inventory, crm, mail).items():
            monkeypatch.setenv(name, value)
        yield Peers(inventory, crm, mail)


@pytest.fixture
async def ts_queue(time_skipping: WorkflowEnvironment, example: Peers) -> AsyncIterator[str]:
    """A task queue of the test's own on the time-skipping server, served by the real worker,
    built once the environment points at the example's peers."""
    queue = f"example-{uuid.uuid4().hex[:8]}"
    async with build_worker(time_skipping.client, queue):
        yield queue
