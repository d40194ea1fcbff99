"""OrderWorkflow: one per order webhook delivery, the order example end to end.

    validate ─▶ reserve stock (inventory, HTTP) ─▶ approval, if over the threshold
             ─▶ confirmation email ─▶ CRM update (HTTP) ─▶ completed  (event order.completed)

- An invalid order is a typed rejection (`InvalidOrder`, never retried): operations are
  notified and the workflow completes with status "rejected".
- Saga: once stock is reserved, a step that fails for good (or an approver's "no", or no
  decision within 72 h) releases the reservation and emails the customer a cancellation.
  Compensations retry until done. A failed order notifies operations (email and
  `order.failed`) and fails the workflow with `OrderFailed`.
- Approval: the approver gets a signed, single-use link (made by the activity, so it never
  enters history); the page calls the update `decide`. 24 h without a decision sends a
  reminder with operations in copy; 72 h rejects the order. Both are durable timers.
- Which steps run is this deployment's setup, read by `validate_order`: without an
  inventory URL, CRM URL or SMTP server that step is left out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar
from urllib.parse import quote

from pydantic import JsonValue
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.example.orders import INVALID_ORDER, OrderActivities
    from activities.http.models import HttpRequest, JsonBody, Timeouts
    from activities.notifications import workflow_ui_link
    from webhook_gateway.contracts import search_attributes as sa
    from webhook_gateway.contracts.events import WebhookEvent
    from webhook_gateway.contracts.order import (
        ApprovalDecision,
        ApprovalRequestInput,
        ApprovalState,
        CustomerEmailInput,
        CustomerEmailKind,
        Order,
        OrderCheck,
        OrderResult,
        OrderSetup,
        OrderStatus,
        StepRecord,
        ValidateOrderInput,
    )
    from workflows.example.approval import ApprovalGate
    from workflows.http import DEFAULT_RETRY, http_call
    from workflows.notifications import notify_ops_of_failure
    from workflows.outbound.events import emit_event

T = TypeVar("T")

REMINDER_AFTER = timedelta(hours=24)
DECISION_WITHIN = timedelta(hours=72)
ORDER_FAILED = "OrderFailed"
VALIDATE_RETRY = RetryPolicy(maximum_attempts=5)
EMAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
)
#: Compensation retries until done: unbounded attempts, backoff capped at 10 minutes.
COMPENSATION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=0,
)
HTTP_TIMEOUTS = Timeouts(connect=5, read=15, total=20)
ACTIVITY_TIMEOUT = timedelta(seconds=60)


class StepFailed(Exception):
    """A step failed for good (its retries are spent, or the failure is permanent)."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


class OrderRejected(Exception):
    """The order is not to be fulfilled (an approver's "no", or no decision in time)."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def _why(err: ActivityError) -> str:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return f"{cause.type or 'Error'}: {cause.message}"
    return str(cause or err)


@workflow.defn
class OrderWorkflow:
    def __init__(self) -> None:
        self._delivery_id = ""
        self._history: list[StepRecord] = []
        self._order: Order | None = None
        self._setup = OrderSetup()
        self._gate = ApprovalGate()
        self._undo: list[tuple[str, Callable[[str], Awaitable[None]]]] = []

    # -- the order -----------------------------------------------------------------------

    @workflow.run
    async def run(self, event: WebhookEvent) -> OrderResult:
        self._delivery_id = event.delivery_id
        self._step("received")
        check: OrderCheck = await workflow.execute_activity_method(
            OrderActivities.validate_order,
            ValidateOrderInput(body=event.body),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=VALIDATE_RETRY,
        )
        self._setup = check.setup
        order = check.order
        if order is None:
            return await self._reject_invalid(check.problems or "Invalid order")
        self._order = order
        self._upsert(
            sa.ORDER_ID.value_set(order.id),
            sa.CUSTOMER.value_set(order.customer.id),
            sa.DELIVERY_ID.value_set(event.delivery_id),
            sa.ROUTE.value_set(event.route),
        )
        self._step("validated", f"total {order.total} {order.currency}")
        try:
            await self._fulfil(order, check)
        except OrderRejected as rejected:
            await self._compensate(rejected.reason)
            self._step("rejected", rejected.reason)
            await self._emit("order.rejected", {"reason": rejected.reason, "type": rejected.kind})
            return self._result("rejected", reason=rejected.reason, kind=rejected.kind)
        except StepFailed as failed:
            problems = await self._compensate(f"{failed.step} failed")
            reason = failed.reason + (f" (compensation incomplete: {problems})" if problems else "")
            self._step("failed", f"{failed.step}: {reason}")
            await self._emit("order.failed", {"step": failed.step, "reason": reason})
            await notify_ops_of_failure(
                "order.failed", f"Order {order.id} failed at {failed.step}", reason
            )
            raise ApplicationError(
                f"Order {order.id} failed at {failed.step}: {reason}",
                {"step": failed.step, "reason": reason},
                type=ORDER_FAILED,
                non_retryable=True,
            ) from None
        self._step("completed")
        await self._emit("order.completed", {"customer_id": order.customer.id})
        return self._result("accepted")

    async def _fulfil(self, order: Order, check: OrderCheck) -> None:
        setup = self._setup
        if setup.email:
            self._undo.append(("cancellation-email", self._send_cancellation))
        if setup.inventory_url:
            await self._reserve(order, setup.inventory_url)
            self._undo.append(("reservation-release", self._release))
        if check.needs_approval:
            if check.approval_problem:
                raise StepFailed("approval", check.approval_problem)
            await self._approval(order, check)
        if setup.email:
            self._step("sending-confirmation")
            await self._attempt("confirmation-email", self._customer_email("confirmation"))
            self._step("confirmation-sent")
        if setup.crm_url:
            self._step("updating-crm")
            await self._attempt("crm", self._crm_update(order, setup.crm_url))
            self._step("crm-updated")

    async def _reserve(self, order: Order, base: str) -> None:
        self._step("reserving-inventory")
        lines: list[JsonValue] = [{"sku": li.sku, "quantity": li.quantity} for li in order.lines]
        request = HttpRequest(
            method="POST",
            url=f"{base}/reservations",
            body=JsonBody(data={"order_id": order.id, "lines": lines}),
            timeouts=HTTP_TIMEOUTS,
        )
        response = await self._attempt("inventory", http_call(request, step="inventory-reserve"))
        body = response.body if isinstance(response.body, dict) else {}
        self._step("inventory-reserved", f"reservation {body.get('reservation_id', '?')}")

    async def _release(self, reason: str) -> None:
        assert self._order is not None and self._setup.inventory_url is not None
        order_id = quote(self._order.id, safe="")
        request = HttpRequest(
            method="POST",
            url=f"{self._setup.inventory_url}/reservations/{order_id}/release",
            body=JsonBody(data={"reason": reason}),
            timeouts=HTTP_TIMEOUTS,
            expected_status=["2xx", 404],  # nothing reserved: nothing to release
        )
        await http_call(request, step="inventory-release", retry=COMPENSATION_RETRY)
        self._step("reservation-released")

    async def _crm_update(self, order: Order, base: str) -> None:
        customer = quote(order.customer.id, safe="")
        request = HttpRequest(
            method="POST",
            url=f"{base}/customers/{customer}/orders",
            body=JsonBody(
                data={
                    "order_id": order.id,
                    "email": order.customer.email,
                    "name": order.customer.name,
                    "total": str(order.total),
                    "currency": order.currency,
                    "status": "confirmed",
                }
            ),
            timeouts=HTTP_TIMEOUTS,
        )
        await http_call(request, step="crm-update", retry=DEFAULT_RETRY)

    async def _customer_email(
        self, kind: CustomerEmailKind, reason: str | None = None, retry: RetryPolicy = EMAIL_RETRY
    ) -> None:
        assert self._order is not None
        await workflow.execute_activity_method(
            OrderActivities.send_customer_email,
            CustomerEmailInput(
                kind=kind, workflow_id=workflow.info().workflow_id, order=self._order, reason=reason
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=retry,
        )

    async def _send_cancellation(self, reason: str) -> None:
        await self._customer_email("cancellation", reason, retry=COMPENSATION_RETRY)
        self._step("cancellation-sent")

    # -- approval ------------------------------------------------------------------------

    async def _approval(self, order: Order, check: OrderCheck) -> None:
        now = workflow.now()
        self._gate.open(str(workflow.uuid4()), now, now + DECISION_WITHIN)
        state = self._gate.state
        assert state is not None
        self._step("awaiting-approval", f"total {order.total} over {check.approval_threshold}")
        ask = ApprovalRequestInput(
            workflow_id=workflow.info().workflow_id,
            nonce=state.nonce,
            expires_at=state.expires_at,
            order=order,
            threshold=check.approval_threshold,
        )
        await self._attempt("approval-request", self._ask(ask))
        await self._emit(
            "approval.requested",
            {"total": str(order.total), "expires_at": state.expires_at.isoformat()},
        )
        if not await self._decided_within(REMINDER_AFTER):
            self._step("approval-reminder")
            try:
                await self._ask(ask.model_copy(update={"reminder": True}))
            except ActivityError as err:  # a missed reminder does not stop the order
                workflow.logger.warning("approval reminder not sent: %s", _why(err))
            if not await self._decided_within(state.expires_at - workflow.now()):
                self._gate.expire(workflow.now())
        final = self._gate.state
        assert final is not None
        if final.status == "approved":
            self._step("approved", f"by {final.decided_by}")
            return
        if final.status == "expired":
            raise OrderRejected("not approved within 72 hours", "ApprovalExpired")
        raise OrderRejected(f"rejected by {final.decided_by}", "ApprovalRejected")

    async def _ask(self, ask: ApprovalRequestInput) -> None:
        await workflow.execute_activity_method(
            OrderActivities.request_approval,
            ask,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=EMAIL_RETRY,
        )

    async def _decided_within(self, timeout: timedelta) -> bool:
        try:
            await workflow.wait_condition(
                lambda: self._gate.decided, timeout=max(timeout, timedelta(seconds=1))
            )
        except TimeoutError:
            return False
        return True

    @workflow.update
    async def decide(self, decision: ApprovalDecision) -> ApprovalState:
        """Approve or reject the pending approval (the approval page calls this)."""
        return self._gate.apply(decision, workflow.now())

    @decide.validator
    def _check_decision(self, decision: ApprovalDecision) -> None:
        self._gate.check(decision)

    @workflow.signal(name="approval_decision")
    def approval_decision(self, decision: ApprovalDecision) -> None:
        """The same decision as a signal; a refused one is logged and ignored."""
        try:
            self._gate.apply(decision, workflow.now())
        except ApplicationError as err:
            workflow.logger.info("approval decision ignored: %s", err.message)

    # -- endings, compensation, notification ------------------------------------------------

    async def _reject_invalid(self, problems: str) -> OrderResult:
        self._step("rejected", problems)
        await self._emit("order.rejected", {"reason": problems, "type": INVALID_ORDER})
        await notify_ops_of_failure("order.rejected", "Invalid order rejected", problems)
        return self._result("rejected", reason=problems, kind=INVALID_ORDER)

    async def _compensate(self, reason: str) -> str | None:
        """Undo what was done, newest first; returns what could not be undone, if anything."""
        if not self._undo:
            return None
        self._step("compensating", reason)
        failures: list[str] = []
        for name, undo in reversed(self._undo):
            try:
                await undo(reason)
            except ActivityError as err:  # permanent: retrying cannot help, tell operations
                failures.append(f"{name}: {_why(err)}")
                self._step(f"{name}-failed", _why(err))
        self._undo.clear()
        return "; ".join(failures) or None

    async def _attempt(self, step: str, action: Awaitable[T]) -> T:
        try:
            return await action
        except ActivityError as err:
            raise StepFailed(step, _why(err)) from None

    async def _emit(self, event_type: str, data: dict[str, JsonValue]) -> None:
        if not self._setup.events:
            return
        info = workflow.info()
        payload: dict[str, JsonValue] = {
            "order_id": self._order.id if self._order else None,
            "delivery_id": self._delivery_id,
            "workflow_id": info.workflow_id,
            "ui_link": workflow_ui_link(self._setup.ui_url, info.namespace, info.workflow_id),
            **data,
        }
        await emit_event(event_type, payload, key=event_type)

    def _result(
        self, status: str, *, reason: str | None = None, kind: str | None = None
    ) -> OrderResult:
        return OrderResult.model_validate(
            {
                "order_id": self._order.id if self._order else None,
                "delivery_id": self._delivery_id,
                "status": status,
                "total": self._order.total if self._order else None,
                "reason": reason,
                "rejection_type": kind,
            }
        )

    def _step(self, step: str, detail: str | None = None) -> None:
        self._history.append(StepRecord(step=step, at=workflow.now(), detail=detail))
        self._upsert(sa.STATUS.value_set(step))

    def _upsert(self, *updates: SearchAttributeUpdate[str]) -> None:
        known = set(self._setup.search_attributes)
        wanted = [u for u in updates if u.key.name in known]
        if wanted:
            workflow.upsert_search_attributes(wanted)

    @workflow.query
    def status(self) -> OrderStatus:
        order = self._order
        return OrderStatus(
            delivery_id=self._delivery_id,
            order_id=order.id if order else None,
            customer_id=order.customer.id if order else None,
            total=order.total if order else None,
            currency=order.currency if order else None,
            step=self._history[-1].step if self._history else "pending",
            history=list(self._history),
            approval=self._gate.state,
        )
