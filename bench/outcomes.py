"""What Temporal holds for a benchmark's deliveries, read back after each load: workflows by
id prefix (visibility), the events a batch route's workflows summed, what inbox workflows
were signalled and what they report; and the check that every acknowledged delivery has
exactly one workflow, or is still waiting in an inbox."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError

from webhook_gateway.contracts.highfreq import InboxBatch, inbox_workflow_id


def _starting(prefix: str) -> str:
    return f"WorkflowId STARTS_WITH '{prefix}'"


async def count(client: Client, prefix: str, *, completed_only: bool = False) -> int:
    """Workflows whose id starts with `prefix` (only the completed ones, if asked)."""
    query = _starting(prefix)
    if completed_only:
        query += " AND ExecutionStatus = 'Completed'"
    return (await client.count_workflows(query)).count


async def workflows(client: Client, prefix: str, strip: str) -> Counter[str]:
    """Runs per workflow id, for the ids starting with `prefix` (`strip` taken off)."""
    runs: Counter[str] = Counter()
    async for wf in client.list_workflows(_starting(prefix)):
        runs[wf.id.removeprefix(strip)] += 1
    return runs


class BatchResults:
    """Delivery ids summed by a batch route's completed workflows, each result read once."""

    def __init__(self, client: Client, workflow: str, prefix: str) -> None:
        self.client, self.workflow, self.prefix = client, workflow, prefix
        self.read: dict[str, list[str]] = {}

    async def events(self, tag: str, since: datetime) -> Counter[str]:
        """Delivery ids starting with `tag` in the workflows completed that started after
        `since`."""
        query = (
            f"WorkflowType = '{self.workflow}' AND ExecutionStatus = 'Completed' "
            f"AND {_starting(self.prefix)} AND StartTime > '{since.isoformat()}'"
        )
        async for wf in self.client.list_workflows(query):
            key = f"{wf.id}/{wf.run_id}"
            if key not in self.read:
                handle = self.client.get_workflow_handle(wf.id, run_id=wf.run_id)
                result: Any = await handle.result()
                ids = (
                    result.delivery_ids
                    if hasattr(result, "delivery_ids")
                    else result["delivery_ids"]
                )
                self.read[key] = [str(i) for i in ids]
        return Counter(i for ids in self.read.values() for i in ids if i.startswith(tag))


async def inbox_items(client: Client, route: str, shards: int, tag: str) -> Counter[str]:
    """Delivery ids signalled to a group-commit route's inboxes (their current runs)."""
    found: Counter[str] = Counter()
    for shard in range(shards):
        handle = client.get_workflow_handle(inbox_workflow_id(route, shard))
        try:
            history = await handle.fetch_history()
        except RPCError:  # never started: nothing signalled to it
            continue
        for event in history.events:
            if event.HasField("workflow_execution_signaled_event_attributes"):
                payloads = event.workflow_execution_signaled_event_attributes.input.payloads
                [batch] = await client.data_converter.decode(payloads, [InboxBatch])
                found.update(
                    i.event.delivery_id for i in batch.items if i.event.delivery_id.startswith(tag)
                )
    return found


async def inbox_status(
    client: Client, route: str, shard: int, *, running_only: bool = True
) -> dict[str, Any] | None:
    """The `backlog` query's answer (InboxStatus, as a dict: fields added later show up),
    or None when the inbox does not answer within 2 s (or, `running_only`, is not running)."""
    handle = client.get_workflow_handle(inbox_workflow_id(route, shard))
    try:
        if running_only:
            description = await handle.describe(rpc_timeout=timedelta(seconds=2))
            if description.status != WorkflowExecutionStatus.RUNNING:
                return None
        answer = await asyncio.wait_for(
            handle.query("backlog", rpc_timeout=timedelta(seconds=2)), timeout=2.5
        )
    except (RPCError, TimeoutError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
        return None
    return dict(answer) if isinstance(answer, dict) else None


async def inbox_totals(client: Client, route: str, shards: int) -> dict[str, int]:
    """backlog, started, duplicates and failed, summed over the running inboxes."""
    totals = dict.fromkeys(("backlog", "started", "duplicates", "failed"), 0)
    for status in await asyncio.gather(*(inbox_status(client, route, s) for s in range(shards))):
        for key in totals:
            totals[key] += int((status or {}).get(key, 0))
    return totals


async def terminate(client: Client, workflow_ids: Iterable[str], reason: str) -> int:
    """Terminates the running ones of `workflow_ids`; how many were running."""
    gate = asyncio.Semaphore(16)

    async def one(workflow_id: str) -> bool:
        async with gate:
            try:
                await client.get_workflow_handle(workflow_id).terminate(reason=reason)
            except RPCError:  # closed meanwhile
                return False
            return True

    return sum(await asyncio.gather(*(one(i) for i in workflow_ids)))


async def running(client: Client, prefix: str) -> list[str]:
    query = f"ExecutionStatus = 'Running' AND {_starting(prefix)}"
    return [wf.id async for wf in client.list_workflows(query)]


def check(
    acked: Sequence[str], held: Counter[str], *, waiting: int = 0, completed: int | None = None
) -> dict[str, Any]:
    """Every acknowledged delivery id has exactly one workflow (`held`: runs per id), except
    at most `waiting` ones still in an inbox's backlog; and, if given, all `completed`: the acked
    ones and those sent but unanswered when the load stopped (`unacked_with_workflow`)."""
    acked_set = set(acked)
    missing = len(acked_set - held.keys())
    twice = sum(1 for n in held.values() if n > 1)
    result: dict[str, Any] = {
        "acked": len(acked),
        "acked_twice": len(acked) - len(acked_set),
        "with_workflow": len(acked_set & held.keys()),
        "missing": missing,
        "waiting_in_inbox": waiting,
        "duplicates": twice,
        "unacked_with_workflow": len(held.keys() - acked_set),
        "completed": completed,
        "workflows": sum(held.values()),
    }
    # What waits in an inbox may include events sent but unanswered as the load stopped.
    ok = missing <= waiting and twice == 0 and len(acked) == len(acked_set)
    if completed is not None:
        ok = ok and completed == sum(held.values())
    result["ok"] = ok
    return result
