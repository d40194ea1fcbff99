"""Outbound webhooks: the `subscriptions` section of the route file, and what a delivery
workflow reports of each attempt (read by the operator API).

    subscriptions:
      billing:
        url: https://billing.example.com/hooks
        events: [order.completed, "approval.*"]
        secret: {env: HOOKTIDE_BILLING_WHSEC}   # whsec_...; several during a rotation
        enabled: true

Secrets are named, never written here; they are read by the activity that signs each attempt.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from webhook_gateway.contracts.secrets import SecretSource

EVENT_PATTERN = re.compile(r"^(\*|[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?)$")


def _web_url(value: str) -> str:
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


#: An http:// or https:// URL (checked further, at call time, by the SSRF guard).
WebUrl = Annotated[str, AfterValidator(_web_url)]


class Subscription(BaseModel):
    """One receiver of outbound webhooks: which events, where, signed with which secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    url: WebUrl
    events: list[str] = Field(min_length=1)
    secret: SecretSource
    enabled: bool = True
    timeout_seconds: float = Field(default=15.0, gt=0, le=30)

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        bad = [e for e in value if not EVENT_PATTERN.match(e)]
        if bad:
            raise ValueError(f"event types look like 'order.completed', 'order.*' or '*': {bad}")
        return value

    def matches(self, event_type: str) -> bool:
        for pattern in self.events:
            if pattern == "*" or pattern == event_type:
                return True
            if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
                return True
        return False


def _named(data: Any) -> Any:
    if isinstance(data, dict):
        return [
            {"name": name, **body} if isinstance(body, dict) else body
            for name, body in data.items()
        ]
    return data


def _unique(subscriptions: list[Subscription]) -> list[Subscription]:
    names = [s.name for s in subscriptions]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"subscription names must be unique: {twice}")
    return subscriptions


Subscriptions = Annotated[list[Subscription], BeforeValidator(_named), AfterValidator(_unique)]
"""A list, or a mapping from name to subscription (like `routes`)."""


def delivery_workflow_id(msg_id: str, subscription: str) -> str:
    return f"webhook-{msg_id}-{subscription}"


class CallRecord(BaseModel):
    """One outbound HTTP call as the call log keeps it (already redacted)."""

    model_config = ConfigDict(frozen=True)

    method: str
    url: str
    #: The answer's status when the call succeeded or failed on it; None when there was no
    #: answer, or one that was refused (too large, too slow, unreadable).
    status: int | None = None
    latency_ms: float
    request_bytes: int = 0
    response_bytes: int = 0
    attempt: int = 1
    outcome: str  # "ok", or the failure kind (HttpTimeout, HttpRetryableStatus, ...)
    error: str | None = None
    headers: dict[str, str] = {}


class AttemptOutcome(BaseModel):
    result: Literal["delivered", "failed", "aborted", "endpoint-disabled"]
    status: int | None = None
    disable: bool = False
    retry_after_seconds: float | None = None
    error: str | None = None
    #: The HTTP call this attempt made (redacted); None when it made none.
    call: CallRecord | None = None


def endpoint_workflow_id(subscription: str) -> str:
    """The id of an endpoint's state workflow (`EndpointWorkflow`)."""
    return f"hooktide-endpoint-{subscription}"


class EndpointState(BaseModel):
    """An outbound endpoint's durable state: EndpointWorkflow's input and `state` query."""

    subscription: str
    disabled: bool = False
    reason: str | None = None
    changed_at: datetime | None = None


class DisableInput(BaseModel):
    """EndpointWorkflow's `disable` signal."""

    subscription: str
    reason: str
