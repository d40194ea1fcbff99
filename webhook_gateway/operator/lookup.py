"""`hooktide deliveries list|show|redrive`: inbound deliveries (and outbound webhook
deliveries) as Temporal's visibility store knows them.

Redrive re-runs a failed delivery with its original input, as a new run:

- inbound (a route's workflow): the workflow is *reset* to its first workflow task, so the
  new run keeps the workflow id. Start-mode routes start with REJECT_DUPLICATE, so a new
  start under the same id would be refused; a reset is allowed, keeps the sender's dedupe
  (a late redelivery is still a duplicate) and `/deliveries/{id}` shows the new run. A run
  that never completed a workflow task has no reset point: it is started again as
  `<workflow id>-redrive-<n>`, with memo `hooktide_redrive_of` naming the original.
- outbound (`WebhookDeliveryWorkflow`, which *completes* with outcome `failed` when it gives
  up): a new run under the same id (its id reuse policy allows one once closed), with the
  same memo. Outbound deliveries are found by their search attributes too (`--outcome
  failed` is `HooktideStatus = 'failed'`). `plan` and `execute` are the one redrive logic:
  the operator API (`POST /outbound/{id}/redrive`) calls them as well.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.client import WorkflowExecution as Execution
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from webhook_gateway.config.routes import HooktideConfig, Route
from webhook_gateway.config.target import Target
from webhook_gateway.contracts import search_attributes as sa
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.dispatch.temporal_errors import workflow_missing

OUTBOUND_WORKFLOW = "WebhookDeliveryWorkflow"
REDRIVE_MEMO = "hooktide_redrive_of"
STATUSES = {
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "canceled": "Canceled",
    "terminated": "Terminated",
    "continued-as-new": "ContinuedAsNew",
    "timed-out": "TimedOut",
}
REDRIVABLE = frozenset({"failed", "timed-out", "terminated", "canceled"})
#: HooktideStatus values of outbound deliveries.
OUTCOMES = ("pending", "delivered", "failed", "aborted", "disabled")
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_SAFE = re.compile(r"^[^'\"\\]*$")


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """`30m`, `2h`, `7d` ago, or an ISO 8601 time (UTC when it names no zone)."""
    now = now or datetime.now(UTC)
    match = _DURATION.match(text)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"Time '{text}' is neither a duration (30m, 2h, 7d) nor an ISO 8601 time."
        ) from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def quoted(value: str) -> str:
    """A value in a visibility query (one that holds a quote or backslash is refused)."""
    if not _SAFE.match(value):
        raise ConfigError(f"'{value}' may not contain quotes or backslashes.")
    return f"'{value}'"


@dataclass(frozen=True, kw_only=True)
class Filter:
    route: Route | None = None
    outbound: bool = False
    task_queue: str | None = None
    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    #: HooktideStatus values; outbound deliveries only (implies `outbound`).
    outcomes: tuple[str, ...] = ()
    #: One rule's workflows (a route's target); narrower than `route`.
    target: Target | None = None
    #: HooktideEventType, which the gateway sets on the workflows it starts and outbound
    #: deliveries carry.
    event_type: str | None = None
    #: HooktideEndpoint: outbound deliveries to this subscription (implies `outbound`).
    endpoint: str | None = None
    #: These workflow ids only (a delivery id's `candidates`).
    workflow_ids: tuple[str, ...] | None = None

    def query(self, config: HooktideConfig) -> str:
        parts: list[str] = []
        if self.outbound or self.outcomes or self.endpoint:
            parts.append(f"WorkflowType = {quoted(OUTBOUND_WORKFLOW)}")
        elif self.target is not None:
            parts.append(_target_query(self.target))
        elif self.route is not None:
            each = [_target_query(t) for t in self.route.targets.values()]
            parts.append(each[0] if len(each) == 1 else "(" + " OR ".join(each) + ")")
        else:
            types = sorted({t.workflow for r in config.routes for t in r.targets.values()})
            parts.append(f"WorkflowType IN ({', '.join(quoted(t) for t in types)})")
        if self.task_queue:
            parts.append(f"TaskQueue = {quoted(self.task_queue)}")
        if self.statuses:
            names = ", ".join(quoted(STATUSES[s]) for s in self.statuses)
            parts.append(f"ExecutionStatus IN ({names})")
        if self.outcomes:
            values = ", ".join(quoted(o) for o in self.outcomes)
            parts.append(f"{sa.STATUS.name} IN ({values})")
        if self.endpoint:
            parts.append(f"{sa.ENDPOINT.name} = {quoted(self.endpoint)}")
        if self.event_type:
            parts.append(f"{sa.EVENT_TYPE.name} = {quoted(self.event_type)}")
        if self.workflow_ids is not None:
            ids = ", ".join(quoted(w) for w in self.workflow_ids) or "''"
            parts.append(f"WorkflowId IN ({ids})")
        if self.since:
            parts.append(f"StartTime >= {quoted(self.since.isoformat())}")
        if self.until:
            parts.append(f"StartTime <= {quoted(self.until.isoformat())}")
        return " AND ".join(parts)


def _target_query(target: Target) -> str:
    parts = [
        f"WorkflowType = {quoted(target.workflow)}",
        f"TaskQueue = {quoted(target.task_queue)}",
    ]
    if target.workflow_id.prefix:
        parts.append(f"WorkflowId STARTS_WITH {quoted(target.workflow_id.prefix)}")
    return "(" + " AND ".join(parts) + ")"


def candidates(routes: Iterable[Route], delivery_id: str) -> list[tuple[Target, str]]:
    """The workflows a delivery may have started: one per target (a route's workflow, or
    each rule's) whose workflow id is derived from the delivery id (a target that reads it
    from the request must be asked by id)."""
    found: dict[str, tuple[Target, str]] = {}
    for route in routes:
        for target in route.targets.values():
            rule = target.workflow_id
            if not rule.sources():
                found.setdefault(rule.prefix + delivery_id, (target, rule.prefix + delivery_id))
    return list(found.values())


def target_for(route: Route, workflow_id: str) -> Target:
    """The route's target a workflow id belongs to: the longest matching id prefix."""
    targets = sorted(route.targets.values(), key=lambda t: len(t.workflow_id.prefix), reverse=True)
    return next((t for t in targets if workflow_id.startswith(t.workflow_id.prefix)), targets[0])


async def describe_existing(
    client: Client,
    workflow_ids: Iterable[str],
    *,
    first: bool = False,
    rpc_timeout: timedelta | None = None,
) -> list[WorkflowExecutionDescription]:
    """The latest run of each workflow id that exists (only the first found, with `first`);
    a missing workflow is skipped (an answer, not an error), every other failure raised."""
    found: list[WorkflowExecutionDescription] = []
    for workflow_id in workflow_ids:
        if first and found:
            break
        try:
            handle = client.get_workflow_handle(workflow_id)
            found.append(await handle.describe(rpc_timeout=rpc_timeout))
        except RPCError as exc:
            if not workflow_missing(exc):
                raise
    return found


def status_name(status: WorkflowExecutionStatus | None) -> str:
    if status is None:
        return "unknown"
    return status.name.lower().replace("_", "-")


def target_of(config: HooktideConfig, execution: Execution) -> Target | None:
    """The route's (or rule's) target whose workflow type, task queue and id prefix match
    the workflow (the longest prefix wins)."""
    best: Target | None = None
    for target in (t for route in config.routes for t in route.targets.values()):
        prefix = target.workflow_id.prefix
        if (
            target.workflow == execution.workflow_type
            and target.task_queue == execution.task_queue
            and execution.id.startswith(prefix)
            and (best is None or len(prefix) > len(best.workflow_id.prefix))
        ):
            best = target
    return best


def route_of(config: HooktideConfig, execution: Execution) -> tuple[str, str | None]:
    """(target name, delivery id) for a workflow (`target_of`); the delivery id when the
    target derives the workflow id from it."""
    if execution.workflow_type == OUTBOUND_WORKFLOW:
        return "(outbound)", None
    best = target_of(config, execution)
    if best is None:
        return "-", None
    rule = best.workflow_id
    delivery = execution.id[len(rule.prefix) :] if not rule.sources() else None
    return best.name, delivery


async def row(config: HooktideConfig, execution: Execution) -> dict[str, Any]:
    """One delivery as `list` and `show` print it. An outbound delivery's id is its
    workflow id (what `GET /outbound/{id}` takes); `outcome` is its HooktideStatus."""
    route, delivery = route_of(config, execution)
    outbound = execution.workflow_type == OUTBOUND_WORKFLOW
    memo = await execution.memo()
    return {
        "route": route,
        "delivery_id": delivery,
        "workflow_id": execution.id,
        "run_id": execution.run_id,
        "workflow_type": execution.workflow_type,
        "status": status_name(execution.status),
        "started_at": execution.start_time.isoformat(),
        "closed_at": execution.close_time.isoformat() if execution.close_time else None,
        "redrive_of": memo.get(REDRIVE_MEMO),
    } | (
        {"delivery_id": execution.id, "outcome": execution.typed_search_attributes.get(sa.STATUS)}
        if outbound
        else {}
    )


@dataclass(frozen=True, kw_only=True)
class Step:
    """One redrive: what is there now, and what will be done."""

    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: str
    action: str  # "reset" | "new-id" | "new-run"
    reset_event_id: int | None = None

    def describe(self) -> str:
        if self.action == "reset":
            return (
                f"reset {self.workflow_id} (run {self.run_id}, {self.status}) to event "
                f"{self.reset_event_id}: a new run with the original input, same id"
            )
        if self.action == "new-run":
            return f"start {self.workflow_id} again ({self.status}): same id, original input"
        return f"start {self.workflow_id}-redrive-<n> with the original input ({self.status})"


async def _outbound_failed(client: Client, execution: Execution) -> bool:
    """An outbound delivery that gave up: it *completed*, with outcome `failed`."""
    if execution.status != WorkflowExecutionStatus.COMPLETED:
        return status_name(execution.status) in REDRIVABLE
    searched = execution.typed_search_attributes.get(sa.STATUS)
    if searched is not None:
        return searched == "failed"
    result = await client.get_workflow_handle(execution.id, run_id=execution.run_id).result()
    outcome = result.get("outcome") if isinstance(result, dict) else None
    return outcome == "failed"


async def latest_runs(client: Client, workflow_ids: Iterable[str]) -> dict[str, str]:
    """The latest run of each workflow id (by start time: a reset's run starts when it is
    made), read from visibility a hundred ids per query. An earlier run, redriven since,
    stays in visibility with the status it ended with."""
    ids = sorted(i for i in set(workflow_ids) if _SAFE.match(i))  # others: not searchable
    latest: dict[str, tuple[datetime, str]] = {}
    for first in range(0, len(ids), 100):
        chunk = ids[first : first + 100]
        query = f"WorkflowId IN ({', '.join(quoted(i) for i in chunk)})"
        async for run in client.list_workflows(query):
            seen = latest.get(run.id)
            if seen is None or run.start_time > seen[0]:
                latest[run.id] = (run.start_time, run.run_id)
    return {workflow_id: run for workflow_id, (_, run) in latest.items()}


async def _redriven_as_new_id(client: Client, workflow_id: str) -> bool:
    query = f"WorkflowId STARTS_WITH {quoted(workflow_id + '-redrive-')}"
    return any([True async for _ in client.list_workflows(query, limit=1)])


async def plan(client: Client, candidates: Iterable[Execution]) -> list[Step]:
    """What redriving each candidate takes; a run that is not its workflow's latest (it
    was redriven already) and a run redriven under a new id are left out, so a redrive is
    never made twice."""
    candidates = list(candidates)
    latest = await latest_runs(client, (e.id for e in candidates))
    steps: list[Step] = []
    for execution in candidates:
        if latest.get(execution.id, execution.run_id) != execution.run_id:
            continue
        status = status_name(execution.status)
        step = Step(
            workflow_id=execution.id,
            run_id=execution.run_id,
            workflow_type=execution.workflow_type,
            task_queue=execution.task_queue,
            status=status,
            action="new-run",
        )
        if execution.workflow_type == OUTBOUND_WORKFLOW:
            if await _outbound_failed(client, execution):
                steps.append(step)
            continue
        if status not in REDRIVABLE:
            continue
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        point = next(
            (
                e.event_id
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            ),
            None,
        )
        if point is None:
            if not await _redriven_as_new_id(client, execution.id):
                steps.append(replace(step, action="new-id"))
        else:
            steps.append(replace(step, action="reset", reset_event_id=point))
    return steps


async def _original_input(client: Client, step: Step) -> list[Any]:
    handle = client.get_workflow_handle(step.workflow_id, run_id=step.run_id)
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    return await client.data_converter.decode(started.input.payloads)


@dataclass(frozen=True)
class Redriven:
    """The run a redrive started."""

    workflow_id: str
    run_id: str | None

    def __str__(self) -> str:
        return f"{self.workflow_id} run {self.run_id}"


async def execute(client: Client, step: Step) -> Redriven:
    """Carry out one step; returns the workflow id and run id it started."""
    memo = {REDRIVE_MEMO: f"{step.workflow_id}/{step.run_id}"}
    if step.action == "reset":
        assert step.reset_event_id is not None
        response = await client.workflow_service.reset_workflow_execution(
            ResetWorkflowExecutionRequest(
                namespace=client.namespace,
                workflow_execution=WorkflowExecution(
                    workflow_id=step.workflow_id, run_id=step.run_id
                ),
                reason=f"hooktide deliveries redrive (was {step.status})",
                workflow_task_finish_event_id=step.reset_event_id,
                request_id=str(uuid.uuid4()),
            )
        )
        return Redriven(step.workflow_id, response.run_id)
    args = await _original_input(client, step)
    if step.action == "new-run":
        handle = await client.start_workflow(
            step.workflow_type,
            args=args,
            id=step.workflow_id,
            task_queue=step.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            memo=memo,
        )
        return Redriven(handle.id, handle.result_run_id)
    for n in range(1, 1000):
        try:
            handle = await client.start_workflow(
                step.workflow_type,
                args=args,
                id=f"{step.workflow_id}-redrive-{n}",
                task_queue=step.task_queue,
                memo=memo,
            )
        except WorkflowAlreadyStartedError:
            continue
        return Redriven(handle.id, handle.result_run_id)
    raise ConfigError(f"{step.workflow_id} has been redriven 999 times already.")
