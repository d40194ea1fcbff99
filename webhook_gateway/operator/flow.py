"""Flow control for operators: what a key's sequencer holds, which keys are stuck, and
releasing one (docs/FLOW_CONTROL.md). Token-protected, like /deliveries:

    GET  /flow/{target}/{key}           the sequencer's `queue` query (SequencerView)
    POST /flow/{target}/{key}/release   {"action": "skip" | "redrive"}

`hooktide flow show | stuck | release` call the same functions. `target` is the route's
name, or `route.rule` for a rule's.

A key is stuck (its sequencer's HooktideStatus is `blocked`) when its workflow failed, timed
out, was terminated or canceled under `on_failure: block`. A release with `skip` lets the
key go on with the next event and leaves the failed workflow as it is; with `redrive` the
failed workflow is first run again by `lookup.plan` / `execute` (what `hooktide deliveries
redrive` does: a reset, same workflow id), and the key goes on once that run has closed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.service import RPCError

from webhook_gateway.config.routes import HooktideConfig
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts import search_attributes as sa
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.flow import (
    QUEUE_QUERY,
    RELEASE_SIGNAL,
    SEQUENCER_WORKFLOW,
    Blocked,
    ReleaseInput,
    SequencerView,
    sequencer_workflow_id,
)
from webhook_gateway.dispatch.temporal_errors import temporal_errors, workflow_missing
from webhook_gateway.errors import (
    MalformedBody,
    RequestRejected,
    TemporalUnavailable,
    UnprocessableEvent,
)
from webhook_gateway.operator import lookup
from webhook_gateway.operator.auth import authorize
from webhook_gateway.operator.outbound import NotRedrivable

log = logging.getLogger("hooktide.operator.flow")

Action = Literal["skip", "redrive"]


class FlowNotFound(RequestRejected):
    """No sequencer is open for this target and key."""

    status = 404
    slug = "flow-not-found"
    title = "No sequencer for this key"


class NotBlocked(RequestRejected):
    """The key is not blocked: there is nothing to release."""

    status = 409
    slug = "flow-not-blocked"
    title = "The key is not blocked"


class FlowUnanswered(TemporalUnavailable):
    """No worker answered the sequencer's query in time."""

    slug = "flow-query-unanswered"
    title = "No worker answered"


@dataclass(frozen=True)
class Sequencer:
    """A key's open sequencer and what its `queue` query answered."""

    workflow_id: str
    task_queue: str
    view: SequencerView

    def json(self) -> dict[str, Any]:
        return {"workflow_id": self.workflow_id, **self.view.model_dump(mode="json")}


@dataclass(frozen=True)
class Stuck:
    """A blocked sequencer found through visibility; `view` is None when no worker answered."""

    workflow_id: str
    task_queue: str
    view: SequencerView | None

    def json(self) -> dict[str, Any]:
        view = self.view.model_dump(mode="json") if self.view else None
        return {"workflow_id": self.workflow_id, "task_queue": self.task_queue, "view": view}


@dataclass(frozen=True)
class ReleasePlan:
    """What a release will do: `step` is the redrive of the blocked workflow, None for a
    skip, or for a redrive whose workflow runs (or ran) again already."""

    sequencer: Sequencer
    action: Action
    blocked: Blocked
    step: lookup.Step | None

    def describe(self) -> list[str]:
        view, blocked = self.sequencer.view, self.blocked
        lines = [
            f"key {view.key!r} of {view.target} is blocked by {blocked.workflow_id} "
            f"({blocked.status} since {blocked.since.isoformat()}); {view.waiting} waiting"
        ]
        if self.action == "skip":
            lines.append(f"skip {blocked.workflow_id}: it stays {blocked.status}; the next runs")
        elif self.step is not None:
            lines.append(self.step.describe())
            lines.append("then the key goes on once that run has closed")
        else:
            lines.append(
                f"{blocked.workflow_id} was run again already: the key goes on once it closes"
            )
        return lines


@dataclass(frozen=True)
class Released:
    plan: ReleasePlan
    by: str
    redriven: lookup.Redriven | None

    def json(self) -> dict[str, Any]:
        view = self.plan.sequencer.view
        redriven = self.redriven
        return {
            "target": view.target,
            "key": view.key,
            "sequencer": self.plan.sequencer.workflow_id,
            "action": self.plan.action,
            "workflow_id": self.plan.blocked.workflow_id,
            "delivery_id": self.plan.blocked.delivery_id,
            "redriven": (
                {"workflow_id": redriven.workflow_id, "run_id": redriven.run_id}
                if redriven
                else None
            ),
            "by": self.by,
        }


# -- the shared logic --------------------------------------------------------------------


def hint(config: HooktideConfig | None, target: str) -> str:
    """Why the route file may explain a missing sequencer (empty when it does not)."""
    if config is None:
        return ""
    targets = {t.name: t for route in config.routes for t in route.targets.values()}
    flowing = sorted(name for name, t in targets.items() if t.flow is not None)
    known = ", ".join(flowing) or "none"
    if target not in targets:
        return f" The route file has no target '{target}'; those with flow control: {known}."
    if targets[target].flow is None:
        return (
            f" Target '{target}' has no ordered, concurrency or throttle, so no sequencer; "
            f"those with flow control: {known}."
        )
    return ""


async def show(
    client: Client,
    target: str,
    key: str,
    *,
    settings: Settings,
    config: HooktideConfig | None = None,
) -> Sequencer:
    """The key's open sequencer and its queue. `FlowNotFound` when none is open (none was
    started, or it completed after `idle_seconds` with nothing to do); `FlowUnanswered` when
    no worker answers its query in time."""
    workflow_id = sequencer_workflow_id(target, key)
    rpc = timedelta(seconds=settings.temporal_rpc_timeout)
    with temporal_errors(retry_after=settings.retry_after_seconds):
        try:
            desc = await client.get_workflow_handle(workflow_id).describe(rpc_timeout=rpc)
        except RPCError as exc:
            if not workflow_missing(exc):
                raise
            raise FlowNotFound(
                f"No sequencer '{workflow_id}': no event of key {key!r} reached target "
                f"'{target}' (or it completed long ago and is past retention)."
                + hint(config, target)
            ) from exc
    if desc.workflow_type != SEQUENCER_WORKFLOW:
        raise FlowNotFound(f"Workflow '{workflow_id}' is a {desc.workflow_type}, no sequencer.")
    if desc.status != Status.RUNNING:
        raise FlowNotFound(
            f"The sequencer '{workflow_id}' is {lookup.status_name(desc.status)}: a sequencer "
            "completes after an hour with nothing to do, and the key's next event starts a "
            "new one; nothing of this key waits."
        )
    view = await _query(client.get_workflow_handle(workflow_id), desc.task_queue, settings)
    return Sequencer(workflow_id=workflow_id, task_queue=desc.task_queue, view=view)


async def _query(
    handle: WorkflowHandle[Any, Any], task_queue: str, settings: Settings
) -> SequencerView:
    timeout = settings.temporal_rpc_timeout
    try:
        return await asyncio.wait_for(
            handle.query(
                QUEUE_QUERY, result_type=SequencerView, rpc_timeout=timedelta(seconds=timeout)
            ),
            timeout=timeout + 0.5,
        )
    except (RPCError, TimeoutError, WorkflowQueryFailedError) as exc:
        raise FlowUnanswered(
            f"No worker answered the queue query of '{handle.id}' within {timeout:g} s: the "
            f"sequencer runs on task queue '{task_queue}', which a Hooktide worker must serve.",
            retry_after=settings.retry_after_seconds,
        ) from exc


def stuck_query(route: str | None = None) -> str:
    parts = [
        f"WorkflowType = {lookup.quoted(SEQUENCER_WORKFLOW)}",
        "ExecutionStatus = 'Running'",
        f"{sa.STATUS.name} = 'blocked'",
    ]
    if route is not None:
        parts.append(f"{sa.ROUTE.name} = {lookup.quoted(route)}")
    return " AND ".join(parts)


async def stuck(
    client: Client, *, settings: Settings, route: str | None = None, limit: int = 100
) -> list[Stuck]:
    """Blocked sequencers (visibility: HooktideStatus = 'blocked'), each with its queue;
    `ConfigError` when the namespace lacks the search attributes this needs."""
    found: list[Stuck] = []
    rpc = timedelta(seconds=settings.temporal_rpc_timeout)
    needed = (sa.STATUS, sa.ROUTE) if route is not None else (sa.STATUS,)
    with temporal_errors(retry_after=settings.retry_after_seconds):
        absent = [k for k in await sa.missing(client, timeout=rpc) if k in needed]
    if absent:
        raise ConfigError(
            sa.describe_missing(absent, client.namespace)
            + " Stuck keys are found by them: register them ("
            + "; ".join(sa.create_command(k, client.namespace) for k in absent)
            + "), and sequencers started since then are found."
        )
    with temporal_errors(retry_after=settings.retry_after_seconds):
        executions = [e async for e in client.list_workflows(stuck_query(route), limit=limit)]
    for execution in executions:
        handle = client.get_workflow_handle(execution.id)
        try:
            view: SequencerView | None = await _query(handle, execution.task_queue, settings)
        except FlowUnanswered:
            view = None
        found.append(Stuck(workflow_id=execution.id, task_queue=execution.task_queue, view=view))
    return found


async def plan_release(
    client: Client,
    target: str,
    key: str,
    action: Action,
    *,
    settings: Settings,
    config: HooktideConfig | None = None,
) -> ReleasePlan:
    """What releasing the key takes; `NotBlocked` when it is not blocked, `NotRedrivable`
    when a redrive cannot run the blocked workflow again under its own id."""
    sequencer = await show(client, target, key, settings=settings, config=config)
    blocked = sequencer.view.blocked
    if blocked is None:
        raise NotBlocked(f"Key {key!r} of '{target}' is not blocked; nothing to release.")
    step: lookup.Step | None = None
    if action == "redrive":
        with temporal_errors(retry_after=settings.retry_after_seconds):
            found = await lookup.describe_existing(client, [blocked.workflow_id])
            steps = await lookup.plan(client, found) if found else []
        if not found:
            raise NotRedrivable(
                f"Workflow '{blocked.workflow_id}' is gone (past retention): release with skip."
            )
        if steps and steps[0].action == "new-id":
            raise NotRedrivable(
                f"Workflow '{blocked.workflow_id}' never completed a workflow task, so it can "
                "only be redriven under a new id, which the key would not wait for: release "
                "with skip, and redrive it with `hooktide deliveries redrive`."
            )
        if not steps and lookup.status_name(found[0].status) in lookup.REDRIVABLE:
            raise NotRedrivable(
                f"Workflow '{blocked.workflow_id}' was redriven under a new id already: "
                "release with skip."
            )
        step = steps[0] if steps else None
    return ReleasePlan(sequencer=sequencer, action=action, blocked=blocked, step=step)


async def release(client: Client, plan: ReleasePlan, *, by: str, settings: Settings) -> Released:
    """Carry out the plan: the redrive first (so the sequencer finds the new run), then the
    `release` signal naming the blocked workflow (a release for another one is ignored)."""
    rpc = timedelta(seconds=settings.temporal_rpc_timeout)
    redriven: lookup.Redriven | None = None
    with temporal_errors(retry_after=settings.retry_after_seconds):
        if plan.step is not None:
            redriven = await lookup.execute(client, plan.step)
        await client.get_workflow_handle(plan.sequencer.workflow_id).signal(
            RELEASE_SIGNAL,
            ReleaseInput(action=plan.action, workflow_id=plan.blocked.workflow_id, by=by),
            rpc_timeout=rpc,
        )
    done = Released(plan=plan, by=by, redriven=redriven)
    log.info(
        "flow release %s of %s by %s: %s",
        plan.action,
        plan.sequencer.workflow_id,
        by,
        plan.blocked.workflow_id,
        extra={"flow_release": done.json()},
    )
    return done


# -- the endpoints -----------------------------------------------------------------------


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Action
    #: Who releases, for the sequencer's signal and the log line.
    by: str = Field(default="operator-api", min_length=1, max_length=100)


def _deps(request: Request) -> tuple[Settings, Client, HooktideConfig]:
    state = request.app.state
    return state.settings, state.dispatcher.client, state.config


async def view(request: Request) -> Response:
    authorize(request)
    settings, client, config = _deps(request)
    target, key = request.path_params["target"], request.path_params["key"]
    found = await show(client, target, key, settings=settings, config=config)
    return JSONResponse(found.json())


async def release_key(request: Request) -> Response:
    authorize(request)
    settings, client, config = _deps(request)
    asked = await _release_request(request)
    target, key = request.path_params["target"], request.path_params["key"]
    plan = await plan_release(client, target, key, asked.action, settings=settings, config=config)
    done = await release(client, plan, by=asked.by, settings=settings)
    return JSONResponse(done.json(), status_code=202)


async def _release_request(request: Request) -> ReleaseRequest:
    try:
        body = await request.json()
    except ValueError as exc:
        raise MalformedBody('Send JSON: {"action": "skip"} or {"action": "redrive"}.') from exc
    try:
        return ReleaseRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise UnprocessableEvent(
            f'Field {where}: {first["msg"]} (send {{"action": "skip" | "redrive"}}).'
        ) from exc
