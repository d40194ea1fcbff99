"""A route's `rate_limit` setting (enforced by `inbound/rate_limit.py`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RateLimitConfig(BaseModel):
    """`rate_limit: {requests: 100, per_seconds: 60, burst: 20, per_ip: true}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: int = Field(ge=1)
    per_seconds: float = Field(default=1.0, gt=0, le=86_400)
    burst: int | None = Field(default=None, ge=1)
    per_ip: bool = False

    @property
    def capacity(self) -> int:
        return self.burst or self.requests
