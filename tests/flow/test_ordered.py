"""Ordered per key on the real dev server: shuffled, concurrently redelivered events of ten
keys run one at a time per key, in the sender's order, each once."""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from tests.support.flow_flows import FAIL, LOG, FlowProbeWorkflow, flow_probe_mark
from tests.support.gateway import serve_gateway
from tests.support.polling import eventually
from tests.support.routes import ORDERS_VERIFIER
from tests.support.signing import signed
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.flow import QUEUE_QUERY, SequencerView, sequencer_workflow_id
from worker import WORKFLOWS, activities


@dataclass
class Flow:
    http: httpx.AsyncClient
    client: Client
    route: str
    queue: str

    def worker(self) -> Worker:
        return Worker(
            self.client,
            task_queue=self.queue,
            workflows=[*WORKFLOWS, FlowProbeWorkflow],
            activities=[*activities(Settings(), []), flow_probe_mark],
        )


def flow_route(queue: str, route: str, **flow: Any) -> dict[str, Any]:
    return {
        "path": f"/webhooks/{route}",
        "workflow": "FlowProbeWorkflow",
        "task_queue": queue,
        "delivery_id": {"header": "webhook-id"},
        "workflow_id": {"prefix": f"{route}-"},
        "verifier": ORDERS_VERIFIER,
        **flow,
    }


@pytest.fixture
async def flow(client: Client, request: pytest.FixtureRequest) -> AsyncIterator[Flow]:
    queue = f"flow-{uuid.uuid4().hex[:8]}"
    route = f"f{uuid.uuid4().hex[:6]}"
    settings: dict[str, Any] = request.param
    config = parse_config({"routes": {route: flow_route(queue, route, **settings)}})
    LOG.clear()
    FAIL.clear()
    async with serve_gateway(config, Settings(), client=client, timeout=30) as http:
        yield Flow(http, client, route, queue)


IN_FLIGHT = asyncio.Semaphore(32)  # as a sender's pool: the gateway 503s past its RPC timeout


async def send(flow: Flow, body: dict[str, Any], msg_id: str) -> httpx.Response:
    raw, headers = signed(body, msg_id=msg_id)
    async with IN_FLIGHT:
        return await flow.http.post(f"/webhooks/{flow.route}", content=raw, headers=headers)


ORDERED = {"ordered": {"key": "body.customer", "by": "body.seq"}}


@pytest.mark.parametrize("flow", [ORDERED], indirect=True)
async def test_shuffled_redelivered_events_run_in_order_one_at_a_time(flow: Flow) -> None:
    events = [
        ({"customer": f"cus-{k}", "seq": s, "ms": 20}, f"msg-{flow.route}-{k}-{s}")
        for k in range(10)
        for s in range(20)
    ]
    # Everything is acked before any worker runs (the sequencers hold it), shuffled, a
    # third of it sent twice at once; then the worker starts them.
    random.Random(7).shuffle(events)
    sent = await asyncio.gather(*(send(flow, b, m) for b, m in [*events, *events[::3]]))
    assert all(r.status_code == 202 for r in sent), [r.text for r in sent if r.status_code != 202]
    async with flow.worker():
        await eventually(lambda: len(LOG.spans), lambda n: n >= 200, timeout=120)
        await eventually(lambda: all(end for _, end in LOG.spans.values()), bool, timeout=60)
        await asyncio.sleep(0.5)  # a second run of any would have begun by now
        sequencer = flow.client.get_workflow_handle(sequencer_workflow_id(flow.route, "cus-3"))
        view = await sequencer.query(QUEUE_QUERY, result_type=SequencerView)
    assert len(LOG.order) == 200  # each once, none twice
    for k in range(10):
        ids = [w for w in LOG.order if w.startswith(f"{flow.route}-msg-{flow.route}-{k}-")]
        assert [int(w.rsplit("-", 1)[1]) for w in ids] == list(range(20)), k
        spans = [LOG.spans[w] for w in ids]
        for before, after in itertools.pairwise(spans):
            assert before[1] <= after[0], f"key {k}: two workflows overlapped"
    assert (view.waiting, view.running, view.started, view.last_order) == (0, [], 20, 19)
