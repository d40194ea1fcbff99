"""Per-route rate limits: an in-process token bucket, optionally one per client address.

Each gateway replica keeps its own buckets, so N replicas admit up to N times the
configured rate (see docs/SECURITY.md).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from webhook_gateway.config.rate_limit import RateLimitConfig
from webhook_gateway.errors import TooManyRequests

MAX_TRACKED_CLIENTS = 10_000


class TokenBucket:
    def __init__(self, *, rate: float, capacity: int, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = float(capacity)
        self.updated = now

    def take(self, now: float) -> float:
        """0 when a token was taken; otherwise the seconds until one will be there."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimiter:
    def __init__(
        self,
        config: RateLimitConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_TRACKED_CLIENTS,
    ) -> None:
        self.config = config
        self._clock = clock
        self._max = max_clients
        self._buckets: OrderedDict[str | None, TokenBucket] = OrderedDict()

    def __repr__(self) -> str:
        return f"RateLimiter({self.config!r})"

    def check(self, client_ip: str | None) -> None:
        """Takes one token; raises `TooManyRequests` with Retry-After when none is left."""
        key = client_ip if self.config.per_ip else None
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            rate = self.config.requests / self.config.per_seconds
            bucket = TokenBucket(rate=rate, capacity=self.config.capacity, now=now)
            self._buckets[key] = bucket
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(key)
        wait = bucket.take(now)
        if wait > 0:
            scope = "from your address " if self.config.per_ip else ""
            raise TooManyRequests(
                f"This route accepts {self.config.requests} requests {scope}per "
                f"{self.config.per_seconds:g} s; retry after the Retry-After delay.",
                retry_after=max(1, math.ceil(wait)),
            )
