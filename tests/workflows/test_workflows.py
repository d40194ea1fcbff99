"""Workflow logic on the time-skipping server, and replay of recorded histories."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from tests.support import repo
from tests.support.events import event
from tests.support.record_histories import RECORDING_KEY
from tests.support.signing import order_payload
from webhook_gateway.contracts.codec import data_converter, parse_keys
from webhook_gateway.contracts.order import OrderResult
from worker import WORKFLOWS, build_worker
from workflows.example import plugin as examples
from workflows.example.order import OrderWorkflow
from workflows.example.ticket import TicketState, TicketWorkflow

HISTORIES = sorted(repo.HISTORIES.glob("*.json"))


async def test_valid_order_is_accepted_with_its_total_when_no_peer_is_configured(
    time_skipping: WorkflowEnvironment,
) -> None:
    queue = uuid.uuid4().hex
    async with build_worker(time_skipping.client, queue):
        result = await time_skipping.client.execute_workflow(
            OrderWorkflow.run, event(order_payload("T-1")), id=uuid.uuid4().hex, task_queue=queue
        )
    assert isinstance(result, OrderResult)
    assert (result.status, result.order_id, str(result.total)) == ("accepted", "T-1", "19.00")


async def test_invalid_order_is_rejected_once_not_retried(
    time_skipping: WorkflowEnvironment,
) -> None:
    queue = uuid.uuid4().hex
    async with build_worker(time_skipping.client, queue):
        handle = await time_skipping.client.start_workflow(
            OrderWorkflow.run, event({"id": "T-2", "lines": []}), id=uuid.uuid4().hex,
            task_queue=queue,
        )  # fmt: skip
        result = await handle.result()
        status = await handle.query(OrderWorkflow.status)
    assert result.status == "rejected"
    assert result.reason is not None and "lines" in result.reason
    assert status.steps == ["received", "rejected"]
    assert result.rejection_type == "InvalidOrder"
    attempts = [
        e.activity_task_started_event_attributes.attempt
        async for e in handle.fetch_history_events()
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert attempts == [1, 1]  # validation, then the notice to operations: neither retried


async def test_duplicate_sku_lines_are_rejected(time_skipping: WorkflowEnvironment) -> None:
    body = order_payload()
    body["lines"] = body["lines"] * 2
    queue = uuid.uuid4().hex
    async with build_worker(time_skipping.client, queue):
        result = await time_skipping.client.execute_workflow(
            OrderWorkflow.run, event(body), id=uuid.uuid4().hex, task_queue=queue
        )
    assert result.status == "rejected"
    assert "SKU" in (result.reason or "")


async def test_idle_ticket_closes_after_thirty_days(time_skipping: WorkflowEnvironment) -> None:
    queue = uuid.uuid4().hex
    async with build_worker(time_skipping.client, queue):
        handle = await time_skipping.client.start_workflow(
            TicketWorkflow.run, id=uuid.uuid4().hex, task_queue=queue, start_signal="webhook",
            start_signal_args=[event({"comment": "anyone?"})],
        )  # fmt: skip
        before = await time_skipping.get_current_time()
        state = await handle.result()
        after = await time_skipping.get_current_time()
    assert isinstance(state, TicketState)
    assert state.status == "closed"
    assert state.comments == ["anyone?"]
    assert after - before >= timedelta(days=30)


async def test_ticket_ignores_a_redelivered_signal(time_skipping: WorkflowEnvironment) -> None:
    queue = uuid.uuid4().hex
    async with build_worker(time_skipping.client, queue):
        handle = await time_skipping.client.start_workflow(
            TicketWorkflow.run, id=uuid.uuid4().hex, task_queue=queue
        )
        await handle.signal(TicketWorkflow.on_event, event({"comment": "once"}, "d-1"))
        await handle.signal(TicketWorkflow.on_event, event({"comment": "once"}, "d-1"))
        await handle.signal(TicketWorkflow.on_event, event({"action": "close"}, "d-2"))
        state = await handle.result()
    assert state.comments == ["once"]


def test_histories_are_recorded() -> None:
    assert {p.stem for p in HISTORIES} >= {
        "order_completed", "order_rejected", "order_approved", "order_failed", "ticket_closed",
        "deploy_completed", "pull_request_closed", "stripe_checkout", "stripe_invoice_paid",
        "stripe_ledger",
    }  # fmt: skip


#: Histories recorded with the payload codec on, under tests.support.record_histories'
#: RECORDING_KEY (a key for these files only).
ENCRYPTED = sorted((repo.HISTORIES / "encrypted").glob("*.json"))
WITH_CODEC = data_converter(parse_keys(RECORDING_KEY))


#: Plaintext histories replayed with the codec on as well (one of each kind of workflow).
PLAIN_WITH_CODEC = {"ticket_closed", "order_completed", "inbox_continued_as_new"}
CASES = [(p, False) for p in HISTORIES] + [
    (p, True) for p in HISTORIES if p.stem in PLAIN_WITH_CODEC
]


@pytest.mark.parametrize(
    ("path", "codec"), CASES, ids=[f"{p.stem}{'-codec-on' if c else ''}" for p, c in CASES]
)
async def test_recorded_history_replays_with_current_code(path: Path, codec: bool) -> None:
    """Plaintext histories from before the codec replay with it turned on too: workflows
    started before encryption was configured keep running after."""
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    converter = WITH_CODEC if codec else pydantic_data_converter
    replayer = Replayer(workflows=[*WORKFLOWS, *examples.WORKFLOWS], data_converter=converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_encrypted_histories_are_recorded() -> None:
    assert {p.stem for p in ENCRYPTED} >= {"ticket_closed", "order_completed"}


@pytest.mark.parametrize("path", ENCRYPTED, ids=lambda p: p.stem)
async def test_an_encrypted_history_replays_given_its_key_and_not_without(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "ada@example.com" not in text and "a secret comment" not in text
    history = WorkflowHistory.from_json(path.stem, text)
    workflows = [*WORKFLOWS, *examples.WORKFLOWS]
    good = await Replayer(workflows=workflows, data_converter=WITH_CODEC).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert good.replay_failure is None
    keyless = await Replayer(
        workflows=workflows, data_converter=pydantic_data_converter
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert keyless.replay_failure is not None
