"""Record workflow histories for the replay tests.

Run after changing a workflow on purpose, to add histories of the new version (keep the old
files: they are what running workflows were recorded with):

    .venv/bin/python -m tests.support.record_histories            # everything
    .venv/bin/python -m tests.support.record_histories highfreq   # inbox, batch, debounce only
    .venv/bin/python -m tests.support.record_histories inbox      # the inbox only
    .venv/bin/python -m tests.support.record_histories batch      # coalesced batch collector only
    .venv/bin/python -m tests.support.record_histories orders     # OrderWorkflow, with its peers
    .venv/bin/python -m tests.support.record_histories outbound   # webhook delivery only
    .venv/bin/python -m tests.support.record_histories providers  # GitHub and Stripe examples
    .venv/bin/python -m tests.support.record_histories encrypted  # with the payload codec on
    .venv/bin/python -m tests.support.record_histories flow       # the flow-control sequencer

The outbound histories are named after the delivery workflow's newest patch, so recording
them again never overwrites the histories of earlier versions: one started as `publish_event`
starts it (search attributes at start, a local first attempt), one started with its input
alone (as a redrive starts it).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.outbound import DeliveryInput, DeliveryTarget, start_delivery
from tests.example.record_orders import record_orders
from tests.flow.record_sequencer import record_sequencers
from tests.support.gateway import serve
from tests.support.net import free_port
from tests.support.peer import Peer, Reply
from tests.support.polling import eventually
from tests.support.repo import HISTORIES
from tests.support.signing import ORDERS_SECRET, order_payload
from webhook_gateway.contracts.batching import CollectedEvents
from webhook_gateway.contracts.codec import data_converter, parse_keys
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.highfreq import (
    CollectorInput,
    InboxBatch,
    InboxInput,
    PendingStart,
    StartEventsPacing,
    collected,
)
from webhook_gateway.contracts.secrets import SecretSource
from webhook_gateway.dev.temporal_server import TemporalDevServer
from worker import EXAMPLE_MODULE, build_worker
from workflows.example.github import DeployWorkflow, PullRequestWorkflow
from workflows.example.order import OrderWorkflow
from workflows.example.stripe import CheckoutWorkflow, InvoiceWorkflow, LedgerWorkflow
from workflows.example.ticket import TicketWorkflow
from workflows.highfreq.batch import BatchCollectorWorkflow
from workflows.highfreq.debounce import DebounceCollectorWorkflow
from workflows.highfreq.inbox import InboxWorkflow
from workflows.outbound.delivery import LOCAL_FIRST_PATCH, WebhookDeliveryWorkflow

OUTBOUND_HISTORY = "webhook_delivery_" + LOCAL_FIRST_PATCH.replace("-", "_")
#: The key of tests/histories/encrypted/ (those files only: it protects nothing else).
RECORDING_KEY = "recorded-1:aG9va3RpZGUtcmVjb3JkZWQtaGlzdG9yaWVzLWtleTE="


def event(delivery_id: str, body: Any) -> WebhookEvent:
    return WebhookEvent(
        route="recorded",
        delivery_id=delivery_id,
        received_at=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
        body=body,
    )


async def record(client: Client, queue: str) -> None:
    async def save(name: str, workflow_id: str) -> None:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")

    await record_orders(client, queue, HISTORIES)

    wid = f"rec-ticket-{uuid.uuid4().hex[:6]}"
    handle = await client.start_workflow(
        TicketWorkflow.run, id=wid, task_queue=queue, start_signal="webhook",
        start_signal_args=[event("t1", {"comment": "first"})],
    )  # fmt: skip
    await handle.signal("webhook", event("t1", {"comment": "first"}))
    await handle.execute_update("webhook", event("t2", {"comment": "second"}))
    await handle.signal("webhook", event("t3", {"action": "close"}))
    await handle.result()
    await save("ticket_closed", wid)


async def record_highfreq(client: Client, queue: str) -> None:
    """Short-lived runs of the high-frequency workflows (tiny thresholds, short timers)."""

    async def save(name: str, workflow_id: str, run_id: str | None = None) -> None:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")

    tag = uuid.uuid4().hex[:6]
    await record_inbox(client, queue, tag)

    def collector(**fields: Any) -> CollectorInput:
        return CollectorInput(
            route="recorded", key="k", task_queue=queue, workflow_id_prefix=f"rec-{tag}-",
            idle_seconds=0.5, **fields,
        )  # fmt: skip

    wid = f"rec-batch-{tag}"
    handle = await client.start_workflow(
        BatchCollectorWorkflow.run,
        collector(workflow="EventBatchWorkflow", max_size=2, max_wait_seconds=0.5),
        id=wid, task_queue=queue, start_signal="event", start_signal_args=[event("b1", {"n": 1})],
    )  # fmt: skip
    for n in (2, 2, 3):
        await handle.signal("event", event(f"b{n}", {"n": n}))
    status = await handle.result()
    await save("batch_collector", wid)
    await client.get_workflow_handle(status.delivered[0]).result()
    await save("event_batch", status.delivered[0])

    wid = f"rec-debounce-{tag}"
    handle = await client.start_workflow(
        DebounceCollectorWorkflow.run,
        collector(workflow="OrderWorkflow", period_seconds=0.3),
        id=wid, task_queue=queue, start_signal="event",
        start_signal_args=[event("d1", order_payload("D-1"))],
    )  # fmt: skip
    await handle.signal("event", event("d2", order_payload("D-2")))
    await handle.result()
    await save("debounce_collector", wid)

    await record_batch_by_bytes(client, queue, tag)
    await record_batch_coalesced(client, queue, tag)


async def record_inbox(client: Client, queue: str, tag: str) -> None:
    """An inbox pacing its starts adaptively, continued as new with its backlog and its pace:
    both runs; its second batch brings the route's pacing (as gateways now send it), its first
    none (as older ones did). (`inbox_continued_as_new` is this run recorded before the pace
    adapted: keep it, it cannot be recorded again.)"""
    wid = f"rec-inbox-{tag}"
    items = [
        PendingStart(workflow_id=f"rec-inbox-order-{tag}-{n}", event=event(f"i{n}", {}), size=300)
        for n in range(12)
    ]
    start = InboxInput(route="recorded", shard=0, history_events=14, start_chunk=4,
                       pacing=StartEventsPacing())  # fmt: skip
    handle = await client.start_workflow(
        InboxWorkflow.run, start, id=wid, task_queue=queue, start_signal="events",
        start_signal_args=[InboxBatch(workflow="NoSuchWorkflow", task_queue=f"{queue}-none",
                                      items=items[:6])],
    )  # fmt: skip
    await handle.signal(
        "events",
        InboxBatch(workflow="NoSuchWorkflow", task_queue=f"{queue}-none", items=items[6:],
                   pacing=StartEventsPacing(max_rate=8.0)),
    )  # fmt: skip
    await eventually(
        lambda: client.get_workflow_handle(wid).query(InboxWorkflow.status),
        lambda status: status.backlog == 0 and status.started == 12,
    )
    run_id = handle.first_execution_run_id or handle.result_run_id
    for name in ("inbox_paced_continued_as_new", "inbox_paced_carried"):
        history = await client.get_workflow_handle(wid, run_id=run_id).fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
        continued = history.events[-1].workflow_execution_continued_as_new_event_attributes
        run_id = continued.new_execution_run_id
    await client.get_workflow_handle(wid).terminate("recorded")


async def record_batch_by_bytes(client: Client, queue: str, tag: str) -> None:
    """A batch cut by bytes, its leftover event carried through continue-as-new to a second
    run. (`batch_collector_by_bytes` and `batch_collector_carried` are this run recorded
    before gateways sent each event's size: keep them, they cannot be recorded again.)"""
    wid = f"rec-batch-bytes-{tag}"
    start = CollectorInput(
        route="recorded", key="k", workflow="EventBatchWorkflow", task_queue=queue,
        workflow_id_prefix=f"rec-{tag}-", max_size=100, max_bytes=1024, max_wait_seconds=0.5,
        idle_seconds=0.5, history_events=8,
    )  # fmt: skip
    events = [collected(event(f"bb{n}", {"n": n, "pad": "x" * (250 + 40 * n)})) for n in range(3)]
    handle = await client.start_workflow(
        BatchCollectorWorkflow.run, start, id=wid, task_queue=queue, start_signal="event",
        start_signal_args=[events[0]],
    )  # fmt: skip
    first_run = handle.result_run_id
    for e in events[1:]:
        await handle.signal("event", e)
    await client.get_workflow_handle(wid).result()
    run_id = first_run
    for name in ("batch_collector_sized", "batch_collector_sized_carried"):
        history = await client.get_workflow_handle(wid, run_id=run_id).fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
        continued = history.events[-1].workflow_execution_continued_as_new_event_attributes
        run_id = continued.new_execution_run_id


async def record_batch_coalesced(client: Client, queue: str, tag: str) -> None:
    """Coalesced signals (`events`, one of them with a redelivery, and an older gateway's
    `event`), batches started by a local activity: `batch_collector_local_start`."""
    wid = f"rec-batch-coalesced-{tag}"
    start = CollectorInput(
        route="recorded", key="k", workflow="EventBatchWorkflow", task_queue=queue,
        workflow_id_prefix=f"rec-{tag}-", max_size=2, max_wait_seconds=0.5, idle_seconds=0.5,
    )  # fmt: skip
    events = [collected(event(f"bc{n}", {"n": n})) for n in range(5)]
    handle = await client.start_workflow(
        BatchCollectorWorkflow.run, start, id=wid, task_queue=queue, start_signal="events",
        start_signal_args=[CollectedEvents(events=events[:3])],
    )  # fmt: skip
    await handle.signal("events", CollectedEvents(events=events[2:4]))
    await handle.signal("event", events[4])
    await handle.result()
    history = await handle.fetch_history()
    (HISTORIES / "batch_collector_local_start.json").write_text(history.to_json(), encoding="utf-8")


async def record_outbound(client: Client, queue: str, name: str, *, searchable: bool) -> None:
    """One delivery to a loopback peer: 503, the 5 s timer, then 200 (two attempts); started
    as `publish_event` does if `searchable`, else with its input alone."""
    os.environ["HOOKTIDE_OUTBOUND_ALLOW"] = "127.0.0.0/8"
    os.environ["RECORD_OUTBOUND_WHSEC"] = ORDERS_SECRET
    peer = Peer()
    peer.script("/hook", Reply(503), Reply(200))
    queue = f"{queue}-outbound"  # its own worker, built with loopback allowed
    async with serve(peer.app) as base, build_worker(client, queue, modules=[EXAMPLE_MODULE]):
        peer.base = base
        target = DeliveryTarget(
            subscription="recorded",
            url=peer.url("/hook?token=recorded-query-secret"),
            secret=SecretSource(env="RECORD_OUTBOUND_WHSEC"),
        )
        payload = {"type": "order.completed", "timestamp": "2026-11-27T12:00:00Z", "data": {}}
        data = DeliveryInput(target=target, msg_id=f"msg_{uuid.uuid4().hex}", payload=payload)
        if searchable:
            handle = await start_delivery(client, data, task_queue=queue)
        else:
            handle = await client.start_workflow(
                WebhookDeliveryWorkflow.run, data, id=f"rec-{data.msg_id}", task_queue=queue
            )
        await handle.result()
    history = await handle.fetch_history()
    (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


async def record_providers(client: Client, queue: str) -> None:
    """The GitHub and Stripe examples on the senders' own payloads (tests/fixtures)."""
    fixtures = HISTORIES.parent / "fixtures" / "providers"

    def payload(sender: str, name: str) -> Any:
        return json.loads((fixtures / sender / f"{name}.json").read_text(encoding="utf-8"))

    async def save(name: str, workflow_id: str) -> None:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")

    tag = uuid.uuid4().hex[:6]
    push = payload("github", "push")
    projected = {"sha": push["after"], "repo": push["repository"]["full_name"],
                 "pusher": push["pusher"]["name"]}  # fmt: skip
    wid = f"rec-deploy-{tag}"
    await client.execute_workflow(
        DeployWorkflow.run, event("gh-push", projected).model_copy(update={"event_type": "push"}),
        id=wid, task_queue=queue,
    )  # fmt: skip
    await save("deploy_completed", wid)
    wid = f"rec-pr-{tag}"
    names = ("pull_request.opened", "pull_request.synchronize", "pull_request.closed")
    first, *rest = [
        event(f"gh-{n}", payload("github", n)).model_copy(update={"event_type": n}) for n in names
    ]
    handle = await client.start_workflow(
        PullRequestWorkflow.run, id=wid, task_queue=queue, start_signal="webhook",
        start_signal_args=[first],
    )  # fmt: skip
    for one in rest:
        await handle.signal("webhook", one)
    await handle.result()
    await save("pull_request_closed", wid)
    for workflow, name, history in (
        (CheckoutWorkflow.run, "checkout.session.completed", "stripe_checkout"),
        (InvoiceWorkflow.run, "invoice.paid", "stripe_invoice_paid"),
        (LedgerWorkflow.run, "invoice.paid", "stripe_ledger"),
    ):
        wid = f"rec-{history}-{tag}"
        body = payload("stripe", name)
        one = event(body["id"], body).model_copy(update={"event_type": name})
        await client.execute_workflow(workflow, one, id=wid, task_queue=queue)  # type: ignore[arg-type]
        await save(history, wid)


async def record_encrypted(address: str) -> None:
    """A ticket and an order with the payload codec on (tests/histories/encrypted/)."""
    folder = HISTORIES / "encrypted"
    folder.mkdir(exist_ok=True)
    client = await Client.connect(address, data_converter=data_converter(parse_keys(RECORDING_KEY)))
    queue = f"record-encrypted-{uuid.uuid4().hex[:6]}"
    async with build_worker(client, queue, modules=[EXAMPLE_MODULE]):
        wid = f"rec-ticket-enc-{uuid.uuid4().hex[:6]}"
        handle = await client.start_workflow(
            TicketWorkflow.run, id=wid, task_queue=queue, start_signal="webhook",
            start_signal_args=[event("e1", {"comment": "a secret comment"})],
        )  # fmt: skip
        await handle.execute_update("webhook", event("e2", {"comment": "a secret comment too"}))
        await handle.signal("webhook", event("e3", {"action": "close"}))
        await handle.result()
        history = await handle.fetch_history()
        (folder / "ticket_closed.json").write_text(history.to_json(), encoding="utf-8")
        wid = f"rec-order-enc-{uuid.uuid4().hex[:6]}"
        await client.execute_workflow(
            OrderWorkflow.run, event("o1", order_payload("E-1")), id=wid, task_queue=queue
        )
        history = await client.get_workflow_handle(wid).fetch_history()
        (folder / "order_completed.json").write_text(history.to_json(), encoding="utf-8")


async def main(only: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = TemporalDevServer(db_file=Path(tmp) / "t.db", port=free_port(), ui_port=None)
        server.start()
        try:
            await server.wait_ready()
            client = await Client.connect(server.address, data_converter=pydantic_data_converter)
            queue = f"record-{uuid.uuid4().hex[:6]}"
            async with build_worker(client, queue, modules=[EXAMPLE_MODULE]):
                if only is None:
                    await record(client, queue)
                if only == "orders":
                    await record_orders(client, queue, HISTORIES)
                if only in (None, "highfreq"):
                    await record_highfreq(client, queue)
                if only == "inbox":
                    await record_inbox(client, queue, uuid.uuid4().hex[:6])
                if only == "batch":
                    await record_batch_coalesced(client, queue, uuid.uuid4().hex[:6])
                if only in (None, "outbound"):
                    await record_outbound(client, queue, OUTBOUND_HISTORY, searchable=True)
                    await record_outbound(
                        client, queue, OUTBOUND_HISTORY + "_redriven", searchable=False
                    )
                if only in (None, "providers"):
                    await record_providers(client, queue)
                if only in (None, "flow"):
                    await record_sequencers(client, HISTORIES)
            if only in (None, "encrypted"):
                await record_encrypted(server.address)
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
