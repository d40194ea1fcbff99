"""This replica's request outcomes, kept in memory for the console's overview: totals per
route since the process started, and per minute for the last hour. (Prometheus holds the
same counts for every replica; this is what one gateway can say about itself.)"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

#: Outcomes that are answers a sender wanted (everything else is a rejection).
ACCEPTED = frozenset(
    {"accepted", "duplicate", "ignored", "answered-by-verifier", "answered-handshake"}
)


@dataclass(frozen=True)
class Minute:
    start: float  # unix time of the minute's first second
    accepted: int
    rejected: int


class RecentCounts:
    def __init__(self, *, minutes: int = 60, clock: Callable[[], float] = time.time) -> None:
        self.started = clock()
        self._clock = clock
        self._minutes = minutes
        self._outcomes: dict[str, Counter[str]] = {}
        self._reasons: dict[str, Counter[str]] = {}
        #: (minute index, route) -> [accepted, rejected]; oldest first.
        self._series: deque[tuple[int, dict[str, list[int]]]] = deque()

    def add(self, route: str, outcome: str) -> None:
        self._outcomes.setdefault(route, Counter())[outcome] += 1
        minute = int(self._clock() // 60)
        if not self._series or self._series[-1][0] != minute:
            self._series.append((minute, {}))
            while self._series and self._series[0][0] <= minute - self._minutes:
                self._series.popleft()
        cell = self._series[-1][1].setdefault(route, [0, 0])
        cell[0 if outcome in ACCEPTED else 1] += 1

    def add_reason(self, route: str, reason: str) -> None:
        self._reasons.setdefault(route, Counter())[reason] += 1

    def outcomes(self, route: str) -> Counter[str]:
        return Counter(self._outcomes.get(route, {}))

    def reasons(self, route: str) -> Counter[str]:
        return Counter(self._reasons.get(route, {}))

    def per_minute(self, route: str | None = None) -> list[Minute]:
        """The last `minutes` minutes, oldest first, empty minutes included."""
        now = int(self._clock() // 60)
        by_minute = dict(self._series)
        minutes: list[Minute] = []
        for index in range(now - self._minutes + 1, now + 1):
            cells = by_minute.get(index, {})
            chosen = (
                [cells[route]]
                if route is not None and route in cells
                else ([] if route is not None else list(cells.values()))
            )
            minutes.append(
                Minute(index * 60.0, sum(c[0] for c in chosen), sum(c[1] for c in chosen))
            )
        return minutes
