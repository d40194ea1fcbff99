"""WebhookDeliveryWorkflow: one event to one endpoint, on the Standard Webhooks schedule.

Attempts run immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h
(each ±10 % jitter, drawn deterministically). The waits are workflow timers, not activity
retries, so the schedule is exact and visible in history; a `Retry-After` longer than the
next wait replaces it. Each attempt is one activity run (no activity retries): 2xx = done;
410 or `webhook-delivery: disable` disables the endpoint; `webhook-delivery: abort-message`
gives up on this message; anything else (3xx, 4xx, 5xx, timeout) waits for the next slot.

Searchable: the run upserts HooktideEndpoint, HooktideEventType, HooktideDeliveryId (the
webhook-id) and HooktideStatus (pending, then delivered / failed / aborted / disabled), so
`HooktideStatus = 'failed'` finds the deliveries that gave up. The attempt log (one entry
per attempt with its redacted HTTP call; at most len(SCHEDULE) per run) is the `attempts`
query and `DeliveryResult.attempt_log`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.outbound import (
        AttemptInput,
        DeliveryInput,
        DisableInput,
        OutboundActivities,
        disable_endpoint,
    )
    from webhook_gateway.contracts import search_attributes as sa
    from webhook_gateway.contracts.outbound import AttemptOutcome
    from workflows.notifications import notify_ops_of_failure

#: Runs started before this patch neither upsert search attributes nor keep them replaying.
SEARCHABLE_PATCH = "searchable-status"
STATUS_OF = {"endpoint-disabled": "disabled"}

SCHEDULE = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
JITTER = 0.1
ATTEMPT_MARGIN = timedelta(seconds=10)


class DeliveryResult(BaseModel):
    msg_id: str
    subscription: str
    outcome: Literal["delivered", "failed", "aborted", "disabled", "endpoint-disabled"]
    attempts: int
    last_status: int | None = None
    last_error: str | None = None
    attempt_log: list[AttemptOutcome] = []


@workflow.defn
class WebhookDeliveryWorkflow:
    def __init__(self) -> None:
        self._attempts: list[AttemptOutcome] = []
        self._searchable = False

    @workflow.run
    async def run(self, data: DeliveryInput) -> DeliveryResult:
        self._searchable = workflow.patched(SEARCHABLE_PATCH)
        self._mark(data, "pending")
        for number in range(1, len(SCHEDULE) + 1):
            outcome = await self._attempt(data, number)
            self._attempts.append(outcome)
            if outcome.disable:
                await workflow.execute_activity(
                    disable_endpoint,
                    DisableInput(
                        subscription=data.target.subscription,
                        reason=f"message {data.msg_id}: {outcome.status} {outcome.error or ''}",
                    ),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
                )
                return self._result(data, "disabled")
            if outcome.result != "failed":
                return self._result(data, outcome.result)
            if number < len(SCHEDULE):
                await workflow.sleep(self._next_wait(SCHEDULE[number], outcome))
        if workflow.patched("ops-notice-on-failure"):  # operations hear of what gave up
            last = self._attempts[-1]
            await notify_ops_of_failure(
                "webhook.failed",
                f"Webhook {data.msg_id} to '{data.target.subscription}' gave up",
                f"{len(self._attempts)} attempts; last answer {last.status or 'none'} "
                f"({(last.error or 'no error').split(':', 1)[0]})",
            )
        return self._result(data, "failed")

    async def _attempt(self, data: DeliveryInput, number: int) -> AttemptOutcome:
        try:
            return await workflow.execute_activity_method(
                OutboundActivities.deliver_webhook,
                AttemptInput(
                    target=data.target, msg_id=data.msg_id, payload=data.payload, attempt=number
                ),
                start_to_close_timeout=timedelta(seconds=data.target.timeout_seconds)
                + ATTEMPT_MARGIN,
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError as err:
            return AttemptOutcome(result="failed", error=str(err.cause or err))

    @staticmethod
    def _next_wait(scheduled: timedelta, outcome: AttemptOutcome) -> timedelta:
        factor = 1 + workflow.random().uniform(-JITTER, JITTER)
        wait = timedelta(milliseconds=round(scheduled.total_seconds() * factor * 1000))
        if outcome.retry_after_seconds is not None:
            wait = max(wait, timedelta(seconds=outcome.retry_after_seconds))
        return wait

    def _mark(self, data: DeliveryInput, status: str) -> None:
        if not self._searchable:
            return
        event_type = data.payload.get("type")
        updates = [
            sa.ENDPOINT.value_set(data.target.subscription),
            sa.DELIVERY_ID.value_set(data.msg_id),
            sa.STATUS.value_set(STATUS_OF.get(status, status)),
        ]
        if isinstance(event_type, str):
            updates.append(sa.EVENT_TYPE.value_set(event_type))
        workflow.upsert_search_attributes(updates)

    def _result(self, data: DeliveryInput, outcome: str) -> DeliveryResult:
        self._mark(data, outcome)
        last = self._attempts[-1] if self._attempts else None
        return DeliveryResult.model_validate(
            {
                "msg_id": data.msg_id,
                "subscription": data.target.subscription,
                "outcome": outcome,
                "attempts": len(self._attempts),
                "last_status": last.status if last else None,
                "last_error": last.error if last else None,
                "attempt_log": self._attempts,
            }
        )

    @workflow.query
    def attempts(self) -> list[AttemptOutcome]:
        return list(self._attempts)
