"""`notify_ops`, from a workflow: tell operations that this workflow ended badly.

    await notify_ops_of_failure("order.failed", f"Order {order.id} failed", reason)

Best effort but patient: the email is retried for up to a day (backoff capped at 5 min),
then the failure is logged and the workflow goes on; a notification never fails its workflow.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NotifyActivities, OpsNotice

NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=0,
)
NOTIFY_WITHIN = timedelta(days=1)


async def notify_ops_of_failure(kind: str, subject: str, reason: str) -> bool:
    info = workflow.info()
    notice = OpsNotice(
        kind=kind, subject=subject, reason=reason, workflow_id=info.workflow_id,
        namespace=info.namespace,
    )  # fmt: skip
    try:
        return await workflow.execute_activity_method(
            NotifyActivities.notify_ops,
            notice,
            start_to_close_timeout=timedelta(seconds=60),
            schedule_to_close_timeout=NOTIFY_WITHIN,
            retry_policy=NOTIFY_RETRY,
        )
    except ActivityError as err:
        workflow.logger.error("could not notify operations of %s: %s", kind, err.cause or err)
        return False
