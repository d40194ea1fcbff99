"""A real worker for the outbound tests, with the test workflows beside every workflow."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import Client
from temporalio.worker import Worker

from tests.support.flows import TEST_WORKFLOWS
from webhook_gateway.config.routes import load_config
from webhook_gateway.config.settings import Settings
from worker import WORKFLOWS, activities
from workflows.example import plugin as examples


@asynccontextmanager
async def outbound_worker(client: Client) -> AsyncIterator[str]:
    """A fresh task queue served by a real worker with every workflow and the test
    workflows, built from the environment and route file as they are now."""
    queue = f"outbound-{uuid.uuid4().hex[:8]}"
    settings = Settings()
    subscriptions = load_config(settings.config_path).subscriptions
    async with Worker(
        client,
        task_queue=queue,
        workflows=[*WORKFLOWS, *examples.WORKFLOWS, *TEST_WORKFLOWS],
        activities=[
            *activities(settings, subscriptions),
            *examples.hooktide_worker(settings).activities,
        ],
    ):
        yield queue
