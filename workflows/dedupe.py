"""Remembering which deliveries a long-lived workflow has already handled.

Temporal dedupes starts (workflow id) and updates (update id), but not signals: a workflow
fed by signal routes checks each event's delivery id here before acting on it.
"""

from __future__ import annotations

from collections import OrderedDict


class DeliveryLog:
    """A bounded, insertion-ordered set of delivery ids (deterministic, so replay-safe)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def first_time(self, delivery_id: str) -> bool:
        """True once per delivery id; False for every repeat still remembered."""
        if delivery_id in self._ids:
            return False
        self._ids[delivery_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._ids)
