"""Pending approvals of the order example (mounted only when the example is configured):
the OrderWorkflow runs waiting for a decision (HooktideStatus `awaiting-approval`, or
`approval-reminder` once the approver was reminded), each with its order from the
workflow's `status` query, and Approve / Reject buttons that send the workflow's `decide`
update, as the emailed approval link does, recorded with who decided."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from starlette.responses import Response
from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from webhook_gateway.console.inbound import NotFound
from webhook_gateway.console.page import Ctx
from webhook_gateway.contracts import search_attributes as sa
from webhook_gateway.contracts.order import ApprovalDecision, ApprovalState, OrderStatus
from webhook_gateway.dispatch.temporal_errors import temporal_errors, workflow_missing
from webhook_gateway.errors import MalformedBody, RequestRejected, TemporalUnavailable
from webhook_gateway.operator import lookup

WORKFLOW = "OrderWorkflow"
#: The steps OrderWorkflow records (and searches by) while a decision is awaited.
WAITING = ("awaiting-approval", "approval-reminder")
LIMIT = 100
DECIDED = ("approved", "rejected")


class AlreadyDecided(RequestRejected):
    status = 409
    slug = "already-decided"
    title = "Already decided"


@dataclass(frozen=True)
class Pending:
    workflow_id: str
    run_id: str
    status: OrderStatus | None  # None: no worker answered the query in time
    approval: ApprovalState | None


def waiting_query() -> str:
    steps = ", ".join(lookup.quoted(s) for s in WAITING)
    return (
        f"WorkflowType = {lookup.quoted(WORKFLOW)} AND ExecutionStatus = 'Running' "
        f"AND {sa.STATUS.name} IN ({steps})"
    )


async def _status(ctx: Ctx, workflow_id: str) -> OrderStatus | None:
    rpc = timedelta(seconds=max(ctx.settings.temporal_rpc_timeout, 5.0))
    handle = ctx.client.get_workflow_handle(workflow_id)
    try:
        status: OrderStatus = await handle.query("status", result_type=OrderStatus, rpc_timeout=rpc)
    except (RPCError, WorkflowQueryFailedError):
        return None
    return status


async def approvals(ctx: Ctx) -> Response:
    rpc = timedelta(seconds=ctx.settings.temporal_rpc_timeout)
    with temporal_errors(retry_after=ctx.settings.retry_after_seconds):
        found = [
            e
            async for e in ctx.client.list_workflows(waiting_query(), limit=LIMIT, rpc_timeout=rpc)
        ]
    statuses = await asyncio.gather(*(_status(ctx, e.id) for e in found))
    pending = [
        Pending(e.id, e.run_id, s, s.approval if s else None)
        for e, s in zip(found, statuses, strict=True)
        if s is None or (s.approval is not None and s.approval.status == "pending")
    ]
    return ctx.render(
        "approvals.html",
        pending=pending,
        limit=LIMIT,
        more=len(found) >= LIMIT,
        decided=ctx.query.get("decided") if ctx.query.get("decided") in DECIDED else None,
        order=ctx.query.get("order"),
    )


async def decide(ctx: Ctx) -> Response:
    workflow_id = ctx.form.get("workflow_id")
    nonce = ctx.form.get("nonce")
    choice = ctx.form.get("decision")
    if not workflow_id or not nonce or choice not in ("approve", "reject"):
        raise MalformedBody("Choose Approve or Reject on an order of this page.")
    note = ctx.form.get("note").strip()[:500] or None
    decision = ApprovalDecision(
        nonce=nonce, approved=choice == "approve", by=f"{ctx.who} (console)", note=note
    )
    handle = ctx.client.get_workflow_handle(workflow_id)
    rpc = timedelta(seconds=max(ctx.settings.temporal_rpc_timeout, 5.0))
    try:
        state = await handle.execute_update(
            "decide", decision, result_type=ApprovalState, rpc_timeout=rpc
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise AlreadyDecided(message) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise TemporalUnavailable(
            "The order did not answer in time; try again shortly.",
            retry_after=ctx.settings.retry_after_seconds,
        ) from None
    except RPCError as exc:
        if workflow_missing(exc):
            raise NotFound(f"Order workflow '{workflow_id}' is not waiting (any more).") from None
        raise TemporalUnavailable(
            f"Temporal did not take the decision ({exc.status.name}); try again shortly.",
            retry_after=ctx.settings.retry_after_seconds,
        ) from exc
    ctx.audit("approval", workflow_id=workflow_id, decision=state.status, note=note or "")
    order = ctx.form.get("order_id") or workflow_id
    return ctx.redirect(
        "/console/approvals?" + urlencode({"decided": state.status, "order": order})
    )
