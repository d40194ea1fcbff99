"""`summarize_batch`: the example batch route's one step (counts and lists what arrived).

It answers with the delivery ids, not the bodies: a result is written to the history twice
(the activity's and the workflow's), and the bodies are in the batch already."""

from __future__ import annotations

from temporalio import activity

from webhook_gateway.contracts.highfreq import BatchSummary, EventBatch


@activity.defn
async def summarize_batch(batch: EventBatch) -> BatchSummary:
    return BatchSummary(
        route=batch.route,
        key=batch.key,
        sequence=batch.sequence,
        count=len(batch.events),
        delivery_ids=[e.delivery_id for e in batch.events],
    )
