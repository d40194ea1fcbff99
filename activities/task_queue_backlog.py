"""How far a task queue's workers are behind: the age of its oldest waiting workflow task.

Temporal reports it cheaply (`DescribeTaskQueue` with stats, an approximate figure kept by
matching). Workflows just started wait there for their first workflow task, so an old one
means the workers take less than is being started.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

log = logging.getLogger("hooktide.inbox")

ASK_TIMEOUT = timedelta(seconds=2)


async def oldest_workflow_task_age(client: Client, task_queue: str) -> float | None:
    """Seconds the oldest workflow task on `task_queue` has waited (0.0: none waits), or None
    if Temporal would not say (an older server, or no permission to describe queues)."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        report_stats=True,
    )
    try:
        answer = await client.workflow_service.describe_task_queue(request, timeout=ASK_TIMEOUT)
    except RPCError as exc:
        log.debug("cannot describe task queue %s: %s", task_queue, exc.status.name)
        return None
    if not answer.HasField("stats"):
        return None
    if answer.stats.approximate_backlog_count == 0:
        return 0.0
    return float(answer.stats.approximate_backlog_age.ToTimedelta().total_seconds())
