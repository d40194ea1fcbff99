"""`ordered.late` on the real dev server: an event older than one its key has already started
runs next (`run`), never (`skip`, counted), or is kept as late and never run (`fail`, listed
in the `queue` query).

Lateness is made certain: the key's seq 5 has begun before the older seq 3 is sent, with a
newer seq 7 beside it."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig

from tests.flow.support import Flow, ended, flow_gateway, flow_worker, spans
from tests.support.flow_flows import LOG
from tests.support.polling import eventually
from webhook_gateway.dev.temporal_server import TemporalDevServer


@dataclass
class Counted:
    """hooktide_flow_events by outcome for one target, summed from a worker's metric buffer."""

    buffer: MetricBuffer
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def of(self, target: str) -> dict[str, int]:
        for update in self.buffer.retrieve_updates():
            if update.metric.name == "hooktide_flow_events":
                key = (str(update.attributes["target"]), str(update.attributes["outcome"]))
                self.counts[key] = self.counts.get(key, 0) + int(update.value)
        return {outcome: n for (t, outcome), n in self.counts.items() if t == target}


@pytest.fixture(scope="module")
async def metered(dev_server: TemporalDevServer) -> tuple[Client, Counted]:
    """A client whose workers' metrics land in a buffer the test reads."""
    buffer = MetricBuffer(10_000)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    client = await Client.connect(
        dev_server.address, data_converter=pydantic_data_converter, runtime=runtime
    )
    return client, Counted(buffer)


@dataclass
class Sent:
    flow: Flow
    ids: dict[int, str]  # seq -> workflow id


@asynccontextmanager
async def five_then_older(client: Client, worker_client: Client, late: str) -> AsyncIterator[Sent]:
    """Seq 5 is sent and has begun, then 3 (late) and 7 are sent; the worker runs on."""
    ordered = {"key": "body.customer", "by": "body.seq", "late": late}
    async with (
        flow_gateway(client, ordered=ordered) as flow,
        flow_worker(worker_client, flow.queue),
    ):
        tag = uuid.uuid4().hex[:6]
        ids = {5: await flow.accepted({"customer": "c", "seq": 5, "ms": 300}, f"m{tag}-5")}
        await eventually(lambda: ids[5] in LOG.spans, bool)
        for seq in (3, 7):
            ids[seq] = await flow.accepted({"customer": "c", "seq": seq}, f"m{tag}-{seq}")
        yield Sent(flow, ids)


async def counted(metered: tuple[Client, Counted], route: str, **expected: int) -> None:
    """The worker's hooktide_flow_events for the route come to `expected` (the worker still
    running: the last close may reach the sequencer a moment after the probe's end)."""
    counts = await eventually(lambda: metered[1].of(route), lambda c: c == expected)
    assert counts == expected


async def test_a_late_event_with_late_run_runs_next_after_the_running_one(
    client: Client, metered: tuple[Client, Counted]
) -> None:
    async with five_then_older(client, metered[0], "run") as sent:
        ids = sent.ids
        assert await eventually(lambda: ended(list(ids.values())), bool), LOG.spans
        await counted(metered, sent.flow.route, started=2, completed=3, **{"late-run": 1})
        view = await sent.flow.view("c")

    assert LOG.order == [ids[5], ids[3], ids[7]]
    for before, after in itertools.pairwise(spans(LOG.order)):
        assert before[1] <= after[0], "two of the key's workflows overlapped"
    assert (view.started, view.last_order, view.late, view.waiting) == (3, 7, [], 0)


async def test_a_late_event_with_late_skip_never_runs_and_is_counted(
    client: Client, metered: tuple[Client, Counted]
) -> None:
    async with five_then_older(client, metered[0], "skip") as sent:
        ids = sent.ids
        # 3 is the queue's head once 5 closes, before 7: when 7 has run, 3 was decided.
        assert await eventually(lambda: ended([ids[5], ids[7]]), bool), LOG.spans
        await counted(metered, sent.flow.route, started=2, completed=2, **{"late-skipped": 1})
        view = await sent.flow.view("c")

    assert LOG.order == [ids[5], ids[7]]
    assert (view.started, view.last_order, view.late, view.waiting) == (2, 7, [], 0)


async def test_a_late_event_with_late_fail_never_runs_and_is_listed_as_late(
    client: Client, metered: tuple[Client, Counted]
) -> None:
    async with five_then_older(client, metered[0], "fail") as sent:
        ids = sent.ids
        assert await eventually(lambda: ended([ids[5], ids[7]]), bool), LOG.spans
        await counted(metered, sent.flow.route, started=2, completed=2, **{"late-failed": 1})
        view = await sent.flow.view("c")

    assert LOG.order == [ids[5], ids[7]]
    [late] = view.late
    assert ids[3] == f"{sent.flow.route}-{late}"  # the delivery id of seq 3
    assert (view.started, view.last_order, view.waiting, view.blocked) == (2, 7, 0, None)
