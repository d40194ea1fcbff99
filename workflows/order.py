"""OrderWorkflow: one per order webhook delivery. Validates the order, then accepts it."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.orders import INVALID_ORDER, validate_order
    from webhook_gateway.event import WebhookEvent
    from workflows.order_types import OrderResult, OrderStatus, ValidateOrderInput


@workflow.defn
class OrderWorkflow:
    def __init__(self) -> None:
        self._delivery_id = ""
        self._history: list[str] = []

    def _step(self, step: str) -> None:
        self._history.append(step)

    @workflow.run
    async def run(self, event: WebhookEvent) -> OrderResult:
        self._delivery_id = event.delivery_id
        self._step("received")
        try:
            order = await workflow.execute_activity(
                validate_order,
                ValidateOrderInput(body=event.body),
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == INVALID_ORDER:
                self._step("rejected")
                return OrderResult(
                    order_id=None,
                    delivery_id=event.delivery_id,
                    status="rejected",
                    reason=cause.message,
                )
            raise
        self._step("validated")
        self._step("accepted")
        return OrderResult(
            order_id=order.id,
            delivery_id=event.delivery_id,
            status="accepted",
            total=order.total,
        )

    @workflow.query
    def status(self) -> OrderStatus:
        step = self._history[-1] if self._history else "pending"
        return OrderStatus(delivery_id=self._delivery_id, step=step, history=list(self._history))
