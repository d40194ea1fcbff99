"""`start_events`: an inbox's chunk of events, one workflow each (for group-commit routes).

Each start uses the id the gateway derived from the delivery id, with conflict policy FAIL and
reuse policy REJECT_DUPLICATE, exactly as a per-request start: "already started" means the
event has its workflow, so it counts as done. A retry of the activity repeats the chunk and
starts only what is still missing. Transient errors fail the activity (Temporal retries it);
an error no retry can fix (say, an invalid id) is reported per event instead of blocking the
inbox forever.
"""

from __future__ import annotations

import asyncio
import logging

from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from webhook_gateway.contracts.highfreq import StartEventsInput, StartEventsResult

log = logging.getLogger("hooktide.inbox")

PERMANENT = frozenset({RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.FAILED_PRECONDITION})


@activity.defn
async def start_events(data: StartEventsInput) -> StartEventsResult:
    client = activity.client()
    limit = asyncio.Semaphore(data.concurrency)
    result = StartEventsResult()
    loop = asyncio.get_running_loop()
    next_slot = loop.time()

    async def pace() -> None:
        """At most `data.rate` starts per second: each start takes the next free slot."""
        nonlocal next_slot
        if not data.rate:
            return
        slot = max(next_slot, loop.time())
        next_slot = slot + 1 / data.rate
        await asyncio.sleep(slot - loop.time())

    async def start_one(workflow: str, task_queue: str, workflow_id: str, event: object) -> None:
        async with limit:
            await pace()
            try:
                await client.start_workflow(
                    workflow,
                    event,
                    id=workflow_id,
                    task_queue=task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            except WorkflowAlreadyStartedError:
                result.duplicates += 1
                return
            except RPCError as exc:
                if exc.status not in PERMANENT:
                    raise
                log.error("cannot start %s: %s (%s)", workflow_id, exc.message, exc.status.name)
                result.failed.append(workflow_id)
                return
            result.started += 1

    outcomes = await asyncio.gather(
        *(
            start_one(batch.workflow, batch.task_queue, item.workflow_id, item.event)
            for batch in data.batches
            for item in batch.items
        ),
        return_exceptions=True,
    )
    # Every start has finished either way; one transient failure retries the chunk.
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return result
