"""WebhookDeliveryWorkflow: one event to one endpoint, on the Standard Webhooks schedule.

Attempts run immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h
(each ±10 % jitter, drawn deterministically). The waits are workflow timers, not activity
retries, so the schedule is exact and visible in history; a `Retry-After` longer than the
next wait replaces it. Each attempt is one activity run (no activity retries): 2xx = done;
410 or `webhook-delivery: disable` disables the endpoint; `webhook-delivery: abort-message`
gives up on this message; anything else (3xx, 4xx, 5xx, timeout) waits for the next slot.

The first attempt is a local activity: a run started searchable (`start_delivery`) makes it
inside its first workflow task, which then records its outcome, and on success completes the
run, in one write. Later attempts, after their timers, are normal activities. A worker that
dies during the local attempt leaves no record of it: the next workflow task sends it again,
with the same webhook-id (delivery is at least once; the receiver dedupes by webhook-id).

Searchable: HooktideEndpoint, HooktideEventType, HooktideDeliveryId (the webhook-id) and
HooktideStatus (pending, then delivered / failed / aborted / disabled), so
`HooktideStatus = 'failed'` finds the deliveries that gave up. A run started without them
(an operator's redrive, an older starter) upserts them itself and makes its first attempt a
normal activity, so that it is findable as pending while that attempt runs. The attempt log
(one entry per attempt with its redacted HTTP call; at most len(SCHEDULE) per run) is the
`attempts` query and `DeliveryResult.attempt_log`.
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
        OutboundActivities,
        delivery_search_attributes,
        disable_endpoint,
    )
    from webhook_gateway.contracts.outbound import AttemptOutcome, DisableInput
    from workflows.notifications import notify_ops_of_failure

#: Runs started before this patch neither upsert search attributes nor keep them replaying.
SEARCHABLE_PATCH = "searchable-status"
#: Runs started before this patch make every attempt a normal activity. It implies
#: SEARCHABLE_PATCH, which new runs therefore no longer record.
LOCAL_FIRST_PATCH = "local-first-attempt"
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
        local_first = False
        if workflow.patched(LOCAL_FIRST_PATCH):
            self._searchable = True
            local_first = self._started_pending(data)
        else:
            self._searchable = workflow.patched(SEARCHABLE_PATCH)
        if not local_first:
            self._mark(data, "pending")
        for number in range(1, len(SCHEDULE) + 1):
            outcome = await self._attempt(data, number, local=local_first and number == 1)
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

    async def _attempt(self, data: DeliveryInput, number: int, *, local: bool) -> AttemptOutcome:
        attempt = AttemptInput(
            target=data.target, msg_id=data.msg_id, payload=data.payload, attempt=number
        )
        # Longer than one workflow task's timeout (10 s): the worker heartbeats the task
        # while a local attempt runs, so a slow answer costs an extra task, never a retry.
        timeout = timedelta(seconds=data.target.timeout_seconds) + ATTEMPT_MARGIN
        once = RetryPolicy(maximum_attempts=1)
        try:
            if local:
                return await workflow.execute_local_activity_method(
                    OutboundActivities.deliver_webhook,
                    attempt,
                    start_to_close_timeout=timeout,
                    retry_policy=once,
                )
            return await workflow.execute_activity_method(
                OutboundActivities.deliver_webhook,
                attempt,
                start_to_close_timeout=timeout,
                retry_policy=once,
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

    @staticmethod
    def _started_pending(data: DeliveryInput) -> bool:
        """Whether the run was started with its search attributes, status pending."""
        started = workflow.info().typed_search_attributes
        wanted = delivery_search_attributes(data, "pending")
        return all(started.get(key) == value for key, value in wanted)

    def _mark(self, data: DeliveryInput, status: str) -> None:
        if not self._searchable:
            return
        attributes = delivery_search_attributes(data, STATUS_OF.get(status, status))
        workflow.upsert_search_attributes([key.value_set(value) for key, value in attributes])

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
