"""Payloads at rest: a real gateway, worker and dev server on a SQLite file of the test's own;
the file and the raw history hold no customer data once HOOKTIDE_PAYLOAD_KEYS is set, the
codec reads it back, and keys rotate without a lost or stuck workflow."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.support.gateway import serve_gateway
from tests.support.net import free_port
from tests.support.polling import eventually
from tests.support.record_histories import event
from tests.support.routes import e2e_config
from tests.support.signing import order_payload, signed
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.codec import new_key
from webhook_gateway.dev.temporal_server import TemporalDevServer
from webhook_gateway.dispatch.temporal_client import connect
from worker import build_worker
from workflows.example.ticket import TicketState, TicketWorkflow

pytestmark = pytest.mark.slow

KEY_A = new_key("key-a")
KEY_B = new_key("key-b")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TemporalDevServer]:
    own = TemporalDevServer(db_file=tmp_path / "at-rest.db", port=free_port(), ui_port=None)
    own.start()
    yield own
    own.stop()


def settings(server: TemporalDevServer, keys: str | None) -> Settings:
    values: dict[str, Any] = {"TEMPORAL_ADDRESS": server.address}
    if keys:
        values["HOOKTIDE_PAYLOAD_KEYS"] = keys
    return Settings(**values)


@asynccontextmanager
async def worker(settings: Settings, queue: str) -> AsyncIterator[Client]:
    client = await connect(settings)
    async with build_worker(client, queue, settings):
        yield client


def stored_bytes(server: TemporalDevServer) -> bytes:
    assert server.db_file is not None
    files = [server.db_file, server.db_file.with_name(server.db_file.name + "-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def customer(tag: str) -> dict[str, Any]:
    order = order_payload(f"A-{tag}")
    order["customer"] = {
        "id": f"c-{tag}",
        "email": f"ada-{tag}@example.com",
        "name": f"Ada Lovelace {tag}",
        "address": f"{tag} Analytical Engine Row",
    }
    return order


async def send_and_complete(
    server: TemporalDevServer, keys: str | None, order: dict[str, Any]
) -> str:
    conf = settings(server, keys)
    queue = f"at-rest-{uuid.uuid4().hex[:8]}"
    async with (
        worker(conf, queue) as client,
        serve_gateway(e2e_config(queue), conf, client=client) as http,
    ):
        body, headers = signed(order)
        ack = await http.post("/webhooks/orders", content=body, headers=headers)
        assert ack.status_code == 202, ack.text
        workflow_id = ack.json()["workflow_id"]
        await client.get_workflow_handle(workflow_id).result()
    return str(workflow_id)


async def test_no_customer_data_at_rest_and_the_codec_reads_it_back(
    server: TemporalDevServer,
) -> None:
    await server.wait_ready()
    raw = await Client.connect(server.address)  # no codec: what the server holds
    plain, sealed = customer(uuid.uuid4().hex[:6]), customer(uuid.uuid4().hex[:6])
    # The control: without keys the same check finds the customer in the file.
    await send_and_complete(server, None, plain)
    workflow_id = await send_and_complete(server, KEY_A, sealed)
    stored = stored_bytes(server)
    assert plain["customer"]["email"].encode() in stored
    for field in ("email", "name", "address"):
        assert stored.count(sealed["customer"][field].encode()) == 0, field
    history = await raw.get_workflow_handle(workflow_id).fetch_history()
    dumped = history.to_json()
    for field in ("email", "name", "address"):
        assert sealed["customer"][field] not in dumped, field
    assert "binary/encrypted" in str(
        history.events[0].workflow_execution_started_event_attributes.input
    )
    codec_client = await connect(settings(server, KEY_A))
    decoded = await codec_client.data_converter.decode(
        history.events[0].workflow_execution_started_event_attributes.input.payloads
    )
    assert decoded[0]["body"]["customer"] == sealed["customer"]


async def test_rotation_keeps_old_and_new_workflows_running_and_a_missing_key_retries(
    server: TemporalDevServer,
) -> None:
    await server.wait_ready()
    queue = f"rotate-{uuid.uuid4().hex[:8]}"
    old, new, stuck = (f"ticket-{name}-{uuid.uuid4().hex[:6]}" for name in ("old", "new", "stuck"))

    async def open_ticket(client: Client, workflow_id: str) -> None:
        await client.start_workflow(
            TicketWorkflow.run, id=workflow_id, task_queue=queue, start_signal="webhook",
            start_signal_args=[event(f"{workflow_id}-1", {"comment": "opened"})],
        )  # fmt: skip

    async def close(client: Client, workflow_id: str) -> Any:
        handle = client.get_workflow_handle(workflow_id, result_type=TicketState)
        await handle.signal("webhook", event(f"{workflow_id}-2", {"action": "close"}))
        return await handle.result()

    async with worker(settings(server, KEY_A), queue) as under_a:
        await open_ticket(under_a, old)
        await open_ticket(under_a, stuck)
    # Rotate: B encrypts from now on, A still decrypts.
    async with worker(settings(server, f"{KEY_B},{KEY_A}"), queue) as rotated:
        await open_ticket(rotated, new)
        assert (await close(rotated, old)).status == "closed"
        assert (await close(rotated, new)).status == "closed"
    # Drop A while `stuck` still needs it: its workflow task fails, and is retried.
    async with worker(settings(server, KEY_B), queue) as only_b:
        handle = only_b.get_workflow_handle(stuck)
        await handle.signal("webhook", event(f"{stuck}-2", {"action": "close"}))

        async def failed_tasks() -> list[str]:
            history = await handle.fetch_history()
            return [
                e.workflow_task_failed_event_attributes.failure.message
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            ]

        failures = await eventually(failed_tasks, bool)
        assert failures and "key id 'key-a'" in failures[0], failures
        assert "key-b" in failures[0]
    # A restored (after B): the same workflow goes on and completes; nothing was dropped.
    async with worker(settings(server, f"{KEY_B},{KEY_A}"), queue) as restored:
        done = restored.get_workflow_handle(stuck, result_type=TicketState)
        state = await asyncio.wait_for(done.result(), 60)
    assert state.status == "closed" and state.comments == ["opened"]


async def test_encrypt_failures_moves_failure_messages_out_of_plaintext(
    time_skipping: Any,
) -> None:
    from temporalio.client import WorkflowFailureError
    from temporalio.worker import Worker

    from webhook_gateway.contracts.codec import data_converter, parse_keys
    from workflows.example.github import DeployWorkflow

    base = time_skipping.client
    sealed = Client(
        base.service_client,
        namespace=base.namespace,
        data_converter=data_converter(parse_keys(KEY_A), encrypt_failures=True),
    )
    queue = f"failures-{uuid.uuid4().hex[:8]}"
    workflow_id = f"deploy-bad-{uuid.uuid4().hex[:6]}"
    async with Worker(sealed, task_queue=queue, workflows=[DeployWorkflow]):
        with pytest.raises(WorkflowFailureError) as failure:
            await sealed.execute_workflow(
                DeployWorkflow.run, event("bad", {"sha": "only-a-sha"}), id=workflow_id,
                task_queue=queue,
            )  # fmt: skip
    assert "not a deploy request" in str(failure.value.cause)  # readable with the key
    raw = await base.get_workflow_handle(workflow_id).fetch_history()
    [failed] = [
        e.workflow_execution_failed_event_attributes.failure
        for e in raw.events
        if e.HasField("workflow_execution_failed_event_attributes")
    ]
    assert failed.message == "Encoded failure"
    assert "deploy request" not in raw.to_json()
