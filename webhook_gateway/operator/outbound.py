"""Operator endpoints for outbound webhook deliveries (token-protected, like /deliveries):

    GET  /outbound/{delivery_id}           status, attempts and each attempt's HTTP call
    POST /outbound/{delivery_id}/redrive   start a delivery that gave up again

`delivery_id` is the delivery's workflow id (`webhook-<webhook-id>-<subscription>`, as
`emit_event` returns and `hooktide deliveries list --outbound` shows), or the webhook-id
with `?subscription=NAME`. A redrive is the same plan-and-execute step as
`hooktide deliveries redrive --outbound` (`lookup.plan` / `execute`).

`find_delivery`, `delivery_status` and `redrive_delivery` are what these endpoints do, for
the console's outbound pages to do the same.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowHandle
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts import search_attributes as sa
from webhook_gateway.contracts.outbound import AttemptOutcome, delivery_workflow_id
from webhook_gateway.dispatch.temporal_errors import temporal_errors
from webhook_gateway.errors import RequestRejected
from webhook_gateway.operator import lookup
from webhook_gateway.operator.auth import authorize
from webhook_gateway.operator.deliveries import DeliveryNotFound

QUERY_TIMEOUT = 2.0
#: A run's outcome as HooktideStatus names it, for runs that predate the search attributes.
STATUS_OF_OUTCOME = {"endpoint-disabled": "disabled"}


class NotRedrivable(RequestRejected):
    """The delivery is running, or it ended without giving up (delivered, aborted, ...)."""

    status = 409
    slug = "not-redrivable"
    title = "Delivery cannot be redriven"


async def status(request: Request) -> Response:
    authorize(request)
    settings, client = _deps(request)
    desc = await find_delivery(client, _workflow_id(request), settings=settings)
    return JSONResponse(await delivery_status(client, desc, settings=settings))


async def redrive(request: Request) -> Response:
    authorize(request)
    settings, client = _deps(request)
    desc = await find_delivery(client, _workflow_id(request), settings=settings)
    started = await redrive_delivery(client, desc, settings=settings)
    return JSONResponse(
        {
            "delivery_id": desc.id,
            "workflow_id": started.workflow_id,
            "run_id": started.run_id,
            "redrive_of": f"{desc.id}/{desc.run_id}",
        },
        status_code=202,
    )


def _deps(request: Request) -> tuple[Settings, Client]:
    return request.app.state.settings, request.app.state.dispatcher.client


def _workflow_id(request: Request) -> str:
    delivery_id = request.path_params["delivery_id"]
    subscription = request.query_params.get("subscription")
    return delivery_workflow_id(delivery_id, subscription) if subscription else delivery_id


async def find_delivery(
    client: Client, workflow_id: str, *, settings: Settings
) -> WorkflowExecutionDescription:
    """The latest run of the outbound delivery `workflow_id`; `DeliveryNotFound` when there
    is none (or the workflow is not an outbound delivery)."""
    rpc = timedelta(seconds=settings.temporal_rpc_timeout)
    with temporal_errors(retry_after=settings.retry_after_seconds):
        try:
            desc = await client.get_workflow_handle(workflow_id).describe(rpc_timeout=rpc)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            desc = None
    if desc is None or desc.workflow_type != lookup.OUTBOUND_WORKFLOW:
        raise DeliveryNotFound(
            f"No outbound delivery '{workflow_id}'; give its workflow id, or the webhook-id "
            "with ?subscription=."
        )
    return desc


async def redrive_delivery(
    client: Client, desc: WorkflowExecutionDescription, *, settings: Settings
) -> lookup.Redriven:
    """Start a delivery that gave up again (a new run, same id); `NotRedrivable` otherwise."""
    with temporal_errors(retry_after=settings.retry_after_seconds):
        steps = await lookup.plan(client, [desc])
        if not steps:
            raise NotRedrivable(
                f"Delivery '{desc.id}' is {lookup.status_name(desc.status)} and "
                "did not give up; only deliveries that failed are redriven."
            )
        try:
            return await lookup.execute(client, steps[0])
        except WorkflowAlreadyStartedError as exc:
            raise NotRedrivable(f"Delivery '{desc.id}' is being redriven already.") from exc


async def delivery_status(
    client: Client, desc: WorkflowExecutionDescription, *, settings: Settings
) -> dict[str, Any]:
    """The delivery as `GET /outbound/{id}` answers it: its search attributes, outcome and
    result, and every attempt with its (redacted) HTTP call; `attempts` is None when the
    run is open and no worker answered its `attempts` query in time."""
    rpc = timedelta(seconds=settings.temporal_rpc_timeout)
    handle = client.get_workflow_handle(desc.id, run_id=desc.run_id)
    found = desc.typed_search_attributes
    answer: dict[str, Any] = {
        "delivery_id": desc.id,
        "workflow_id": desc.id,
        "run_id": desc.run_id,
        "msg_id": found.get(sa.DELIVERY_ID),
        "subscription": found.get(sa.ENDPOINT),
        "event_type": found.get(sa.EVENT_TYPE),
        "status": found.get(sa.STATUS),
        "execution_status": lookup.status_name(desc.status),
        "started_at": desc.start_time.isoformat(),
        "closed_at": desc.close_time.isoformat() if desc.close_time else None,
        "redrive_of": (await desc.memo()).get(lookup.REDRIVE_MEMO),
    }
    log: list[AttemptOutcome] | None = None
    with temporal_errors(retry_after=settings.retry_after_seconds):
        if desc.status == Status.COMPLETED:
            result = await handle.result(rpc_timeout=rpc)
            answer["result"] = {k: v for k, v in result.items() if k != "attempt_log"}
            answer["status"] = answer["status"] or _status_of(result.get("outcome"))
            if "attempt_log" in result:
                log = [AttemptOutcome.model_validate(a) for a in result["attempt_log"]]
        elif desc.status == Status.RUNNING:
            answer["status"] = answer["status"] or "pending"
    if log is None:
        log = await _query_attempts(handle)
    answer["attempts"] = None if log is None else [a.model_dump(mode="json") for a in log]
    return answer


def _status_of(outcome: object) -> str | None:
    return STATUS_OF_OUTCOME.get(str(outcome), str(outcome)) if outcome else None


async def _query_attempts(handle: WorkflowHandle[Any, Any]) -> list[AttemptOutcome] | None:
    """The workflow's `attempts` query; None when no worker answers in time."""
    try:
        return await asyncio.wait_for(
            handle.query(
                "attempts",
                result_type=list[AttemptOutcome],
                rpc_timeout=timedelta(seconds=QUERY_TIMEOUT),
            ),
            timeout=QUERY_TIMEOUT + 0.5,
        )
    except (RPCError, TimeoutError):
        return None
