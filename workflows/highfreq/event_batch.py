"""EventBatchWorkflow: the example target of a batch route; one activity over the list."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.batches import summarize_batch
    from webhook_gateway.contracts.highfreq import BatchSummary, EventBatch


@workflow.defn
class EventBatchWorkflow:
    @workflow.run
    async def run(self, batch: EventBatch) -> BatchSummary:
        return await workflow.execute_activity(
            summarize_batch,
            batch,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=10),
        )
