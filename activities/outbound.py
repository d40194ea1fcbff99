"""Outbound webhook activities: publishing an event (one delivery workflow per matching
subscription, started already searchable as pending), one signed delivery attempt, and
marking an endpoint disabled.

An endpoint's disabled state lives in its own long-lived workflow (`EndpointWorkflow`, id
`hooktide-endpoint-<subscription>`): durable, visible with `temporal workflow query`, and
re-enabled with one signal. No workflow there means "enabled".
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.http.call_log import MAX_ERROR
from activities.http.errors import HttpFailure
from activities.http.models import HttpRequest, RawBody, Timeouts
from activities.http.request import send
from activities.http.ssrf import OutboundPolicy
from webhook_gateway.contracts import search_attributes as sa
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.outbound import (
    AttemptOutcome,
    CallRecord,
    DisableInput,
    EndpointState,
    Subscription,
    delivery_workflow_id,
    endpoint_workflow_id,
)
from webhook_gateway.contracts.secrets import SecretSource
from webhook_gateway.contracts.signing import secret_key, sign

USER_AGENT = "Hooktide-Webhooks/1"
RESPONSE_LIMIT = 64 * 1024
#: The worker's counter of delivery attempts (served by the SDK runtime's Prometheus exporter).
ATTEMPTS_METRIC = "hooktide_outbound_attempts"


class PublishInput(BaseModel):
    event_type: str
    msg_id: str
    payload: dict[str, JsonValue]


class DeliveryTarget(BaseModel):
    """A subscription as a delivery needs it; the secret is only named."""

    model_config = ConfigDict(frozen=True)

    subscription: str
    url: str
    secret: SecretSource
    timeout_seconds: float = 15.0


class PublishResult(BaseModel):
    workflow_ids: list[str]


class DeliveryInput(BaseModel):
    target: DeliveryTarget
    msg_id: str
    payload: dict[str, JsonValue]


class AttemptInput(BaseModel):
    target: DeliveryTarget
    msg_id: str
    payload: dict[str, JsonValue]
    attempt: int


async def endpoint_disabled(subscription: str) -> bool:
    handle = activity.client().get_workflow_handle(endpoint_workflow_id(subscription))
    try:
        state: EndpointState = await handle.query("state", result_type=EndpointState)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return state.disabled


def delivery_search_attributes(data: DeliveryInput, status: str) -> TypedSearchAttributes:
    """What finds a delivery: HooktideEndpoint, HooktideDeliveryId (the webhook-id),
    HooktideStatus and, when the payload has a string `type`, HooktideEventType."""
    pairs: list[SearchAttributePair[str]] = [
        SearchAttributePair(sa.ENDPOINT, data.target.subscription),
        SearchAttributePair(sa.DELIVERY_ID, data.msg_id),
        SearchAttributePair(sa.STATUS, status),
    ]
    event_type = data.payload.get("type")
    if isinstance(event_type, str):
        pairs.append(SearchAttributePair(sa.EVENT_TYPE, event_type))
    return TypedSearchAttributes(pairs)


async def start_delivery(
    client: Client, data: DeliveryInput, *, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """Start the delivery of one message to one subscription; returns its handle.

    The run starts with its search attributes (HooktideStatus `pending`), so it is findable
    while its first attempt runs, and the workflow then makes that attempt inside its first
    workflow task. Started from a worker's own client (as `publish_event` is) the start is
    eager: Temporal hands that first task straight back to this worker, in the start's own
    write, instead of through the task queue (elsewhere it is a plain start). Idempotent: an
    id that exists, running or closed, is not started again."""
    wid = delivery_workflow_id(data.msg_id, data.target.subscription)
    try:
        return await client.start_workflow(
            "WebhookDeliveryWorkflow",
            data,
            id=wid,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=delivery_search_attributes(data, "pending"),
            request_eager_start=True,
        )
    except WorkflowAlreadyStartedError:
        return client.get_workflow_handle(wid)


def _count_attempt(subscription: str, outcome: str) -> None:
    """One attempt in the worker's metrics, by subscription name and AttemptOutcome.result
    (bounded label sets: never a URL or a message id)."""
    attempts = activity.metric_meter().create_counter(
        ATTEMPTS_METRIC, "Outbound delivery attempts, by endpoint (subscription) and outcome."
    )
    attempts.add(1, {"endpoint": subscription, "outcome": outcome})


@activity.defn
async def disable_endpoint(data: DisableInput) -> None:
    """Record durably that an endpoint is disabled (signal-with-start of its state workflow)."""
    await activity.client().start_workflow(
        "EndpointWorkflow",
        EndpointState(subscription=data.subscription),
        id=endpoint_workflow_id(data.subscription),
        task_queue=activity.info().task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal="disable",
        start_signal_args=[data],
    )


class OutboundActivities:
    """Publishing events and delivering them, built once by the worker with the route file's
    subscriptions and the SSRF policy."""

    def __init__(self, subscriptions: Sequence[Subscription], policy: OutboundPolicy) -> None:
        self._subscriptions = list(subscriptions)
        self._policy = policy

    @activity.defn
    async def publish_event(self, data: PublishInput) -> PublishResult:
        """Start one `WebhookDeliveryWorkflow` per enabled, not disabled subscription that
        wants the event (the subscriptions of the route file the worker started with).
        Idempotent: a delivery id that exists (running or closed) is not started again, so
        a retry or a repeated emission is harmless."""
        client = activity.client()
        queue = activity.info().task_queue
        ids: list[str] = []
        for sub in self._subscriptions:
            if not (sub.enabled and sub.matches(data.event_type)):
                continue
            if await endpoint_disabled(sub.name):
                continue
            target = DeliveryTarget(
                subscription=sub.name,
                url=sub.url,
                secret=sub.secret,
                timeout_seconds=sub.timeout_seconds,
            )
            delivery = DeliveryInput(target=target, msg_id=data.msg_id, payload=data.payload)
            ids.append((await start_delivery(client, delivery, task_queue=queue)).id)
        return PublishResult(workflow_ids=ids)

    @activity.defn
    async def deliver_webhook(self, data: AttemptInput) -> AttemptOutcome:
        """One attempt: sign with every current secret, POST, classify the answer. Never raises
        for an HTTP outcome: the delivery workflow owns the retry schedule. Counted in
        `hooktide_outbound_attempts{endpoint,outcome}` whether it runs as the workflow's local
        first attempt or as a later activity."""
        try:
            outcome = await self._deliver(data)
        except BaseException:  # a timeout, a cancellation, a Temporal error: no outcome
            _count_attempt(data.target.subscription, "error")
            raise
        _count_attempt(data.target.subscription, outcome.result)
        return outcome

    async def _deliver(self, data: AttemptInput) -> AttemptOutcome:
        target = data.target
        if await endpoint_disabled(target.subscription):
            return AttemptOutcome(result="endpoint-disabled")
        label = f"subscription '{target.subscription}'"
        try:
            keys = [secret_key(s, route=label) for s in target.secret.secrets(label)]
        except ConfigError as exc:
            return AttemptOutcome(result="failed", error=str(exc))
        body = json.dumps(data.payload, separators=(",", ":"), ensure_ascii=False).encode()
        stamp = int(time.time())
        request = HttpRequest(
            method="POST",
            url=target.url,
            headers={
                "user-agent": USER_AGENT,
                "webhook-id": data.msg_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": " ".join(sign(k, data.msg_id, stamp, body) for k in keys),
            },
            body=RawBody(content=body, content_type="application/json"),
            timeouts=Timeouts(
                connect=min(5.0, target.timeout_seconds),
                read=target.timeout_seconds,
                total=target.timeout_seconds,
            ),
            expected_status=["2xx"],
            response="none",
            response_headers=["webhook-delivery"],
            max_response_bytes=RESPONSE_LIMIT,
        )
        calls: list[CallRecord] = []
        context = {"subscription": target.subscription, "msg_id": data.msg_id}
        try:
            response = await send(
                request,
                policy=self._policy,
                attempt=data.attempt,
                on_call=calls.append,
                log_context=context,
            )
        except HttpFailure as failure:  # its URLs are redacted by `send`
            directive = failure.headers.get("webhook-delivery", "").strip().lower()
            delay = failure.retry_after
            return AttemptOutcome(
                result="aborted" if directive == "abort-message" else "failed",
                status=failure.status,
                disable=failure.status == 410 or directive == "disable",
                retry_after_seconds=delay.total_seconds() if delay is not None else None,
                error=f"{failure.kind}: {failure}"[:MAX_ERROR],
                call=calls[0] if calls else None,
            )
        directive = response.headers.get("webhook-delivery", "").strip().lower()
        return AttemptOutcome(
            result="delivered",
            status=response.status,
            disable=directive == "disable",
            call=calls[0] if calls else None,
        )
