"""Flow control's path to Temporal: an event for a target with `ordered`, `concurrency` or
`throttle` is signalled (with start) to its key's sequencer, which starts the event's own
workflow when its turn comes (workflows/flow/sequencer.py). The ack means the sequencer's
history holds the event."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from webhook_gateway.config.target import Target
from webhook_gateway.contracts import search_attributes as sa
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.flow import (
    EVENTS_SIGNAL,
    SEQUENCER_WORKFLOW,
    FlowEvent,
    FlowEvents,
    FlowSettingsWire,
    FlowValues,
    SequencerInput,
    sequencer_workflow_id,
)
from webhook_gateway.dispatch.collect_commit import CollectCommitter, Lane
from webhook_gateway.dispatch.indexing import DeliveryIndex


def wire_settings(target: Target) -> FlowSettingsWire:
    flow = target.flow
    assert flow is not None
    return FlowSettingsWire(
        limit=flow.limit,
        ordered_by=flow.by is not None,
        late=flow.late,
        settle_seconds=flow.settle_seconds,
        per_second=flow.per_second,
        burst=flow.burst,
        on_failure=flow.on_failure,
    )


async def signal_sequencer(
    committer: CollectCommitter,
    index: DeliveryIndex,
    target: Target,
    event: WebhookEvent,
    workflow_id: str,
    flow: FlowValues,
) -> str:
    """Signal(-with-start) the key's sequencer, with whatever else is queued for it;
    returns its workflow id once Temporal holds the event."""
    assert flow.key is not None
    settings = wire_settings(target)
    sequencer = sequencer_workflow_id(target.name, flow.key)
    names = await index.registered()
    pairs = [SearchAttributePair(sa.ROUTE, target.route)] if sa.ROUTE.name in names else []
    if sa.STATUS.name in names:
        pairs.append(SearchAttributePair(sa.STATUS, "open"))
    item = FlowEvent(
        delivery_id=event.delivery_id,
        workflow=target.workflow,
        workflow_id=workflow_id,
        task_queue=target.task_queue,
        event=event,
        order=flow.order,
        priority=flow.priority,
        settings=settings,
    )
    lane = Lane(
        SEQUENCER_WORKFLOW,
        target.task_queue,
        SequencerInput(target=target.name, key=flow.key, route=target.route, settings=settings),
        0.0,
        signal=EVENTS_SIGNAL,
        wrap=_events,
        search_attributes=TypedSearchAttributes(pairs) if pairs else None,
    )
    await committer.submit_item(sequencer, item, len(item.model_dump_json()), lane=lane)
    return sequencer


def _events(items: list[BaseModel]) -> BaseModel:
    return FlowEvents(events=[i for i in items if isinstance(i, FlowEvent)])
