"""`Delivery`: a verified request as routing sees it, before any target is chosen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from pydantic import JsonValue


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """`headers` are lower-case and hold no credential (the verifier's secret headers and
    `Authorization` are left out), so no condition, input or id can copy one into a
    workflow. `raw` is the body as received; `body` its parsed JSON or form (None for other
    media types, whose bytes are `raw_body`)."""

    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, list[str]] = field(default_factory=dict)
    path_params: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None
    body: JsonValue = None
    raw_body: bytes | None = None
    raw: bytes = b""
    signed_id: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @cached_property
    def id_sources(self) -> dict[str, Any]:
        """What `extract_id` reads a delivery or workflow id from."""
        return {
            "headers": self.headers,
            "path_params": self.path_params,
            "body": self.body,
            "raw_body": self.raw,
            "signed_id": self.signed_id,
        }

    def context(self, event_type: str | None) -> dict[str, Any]:
        """What rule conditions and input projections read (JMESPath): `headers`, `query`
        (each parameter's first value), `path_params`, `body`, `event_type`."""
        return {
            "headers": self.headers,
            "query": {k: v[0] for k, v in self.query.items() if v},
            "path_params": self.path_params,
            "body": self.body,
            "event_type": event_type,
        }
