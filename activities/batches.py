"""`summarize_batch`: the example batch route's one step (counts and lists what arrived)."""

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
        bodies=[e.body for e in batch.events],
    )
