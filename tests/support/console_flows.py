"""A workflow for the console's tests: it runs one activity that fails (no retries) while
`CRM.up` is False, as a delivery whose downstream is down would, and completes once it is up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError


class CRM:
    up = True


@activity.defn(name="sync_to_crm")
async def sync_to_crm(body: Any) -> str:
    if not CRM.up:
        raise ApplicationError("CRM answered 503 Service Unavailable", type="HttpError")
    return "synced"


@workflow.defn(name="ConsoleProbeWorkflow")
class ConsoleProbeWorkflow:
    @workflow.run
    async def run(self, event: dict[str, Any]) -> str:
        return await workflow.execute_activity(
            sync_to_crm,
            event.get("body"),
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
