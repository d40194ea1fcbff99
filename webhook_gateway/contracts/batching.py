"""Batch routes' coalesced signal and the start of a batch's workflow.

`COLLECT_MANY_SIGNAL` is one signal-with-start to a key's batch collector carrying the events
of every concurrent request for that key (`CollectedEvents`); the single-event
`COLLECT_SIGNAL` of older gateways is still handled. `StartBatchInput` is what the collector
hands the `start_batch_workflow` local activity, which starts the route's workflow for one
batch: no child workflow, so the batch is written once to the collector's history (as the
signals that brought it) and once as the workflow's input.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from webhook_gateway.contracts.highfreq import CollectedEvent, EventBatch

COLLECT_MANY_SIGNAL = "events"
START_BATCH_ACTIVITY = "start_batch_workflow"


class CollectedEvents(BaseModel):
    """The events of concurrent requests for one key, in the order the gateway took them."""

    model_config = ConfigDict(frozen=True)

    events: list[CollectedEvent] = Field(min_length=1)


class StartBatchInput(BaseModel):
    """Start `workflow` with id `workflow_id` on `task_queue`, its argument `batch`."""

    model_config = ConfigDict(frozen=True)

    workflow: str
    task_queue: str
    workflow_id: str
    batch: EventBatch
