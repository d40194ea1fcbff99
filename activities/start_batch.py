"""`start_batch_workflow`: a batch collector's batch, started as the route's workflow.

Run as a local activity, so its input (the whole batch) is never written to the collector's
history: the events are there already, as the signals that brought them. The id is the
collector's `<prefix><key>-<chain>-<sequence>` with reuse policy REJECT_DUPLICATE, so a rerun
(a retried workflow task) finds the batch already started and counts that as done.
"""

from __future__ import annotations

import contextlib

from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from webhook_gateway.contracts.batching import START_BATCH_ACTIVITY, StartBatchInput


@activity.defn(name=START_BATCH_ACTIVITY)
async def start_batch_workflow(data: StartBatchInput) -> str:
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await activity.client().start_workflow(
            data.workflow,
            data.batch,
            id=data.workflow_id,
            task_queue=data.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    return data.workflow_id
