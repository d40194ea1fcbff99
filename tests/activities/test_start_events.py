"""`start_events` against real dev servers: its pace rises while Temporal answers quickly,
falls when Temporal refuses starts (a server limited to 5 requests per second), and every
event still gets exactly one workflow."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig
from temporalio.testing import ActivityEnvironment

from activities.start_events import start_events
from tests.support.net import free_port
from tests.support.polling import eventually
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.highfreq import (
    InboxBatch,
    PendingStart,
    StartEventsInput,
    StartEventsPacing,
)
from webhook_gateway.dev.temporal_server import TemporalDevServer

#: Nothing polls it: the started workflows just wait, which is all these tests need.
UNPOLLED = "start-events-unpolled"
RECEIVED = "2026-01-01T00:00:00Z"


def chunk(prefix: str, count: int) -> list[InboxBatch]:
    def item(n: int) -> PendingStart:
        event = WebhookEvent(route="t", delivery_id=f"{prefix}-{n}", received_at=RECEIVED)
        return PendingStart(workflow_id=f"{prefix}-{n}", event=event, size=200)

    return [
        InboxBatch(
            workflow="OrderWorkflow", task_queue=UNPOLLED, items=[item(n) for n in range(count)]
        )
    ]


async def started_with(client: Client, prefix: str) -> int:
    found = await client.count_workflows(f"WorkflowId STARTS_WITH '{prefix}-'")
    return found.count


@pytest.fixture
async def limited() -> AsyncIterator[TemporalDevServer]:
    """A dev server (in memory) that refuses more than 5 requests per second."""
    server = TemporalDevServer(
        db_file=None, port=free_port(), ui_port=None,
        extra_args=("--dynamic-config-value", "frontend.namespaceRPS=5"),
    )  # fmt: skip
    server.start()
    try:
        await server.wait_ready()
        yield server
    finally:
        server.stop()


async def test_the_pace_rises_while_temporal_answers_quickly(client: Client) -> None:
    prefix = f"quick-{uuid.uuid4().hex[:8]}"
    pacing = StartEventsPacing(initial_rate=5.0, target_latency_ms=2000.0, increase=20.0,
                               max_queue_seconds=None)  # fmt: skip
    heartbeats: list[float] = []
    env = ActivityEnvironment(client=client)
    env.on_heartbeat = heartbeats.append

    result = await env.run(
        start_events,
        StartEventsInput(batches=chunk(prefix, 40), concurrency=16, rate=5.0, pacing=pacing),
    )

    assert (result.started, result.duplicates, result.failed) == (40, 0, [])
    assert result.rate is not None and result.rate > 10.0
    assert heartbeats and heartbeats[-1] == result.rate
    assert result.latency_ms is not None and result.latency_ms < 2000.0
    assert await eventually(lambda: started_with(client, prefix), lambda n: n == 40) == 40


async def test_refused_starts_slow_the_pace_and_every_event_still_starts_once(
    limited: TemporalDevServer,
) -> None:
    # No client-side retries (0 would mean the default): RESOURCE_EXHAUSTED reaches the
    # activity as the server answered it.
    once = RetryConfig(max_retries=1, max_elapsed_time_millis=1, initial_interval_millis=1)
    refusable = await Client.connect(
        limited.address, data_converter=pydantic_data_converter, retry_config=once
    )
    checker = await Client.connect(limited.address, data_converter=pydantic_data_converter)
    prefix = f"refused-{uuid.uuid4().hex[:8]}"
    pacing = StartEventsPacing(initial_rate=40.0, min_rate=1.0, target_latency_ms=1000.0,
                               increase=1.0)  # fmt: skip
    heartbeats: list[float] = []
    env = ActivityEnvironment(client=refusable)
    env.on_heartbeat = heartbeats.append

    result = await env.run(
        start_events,
        StartEventsInput(batches=chunk(prefix, 30), concurrency=8, rate=40.0, pacing=pacing),
    )

    assert result.started + result.duplicates == 30 and result.failed == []
    assert min(heartbeats) <= 5.0  # refusals cut it from 40 to Temporal's 5 per second
    assert result.rate is not None and result.rate < 40.0
    assert await eventually(lambda: started_with(checker, prefix), lambda n: n == 30) == 30


async def test_workers_falling_behind_slow_the_pace(client: Client) -> None:
    prefix = f"behind-{uuid.uuid4().hex[:8]}"
    # Nothing polls UNPOLLED: the started workflows' first tasks wait there, older and older.
    pacing = StartEventsPacing(initial_rate=20.0, increase=20.0, target_latency_ms=5000.0,
                               max_queue_seconds=0.5)  # fmt: skip
    heartbeats: list[float] = []
    env = ActivityEnvironment(client=client)
    env.on_heartbeat = heartbeats.append

    result = await env.run(
        start_events,
        StartEventsInput(batches=chunk(prefix, 60), concurrency=8, rate=20.0, pacing=pacing),
    )

    assert result.started == 60
    assert any(after < before * 0.6 for before, after in itertools.pairwise(heartbeats))  # cut
    assert result.rate is not None and result.rate < max(heartbeats)


async def test_a_retried_activity_resumes_from_the_pace_it_heartbeated(client: Client) -> None:
    prefix = f"resumed-{uuid.uuid4().hex[:8]}"
    env = ActivityEnvironment(client=client)
    env.info = dataclasses.replace(env.info, attempt=2, heartbeat_details=[3.0])

    result = await env.run(
        start_events,
        StartEventsInput(batches=chunk(prefix, 1), rate=50.0, pacing=StartEventsPacing()),
    )

    assert result.started == 1
    assert result.rate == 3.0  # one start, never held back by the pace: it stays where it was


async def test_without_pacing_settings_the_pace_is_fixed_as_older_inboxes_ask(
    client: Client,
) -> None:
    prefix = f"fixed-{uuid.uuid4().hex[:8]}"

    result = await ActivityEnvironment(client=client).run(
        start_events, StartEventsInput(batches=chunk(prefix, 5), concurrency=4, rate=100.0)
    )

    assert (result.started, result.rate, result.latency_ms) == (5, None, None)
