"""What the flow-control tests share: a gateway with one flow-controlled route on a queue of
its own, a worker for it started when the test says (so everything sent before is queued in
the sequencers), signed sends, the key's sequencer, and sequencers started directly (with
settings the route file cannot give, such as a tiny `history_events`)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from tests.support.flow_flows import FAIL, LOG, FlowProbeWorkflow, flow_probe_mark
from tests.support.gateway import GatewayClient, serve_gateway
from tests.support.polling import eventually
from tests.support.routes import ORDERS_VERIFIER
from tests.support.signing import signed
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.flow import (
    EVENTS_SIGNAL,
    QUEUE_QUERY,
    SEQUENCER_WORKFLOW,
    FlowEvent,
    FlowEvents,
    FlowSettingsWire,
    SequencerInput,
    SequencerView,
    sequencer_workflow_id,
)
from worker import WORKFLOWS, activities

#: The probe's module is passed through the sandbox, so that the probe reads the test's
#: own FAIL (a sandboxed copy of the module would have an empty one).
PROBE_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("tests.support.flow_flows")
)


def flow_worker(client: Client, queue: str) -> Worker:
    """Hooktide's workflows (the sequencer among them) and the probe workflow."""
    return Worker(
        client,
        task_queue=queue,
        workflows=[*WORKFLOWS, FlowProbeWorkflow],
        activities=[*activities(Settings(), []), flow_probe_mark],
        workflow_runner=PROBE_RUNNER,
    )


@dataclass
class Flow:
    http: GatewayClient
    client: Client
    route: str
    queue: str

    def worker(self) -> Worker:
        return flow_worker(self.client, self.queue)

    async def send(self, body: dict[str, Any], msg_id: str | None = None) -> httpx.Response:
        raw, headers = signed(body, msg_id=msg_id or f"msg-{uuid.uuid4().hex[:10]}")
        return await self.http.post(f"/webhooks/{self.route}", content=raw, headers=headers)

    async def accepted(self, body: dict[str, Any], msg_id: str | None = None) -> str:
        """Send; returns the event's workflow id (as the 202 names it; a route with rules:
        its one target's)."""
        response = await self.send(body, msg_id)
        assert response.status_code == 202, response.text
        answer = response.json()
        [target] = answer.get("targets", [answer])
        workflow_id: str = target["workflow_id"]
        return workflow_id

    def sequencer(self, key: str, target: str | None = None) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(sequencer_workflow_id(target or self.route, key))

    async def view(self, key: str, target: str | None = None) -> SequencerView:
        view: SequencerView = await self.sequencer(key, target).query(
            QUEUE_QUERY, result_type=SequencerView
        )
        return view


def flow_route(queue: str, route: str, **fields: Any) -> dict[str, Any]:
    return {
        "path": f"/webhooks/{route}",
        "workflow": "FlowProbeWorkflow",
        "task_queue": queue,
        "delivery_id": {"header": "webhook-id"},
        "workflow_id": {"prefix": f"{route}-"},
        "verifier": ORDERS_VERIFIER,
        **fields,
    }


@asynccontextmanager
async def flow_gateway(client: Client, **fields: Any) -> AsyncIterator[Flow]:
    """A gateway whose one route (`fields` are its flow-control and other fields) starts
    FlowProbeWorkflow on a fresh queue; LOG and FAIL start empty."""
    queue = f"flow-{uuid.uuid4().hex[:8]}"
    route = f"f{uuid.uuid4().hex[:6]}"
    config = parse_config({"routes": {route: flow_route(queue, route, **fields)}})
    LOG.clear()
    FAIL.clear()
    async with serve_gateway(config, Settings(), client=client, timeout=30) as http:
        yield Flow(http, client, route, queue)


@asynccontextmanager
async def completed_on(
    env: WorkflowEnvironment, *sequencers: WorkflowHandle[Any, Any]
) -> AsyncIterator[None]:
    """On the shared time-skipping server, at the block's end (the worker still running):
    skip the sequencers' idle hour so that they complete, and terminate any that did not,
    so that none is left holding the server's clock."""
    try:
        yield
        await env.sleep(timedelta(seconds=3601))
        for handle in sequencers:
            await eventually(handle.describe, lambda d: d.status != WorkflowExecutionStatus.RUNNING)
    finally:
        for handle in sequencers:
            with contextlib.suppress(RPCError):
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("test over")


def spans(workflow_ids: Sequence[str]) -> list[list[float]]:
    return [LOG.spans[w] for w in workflow_ids]


def peak_overlap(intervals: Sequence[Sequence[float]]) -> int:
    """The most intervals open at one instant (one ending as another begins: not overlapping)."""
    edges = sorted([(b, 1) for b, _ in intervals] + [(e, -1) for _, e in intervals])
    peak = now = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def ended(workflow_ids: Sequence[str]) -> bool:
    return all(w in LOG.spans and LOG.spans[w][1] > 0 for w in workflow_ids)


# --- sequencers started directly --------------------------------------------------------------


def probe_event(
    tag: str,
    delivery_id: str,
    *,
    queue: str,
    order: float | str | None = None,
    settings: FlowSettingsWire,
    **body: Any,
) -> FlowEvent:
    """The FlowEvent a gateway would send for a FlowProbeWorkflow `<tag>-<delivery id>`."""
    event = WebhookEvent(
        route=tag,
        delivery_id=delivery_id,
        received_at=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
        body=body,
    )
    return FlowEvent(
        delivery_id=delivery_id,
        workflow="FlowProbeWorkflow",
        workflow_id=f"{tag}-{delivery_id}",
        task_queue=queue,
        event=event,
        order=order,
        settings=settings,
    )


async def start_sequencer(
    client: Client,
    start: SequencerInput,
    *first: FlowEvent,
    queue: str,
) -> WorkflowHandle[Any, Any]:
    """Signal-with-start a sequencer as the gateway does (`flow_events`), with this input."""
    return await client.start_workflow(
        SEQUENCER_WORKFLOW,
        start,
        id=sequencer_workflow_id(start.target, start.key),
        task_queue=queue,
        start_signal=EVENTS_SIGNAL,
        start_signal_args=[FlowEvents(events=list(first))],
    )


async def children_started(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The workflow ids this run of a sequencer asked to start, in order."""
    history = await handle.fetch_history()
    return [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]


async def run_ids(client: Client, workflow_id: str, first: str) -> list[str]:
    """Every run of a workflow's chain from `first` on (following ContinuedAsNew)."""
    chain = [first]
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=chain[-1]).fetch_history()
        last = history.events[-1]
        if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            return chain
        chain.append(last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id)
