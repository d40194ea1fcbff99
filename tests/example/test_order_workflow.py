"""The order workflow on the time-skipping server, against the real example peers: every
step, Retry-After, the saga, approval with its 24 h reminder and 72 h deadline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from tests.example.conftest import Peers
from tests.example.support import APPROVAL_SECRET, large_order, small_order
from tests.support.polling import eventually
from webhook_gateway.contracts.approval_tokens import read_token
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.order import ApprovalDecision, OrderResult, OrderStatus
from workflows.example.order import OrderWorkflow


def event(body: Any) -> WebhookEvent:
    return WebhookEvent(
        route="orders", delivery_id=uuid.uuid4().hex, received_at=datetime.now(UTC), body=body
    )


async def start(
    env: WorkflowEnvironment, queue: str, body: Any
) -> WorkflowHandle[OrderWorkflow, OrderResult]:
    return await env.client.start_workflow(
        OrderWorkflow.run, event(body), id=f"order-{uuid.uuid4().hex}", task_queue=queue
    )


async def steps(handle: WorkflowHandle[OrderWorkflow, OrderResult]) -> list[str]:
    return (await handle.query(OrderWorkflow.status)).steps


async def activity_attempts(handle: WorkflowHandle[Any, Any], activity: str) -> list[int]:
    scheduled: dict[int, str] = {}
    attempts: list[int] = []
    async for e in handle.fetch_history_events():
        if e.HasField("activity_task_scheduled_event_attributes"):
            scheduled[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
        if e.HasField("activity_task_started_event_attributes"):
            attrs = e.activity_task_started_event_attributes
            if scheduled.get(attrs.scheduled_event_id) == activity:
                attempts.append(attrs.attempt)
    return attempts


async def test_order_reserves_stock_emails_the_customer_and_updates_the_crm(
    time_skipping: WorkflowEnvironment, ts_queue: str, example: Peers
) -> None:
    handle = await start(time_skipping, ts_queue, small_order("S-1"))
    result = await handle.result()

    assert (result.status, result.order_id, str(result.total)) == ("accepted", "S-1", "42.00")
    assert await steps(handle) == [
        "received", "validated", "reserving-inventory", "inventory-reserved",
        "sending-confirmation", "confirmation-sent", "updating-crm", "crm-updated", "completed",
    ]  # fmt: skip
    assert (await example.inventory.get("/reservations/S-1"))["status"] == "reserved"
    assert list((await example.crm.get("/customers/cus-S-1"))["orders"]) == ["S-1"]
    assert example.mail.subjects() == ["Order S-1 confirmed"]
    assert example.mail.messages()[0]["To"] == "ada@example.com"


async def test_invalid_order_is_a_typed_rejection_notified_once_never_retried(
    time_skipping: WorkflowEnvironment, ts_queue: str, example: Peers
) -> None:
    handle = await start(time_skipping, ts_queue, {"id": "S-2", "lines": []})
    result = await handle.result()

    assert (result.status, result.rejection_type) == ("rejected", "InvalidOrder")
    assert result.reason is not None and "lines" in result.reason
    assert await steps(handle) == ["received", "rejected"]
    assert await activity_attempts(handle, "validate_order") == [1]
    (notice,) = example.mail.messages()
    assert notice["To"] == "ops@example.test"
    assert "Invalid order rejected" in str(notice["Subject"])
    body = notice.get_body(("plain",))
    assert body is not None
    assert f"/namespaces/default/workflows/{handle.id}" in body.get_content()
    assert await example.inventory.get("/stock") == {}


async def test_inventory_503_with_retry_after_is_retried_then_the_order_completes(
    time_skipping: WorkflowEnvironment, ts_queue: str, example: Peers
) -> None:
    await example.inventory.faults(status=503, retry_after=2, times=2)
    handle = await start(time_skipping, ts_queue, small_order("S-3"))
    result = await handle.result()

    assert result.status == "accepted"
    # History keeps the last attempt: the reservation took three, the CRM update one.
    assert await activity_attempts(handle, "http_request") == [3, 1]
    assert (await example.inventory.get("/reservations/S-3"))["status"] == "reserved"


async def test_crm_failing_for_good_releases_stock_cancels_and_notifies_operations(
    time_skipping: WorkflowEnvironment, ts_queue: str, example: Peers
) -> None:
    await example.crm.faults(status=500, times=-1)
    handle = await start(time_skipping, ts_queue, small_order("S-4"))
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "OrderFailed"
    assert "crm" in cause.message
    # Failure messages stay plaintext in Temporal (docs/SECURITY.md): no body field in them.
    raw = await handle.fetch_history()
    messages = [
        e.workflow_execution_failed_event_attributes.failure.message
        for e in raw.events
        if e.HasField("workflow_execution_failed_event_attributes")
    ] + [
        e.activity_task_failed_event_attributes.failure.message
        for e in raw.events
        if e.HasField("activity_task_failed_event_attributes")
    ]
    assert messages and not [m for m in messages if "ada@example.com" in m or "Ada" in m]
    history = await steps(handle)
    assert history[-5:] == [
        "updating-crm", "compensating", "reservation-released", "cancellation-sent", "failed",
    ]  # fmt: skip
    assert (await example.inventory.get("/reservations/S-4"))["status"] == "released"
    assert (await example.inventory.get("/stock"))["BOOK"] == 100
    assert example.mail.subjects() == [
        "Order S-4 confirmed", "Order S-4 cancelled", "[hooktide] Order S-4 failed at crm",
    ]  # fmt: skip
    ops = example.mail.messages()[-1].get_body(("plain",))
    assert ops is not None and f"/namespaces/default/workflows/{handle.id}" in ops.get_content()


async def wait_for_approval_request(
    handle: WorkflowHandle[OrderWorkflow, OrderResult], example: Peers
) -> str:
    status: OrderStatus = await eventually(
        lambda: handle.query(OrderWorkflow.status),
        lambda s: s.step == "awaiting-approval" and len(example.mail.messages()) == 1,
    )
    assert status.step == "awaiting-approval", status
    token = read_token(APPROVAL_SECRET, example.mail.approval_token())
    assert token.workflow_id == handle.id
    return token.nonce


async def test_large_order_waits_for_approval_and_completes_once_approved(
    time_skipping: WorkflowEnvironment, ts_queue: str, example: Peers
) -> None:
    handle = await start(time_skipping, ts_queue, large_order("L-1"))
    nonce = await wait_for_approval_request(handle, example)
    state = await handle.execute_update(
        OrderWorkflow.decide, ApprovalDecision(nonce=nonce, approved=True, by="test")
    )
    result = await handle.result()

    assert state.status == "approved"
    assert result.status == "accepted"
    assert example.mail.subjects()[0] == "Approval needed: order L-1 (4497.00 EUR)"
    assert example.mail.subjects()[1:] == ["Order L-1 confirmed"]
    assert "approved" in await steps(handle)


async def test_rejected_large_order_releases_its_reservation_and_cancels(
    time_skipping: WorkflowEnvironment, ts_queue: str, example: Peers
) -> None:
    handle = await start(time_skipping, ts_queue, large_order("L-2"))
    nonce = await wait_for_approval_request(handle, example)
    await handle.signal(
        OrderWorkflow.approval_decision, ApprovalDecision(nonce=nonce, approved=False, by="bob")
    )
    result = await handle.result()

    assert (result.status, result.rejection_type) == ("rejected", "ApprovalRejected")
    assert result.reason == "rejected by bob"
    assert (await example.inventory.get("/reservations/L-2"))["status"] == "released"
    assert example.mail.subjects()[1:] == ["Order L-2 cancelled"]


async def test_signal_with_a_wrong_nonce_is_ignored(
    time_skipping: WorkflowEnvironment, ts_queue: str, example: Peers
) -> None:
    handle = await start(time_skipping, ts_queue, large_order("L-3"))
    nonce = await wait_for_approval_request(handle, example)
    await handle.signal(
        OrderWorkflow.approval_decision, ApprovalDecision(nonce=str(uuid.uuid4()), approved=True)
    )
    status = await handle.query(OrderWorkflow.status)
    await handle.signal(
        OrderWorkflow.approval_decision, ApprovalDecision(nonce=nonce, approved=False)
    )
    result = await handle.result()

    assert status.approval is not None and status.approval.status == "pending"
    assert result.status == "rejected"


async def test_no_decision_reminds_after_24_hours_and_rejects_after_72_with_compensation(
    time_skipping: WorkflowEnvironment, ts_queue: str, example: Peers
) -> None:
    handle = await start(time_skipping, ts_queue, large_order("L-4"))
    before = await time_skipping.get_current_time()
    result = await handle.result()
    after = await time_skipping.get_current_time()
    status = await handle.query(OrderWorkflow.status)

    assert (result.status, result.rejection_type) == ("rejected", "ApprovalExpired")
    assert after - before >= timedelta(hours=72)
    reminded = next(r for r in status.history if r.step == "approval-reminder")
    asked = next(r for r in status.history if r.step == "awaiting-approval")
    assert timedelta(hours=24) <= reminded.at - asked.at < timedelta(hours=25)
    assert status.approval is not None and status.approval.status == "expired"
    assert example.mail.subjects() == [
        "Approval needed: order L-4 (4497.00 EUR)",
        "Reminder: approval still needed: order L-4 (4497.00 EUR)",
        "Order L-4 cancelled",
    ]
    assert example.mail.messages()[1]["Cc"] == "ops@example.test"
    assert (await example.inventory.get("/reservations/L-4"))["status"] == "released"
