"""`flow_statuses`: how the workflows a sequencer started in an earlier run (before it
continued as new) stand now; the sequencer learns of the ones it started itself from their
close events, of these by asking, now and then. Run as a local activity."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from webhook_gateway.contracts.flow import STATUSES_ACTIVITY

_NAMES = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "canceled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "running",  # its chain goes on
    WorkflowExecutionStatus.TIMED_OUT: "timed-out",
}


@activity.defn(name=STATUSES_ACTIVITY)
async def flow_statuses(workflow_ids: list[str]) -> dict[str, str]:
    """Each workflow's latest run: running, completed, failed, canceled, terminated,
    timed-out, or missing."""
    client = activity.client()
    found: dict[str, str] = {}
    for workflow_id in workflow_ids:
        try:
            desc = await client.get_workflow_handle(workflow_id).describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            found[workflow_id] = "missing"
            continue
        found[workflow_id] = _NAMES.get(desc.status, "running") if desc.status else "running"
    return found
