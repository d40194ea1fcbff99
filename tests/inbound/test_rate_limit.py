"""The in-process token bucket, on a hand-driven clock."""

from __future__ import annotations

import pytest

from webhook_gateway.config.rate_limit import RateLimitConfig
from webhook_gateway.errors import TooManyRequests
from webhook_gateway.inbound.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_429_with_retry_after_until_a_token_refills() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimitConfig(requests=2, per_seconds=10), clock=clock)
    limiter.check("a")
    limiter.check("a")
    with pytest.raises(TooManyRequests) as info:
        limiter.check("a")
    assert info.value.status == 429
    assert info.value.headers["Retry-After"] == "5"
    clock.now = 5.0
    limiter.check("a")


def test_route_wide_limit_is_shared_by_every_client() -> None:
    limiter = RateLimiter(RateLimitConfig(requests=1, per_seconds=60), clock=Clock())
    limiter.check("a")
    with pytest.raises(TooManyRequests):
        limiter.check("b")


def test_per_ip_limit_gives_each_client_its_own_bucket() -> None:
    limiter = RateLimiter(RateLimitConfig(requests=1, per_seconds=60, per_ip=True), clock=Clock())
    limiter.check("a")
    limiter.check("b")
    with pytest.raises(TooManyRequests):
        limiter.check("a")


def test_burst_may_exceed_the_steady_rate() -> None:
    limiter = RateLimiter(RateLimitConfig(requests=1, per_seconds=1, burst=3), clock=Clock())
    for _ in range(3):
        limiter.check(None)
    with pytest.raises(TooManyRequests):
        limiter.check(None)


def test_tracked_clients_are_bounded() -> None:
    limiter = RateLimiter(
        RateLimitConfig(requests=1, per_seconds=60, per_ip=True), clock=Clock(), max_clients=2
    )
    for client in ["a", "b", "c"]:
        limiter.check(client)
    assert len(limiter._buckets) == 2
