"""`StartPacer`: the pace of an inbox's workflow starts, found by probing what Temporal takes.

Additive increase, multiplicative decrease, as TCP finds a link's capacity:

- while starts answer within `target_latency_ms` and the pace is what holds them back, the
  pace rises by `increase` starts per second every second;
- when a start is slow (its latency and the smoothed latency both past the target) or
  refused (RESOURCE_EXHAUSTED, UNAVAILABLE, DEADLINE_EXCEEDED), the pace is multiplied by
  `decrease`, at most once per round trip: a start sent before a cut says nothing about the
  pace after it;
- the workers' side counts too: while the started workflows' task queue holds a workflow
  task older than `max_queue_seconds` the pace does not rise, and while that age still grows
  (the starts outrun the workers) it is cut, at most once per `max_queue_seconds` (Temporal's
  figure lags by seconds); events wait better in the inbox than as workflows no worker has
  picked up, but a queue that shrinks is left to drain at the pace it has, so the workers
  are not starved on the way down;
- it stays within [`min_rate`, `max_rate`]; how many starts may be in flight follows the
  pace (twice what it needs at the target latency), never more than `concurrency`.

Without pacing settings (inboxes older than adaptive pacing) the pace is fixed, or absent.
Time comes from `clock`, so tests drive the pacer without sleeping.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from webhook_gateway.contracts.highfreq import StartEventsPacing

#: Weight of the newest latency in the smoothed one.
SMOOTHING = 0.2
#: No pace goes below this, whatever the settings say (a start every 100 s).
SLOWEST = 0.01


@dataclass(frozen=True)
class Slot:
    """When one start may be sent, and whether the pace (not the window) held it back."""

    at: float
    paced: bool


class StartPacer:
    def __init__(
        self,
        pacing: StartEventsPacing | None,
        *,
        rate: float | None,
        concurrency: int,
        clock: Callable[[], float],
    ) -> None:
        self._pacing = pacing
        self._concurrency = max(1, concurrency)
        self._clock = clock
        self._latency: float | None = None
        self._next = clock()
        self._cut_at = -math.inf
        self._queue_cut_at = -math.inf
        self._queue_behind = False
        self._queue_age: float | None = None
        if pacing is None:
            self._rate, self._floor, self._ceiling = rate, rate or 0.0, rate or math.inf
            return
        self._ceiling = pacing.max_rate if pacing.max_rate is not None else math.inf
        self._floor = max(SLOWEST, min(pacing.min_rate, self._ceiling))
        self._rate = self._clamp(rate if rate is not None else pacing.initial_rate)

    def __repr__(self) -> str:
        return f"<StartPacer rate={self._rate} window={self.window} latency={self._latency}>"

    @property
    def adaptive(self) -> bool:
        return self._pacing is not None

    @property
    def rate(self) -> float | None:
        """Starts per second now (None: unpaced)."""
        return self._rate

    @property
    def latency(self) -> float | None:
        """The smoothed latency of the starts so far, in seconds."""
        return self._latency

    @property
    def window(self) -> int:
        """How many starts may be in flight (or waiting for their slot) now."""
        if self._pacing is None or self._rate is None:
            return self._concurrency
        needed = math.ceil(2 * self._rate * self._pacing.target_latency_ms / 1000)
        return max(1, min(self._concurrency, needed))

    def reserve(self) -> Slot:
        """The next free slot; each one is 1/rate after the one before."""
        now = self._clock()
        if self._rate is None:
            return Slot(at=now, paced=False)
        at = max(self._next, now)
        self._next = at + 1 / self._rate
        return Slot(at=at, paced=at > now)

    def record(self, slot: Slot, latency: float, *, refused: bool = False) -> None:
        """A start sent in `slot` was answered after `latency` seconds (or refused)."""
        smoothed = latency if self._latency is None else self._latency
        self._latency = smoothed + SMOOTHING * (latency - smoothed)
        if self._pacing is None or self._rate is None:
            return
        target = self._pacing.target_latency_ms / 1000
        slow = latency > target and self._latency > target
        if refused or slow:
            if slot.at >= self._cut_at:
                self._rate = self._clamp(self._rate * self._pacing.decrease)
                self._cut_at = self._clock()
            return
        if slot.paced and latency <= target and not self._queue_behind:
            self._rate = self._clamp(self._rate + self._pacing.increase / self._rate)

    def record_queue(self, age: float) -> None:
        """The oldest workflow task waiting on the started workflows' task queue is `age` s old."""
        limit = None if self._pacing is None else self._pacing.max_queue_seconds
        if limit is None or self._pacing is None or self._rate is None:
            return
        growing = age > (self._queue_age or 0.0)
        if age != self._queue_age:  # Temporal repeats a figure until it computes a new one
            self._queue_age = age
        self._queue_behind = age > limit
        now = self._clock()
        if self._queue_behind and growing and now >= self._queue_cut_at + limit:
            self._rate = self._clamp(self._rate * self._pacing.decrease)
            self._queue_cut_at = self._cut_at = now

    def _clamp(self, rate: float) -> float:
        return min(self._ceiling, max(self._floor, rate))
