"""What a workflow receives for one webhook, and what an update-mode workflow replies.

These types travel through Temporal with the pydantic data converter; they hold only what
was verified, and never a credential header.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class WebhookEvent(BaseModel):
    """One verified delivery. `body` holds parsed JSON (or, on a rule with `input`, that
    projection of it); `raw_body` the bytes of any other type. `event_type` is the sender's
    name for the event (`push`, `invoice.paid`), `rule` the routing rule that sent it here.
    `full_body` holds the whole parsed body when a rule with `input` also asks for it."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    route: str
    delivery_id: str
    received_at: datetime
    method: str = "POST"
    path_params: dict[str, str] = Field(default_factory=dict)
    query: dict[str, list[str]] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    content_type: str | None = None
    body: JsonValue = None
    raw_body: bytes | None = None
    event_type: str | None = None
    rule: str | None = None
    full_body: JsonValue = None


class WebhookReply(BaseModel):
    """An update-mode workflow's answer: the gateway sends it as the HTTP response."""

    model_config = ConfigDict(frozen=True)

    status: int = Field(default=200, ge=200, le=599)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None
