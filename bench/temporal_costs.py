"""What Temporal does per workflow run: history events, workflow and activity tasks (from the
runs' own histories), and persistence writes (from the dev server's Prometheus metrics, started
with `--metrics-port`).

    before = await settled(metrics_url, Counter())   # once the server is quiet
    ... run N workflows ...
    writes = per_run(await settled(metrics_url, before), N)
    costs = await history_costs(client, workflow_ids)

A write is a persistence request that changes the store (create, update, append, complete,
delete, ...): on the SQLite dev server each is one transaction. Reads (get, list, poll) and
the cluster's own membership heartbeats are left out. Visibility writes (the search
attributes' and run listings' store) are counted apart.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Sequence
from statistics import mean
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

_SAMPLE = re.compile(r"^(visibility_)?persistence_requests\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')
_WRITES = re.compile(
    r"^(Create|Update|ConflictResolve|Set|Delete|Append|Complete|RangeComplete|Add|Put|"
    r"Upsert|Record|Trim|Fork)"
)
_NOT_RUNS = frozenset({"UpsertClusterMembership", "PruneClusterMembership"})


async def persistence(metrics_url: str) -> Counter[str]:
    """Persistence writes so far, by `store:operation` (store: `main` or `visibility`)."""
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(metrics_url)).text
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        operation = labels.get("operation", "")
        if not _WRITES.match(operation) or operation in _NOT_RUNS:
            continue
        store = "visibility" if line.startswith("visibility_") else "main"
        counts[f"{store}:{operation}"] += int(float(match["value"]))
    return counts


async def settled(metrics_url: str, before: Counter[str], *, quiet: float = 1.0) -> Counter[str]:
    """The writes since `before`, once two scrapes `quiet` seconds apart agree (the server
    finishes a run's visibility and cleanup tasks after its result is out); 20 s at most."""
    last = await persistence(metrics_url)
    for _ in range(int(20 / quiet)):
        await asyncio.sleep(quiet)
        now = await persistence(metrics_url)
        if now == last:
            break
        last = now
    return last - before


def per_run(writes: Counter[str], runs: int) -> dict[str, Any]:
    """Writes per run: the totals of each store, then each operation."""
    if not runs:
        return {}
    main = sum(v for k, v in writes.items() if k.startswith("main:"))
    visibility = sum(v for k, v in writes.items() if k.startswith("visibility:"))
    return {
        "writes": round(main / runs, 2),
        "visibility_writes": round(visibility / runs, 2),
        "by_operation": {
            k: round(v / runs, 2) for k, v in sorted(writes.items()) if v / runs >= 0.005
        },
    }


async def history_costs(client: Client, workflow_ids: Sequence[str]) -> dict[str, Any]:
    """Mean history events, workflow tasks, activity tasks and local-activity markers per run
    over `workflow_ids` (a sample), and the events of the first one by type."""
    events: list[int] = []
    tasks: list[int] = []
    activities: list[int] = []
    local: list[int] = []
    first: list[str] = []
    for wid in workflow_ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        kinds = [e.event_type for e in history.events]
        events.append(len(kinds))
        tasks.append(kinds.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED))
        activities.append(kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED))
        local.append(
            sum(
                e.marker_recorded_event_attributes.marker_name == "core_local_activity"
                for e in history.events
            )
        )
        if not first:
            first = [EventType.Name(k).removeprefix("EVENT_TYPE_") for k in kinds]
    if not events:
        return {}
    return {
        "sampled_runs": len(events),
        "history_events": round(mean(events), 2),
        "workflow_tasks": round(mean(tasks), 2),
        "activity_tasks": round(mean(activities), 2),
        "local_activities": round(mean(local), 2),
        "first_history": first,
    }
