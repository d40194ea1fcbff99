"""`emit_event`: a workflow announces something to the outside world.

    await emit_event("order.completed", {"order_id": order.id}, key=order.id)

One activity (`publish_event`) reads the route file and starts one independent
`WebhookDeliveryWorkflow` per subscription that wants the event, so deliveries outlive the
emitting workflow and its history grows by one activity, whatever the number of endpoints.
`webhook-id` is `msg_` + uuid5(workflow id, type, key): give `key` to make a repeated
emission (a retry, a new run after continue-as-new) a no-op; without it each call is new.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from pydantic import JsonValue
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.outbound import OutboundActivities, PublishInput

MESSAGE_NAMESPACE = uuid.UUID("0b7e2f4a-6d43-5a8e-b1f2-3c9d8e7a6b50")
PUBLISH_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))


async def emit_event(event_type: str, data: JsonValue, *, key: str | None = None) -> list[str]:
    """Publish one event; returns the ids of its delivery workflows (one per subscription)."""
    step = key if key is not None else str(workflow.uuid4())
    name = f"{workflow.info().workflow_id}/{event_type}/{step}"
    msg_id = "msg_" + uuid.uuid5(MESSAGE_NAMESPACE, name).hex
    payload: dict[str, JsonValue] = {
        "type": event_type,
        "timestamp": workflow.now().isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    published = await workflow.execute_activity_method(
        OutboundActivities.publish_event,
        PublishInput(event_type=event_type, msg_id=msg_id, payload=payload),
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=PUBLISH_RETRY,
    )
    return published.workflow_ids
