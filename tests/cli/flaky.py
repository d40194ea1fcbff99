"""A workflow whose activity fails until the test says otherwise, to have failed deliveries
to redrive; and a stand-in outbound delivery registered under the real workflow's name."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from webhook_gateway.contracts.events import WebhookEvent

BROKEN = {"flaky_step": True, "outbound": True}


@activity.defn
async def flaky_step(delivery_id: str) -> str:
    if BROKEN["flaky_step"]:
        raise ApplicationError("the downstream system is down", non_retryable=True)
    return f"done {delivery_id}"


@workflow.defn
class FlakyWorkflow:
    @workflow.run
    async def run(self, event: WebhookEvent) -> str:
        return await workflow.execute_activity(
            flaky_step,
            event.delivery_id,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


@activity.defn
async def outbound_attempt(msg_id: str) -> str:
    return "failed" if BROKEN["outbound"] else "delivered"


@workflow.defn(name="WebhookDeliveryWorkflow")
class StandInDeliveryWorkflow:
    """Completes with outcome `failed` (as the real one does when it gives up) while broken."""

    @workflow.run
    async def run(self, data: dict[str, Any]) -> dict[str, Any]:
        outcome = await workflow.execute_activity(
            outbound_attempt, data["msg_id"], start_to_close_timeout=timedelta(seconds=10)
        )
        return {"msg_id": data["msg_id"], "outcome": outcome, "attempts": 1}
