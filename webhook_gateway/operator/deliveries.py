"""`GET /deliveries/{id}`: the status of one inbound delivery, for operators."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.service import RPCError

from webhook_gateway.config.routes import HooktideConfig
from webhook_gateway.config.settings import Settings
from webhook_gateway.config.target import Target
from webhook_gateway.contracts.events import WebhookReply
from webhook_gateway.dispatch.temporal_errors import temporal_errors
from webhook_gateway.errors import (
    RequestRejected,
)
from webhook_gateway.operator import lookup
from webhook_gateway.operator.auth import authorize


class DeliveryNotFound(RequestRejected):
    status = 404
    slug = "delivery-not-found"
    title = "Delivery not found"


async def delivery(request: Request) -> Response:
    authorize(request)
    return JSONResponse(await _delivery(request))


def _candidates(config: HooktideConfig, delivery_id: str, request: Request) -> dict[str, Target]:
    """Which workflow ids this delivery may have (given, or derived from the delivery id),
    with the target (route, or route's rule) of each."""
    name = request.query_params.get("route")
    routes = [r for r in config.routes if name is None or r.name == name]
    if name is not None and not routes:
        raise DeliveryNotFound(f"No route named '{name}'.")
    given = request.query_params.get("workflow_id")
    if given:
        return {given: lookup.target_for(routes[0], given)} if routes else {}
    return {wid: target for target, wid in lookup.candidates(routes, delivery_id)}


async def _delivery(request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    client: Client = request.app.state.dispatcher.client
    delivery_id = request.path_params["delivery_id"]
    rpc = timedelta(seconds=settings.temporal_rpc_timeout)
    routes = _candidates(request.app.state.config, delivery_id, request)
    with temporal_errors(retry_after=settings.retry_after_seconds):
        found = await lookup.describe_existing(client, routes, first=True, rpc_timeout=rpc)
    if not found:
        raise DeliveryNotFound(
            f"No workflow found for delivery '{delivery_id}'; "
            "name the route (?route=) or the workflow (?workflow_id=) if it is not derived "
            "from it."
        )
    desc = found[0]
    target, workflow_id = routes[desc.id], desc.id
    handle = client.get_workflow_handle(workflow_id)
    answer: dict[str, Any] = {
        "delivery_id": delivery_id,
        "route": target.route,
        "rule": target.rule,
        "workflow_id": workflow_id,
        "run_id": desc.run_id,
        "workflow_type": desc.workflow_type,
        "status": desc.status.name if desc.status else None,
        "started_at": desc.start_time.isoformat(),
        "closed_at": desc.close_time.isoformat() if desc.close_time else None,
    }
    with temporal_errors(retry_after=settings.retry_after_seconds, workflow_id=workflow_id):
        if desc.status == Status.COMPLETED:
            answer["result"] = await handle.result(rpc_timeout=rpc)
        elif desc.status == Status.FAILED:
            try:
                await handle.result(rpc_timeout=rpc)
            except WorkflowFailureError as exc:
                answer["failure"] = str(exc.cause)
    if target.mode == "update":
        answer["reply"] = await _update_reply(client, workflow_id, delivery_id)
    return answer


async def _update_reply(client: Client, workflow_id: str, delivery_id: str) -> Any:
    update = client.get_workflow_handle(workflow_id).get_update_handle(
        delivery_id, result_type=WebhookReply
    )
    try:
        reply: WebhookReply = await asyncio.wait_for(
            update.result(rpc_timeout=timedelta(seconds=1)), timeout=1.5
        )
    except (WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError, RPCError):
        return "pending"
    return reply.model_dump(mode="json")
