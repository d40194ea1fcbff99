"""The JSON Schemas (draft 2020-12) of what the gateway and a workflow exchange through
Temporal, for workers written with another SDK (docs/WORKERS.md).

Each value travels as one Temporal payload whose metadata holds `encoding: json/plain` and
whose data is the JSON the pydantic data converter writes, in UTF-8: every SDK's default
converter reads and writes that encoding. The event's schema is pydantic's *serialization*
schema (what the gateway writes), the reply's its *validation* schema (what it accepts).
With keys configured, the codec of `codec.py` encrypts that payload as a whole; the JSON
inside is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from webhook_gateway.contracts.events import WebhookEvent, WebhookReply

ENCODING = "json/plain"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_URL = "https://hooktide.dev/schemas/"


@dataclass(frozen=True, kw_only=True)
class WireType:
    """One type as it travels: its model, the side pydantic describes, its file, and what to
    say about it."""

    model: type[BaseModel]
    mode: Literal["serialization", "validation"]
    file: str
    about: str


_PAYLOAD = (
    f"It travels as one Temporal payload: metadata `encoding` is `{ENCODING}`, data this "
    "JSON in UTF-8 (with HOOKTIDE_PAYLOAD_KEYS set, that payload is itself encrypted)."
)

WIRE_TYPES = {
    "event": WireType(
        model=WebhookEvent,
        mode="serialization",
        file="webhook-event.json",
        about="What the gateway sends a workflow: the argument of a start, of the signal "
        "and of the update (both `webhook` unless the route names them; the update's id is "
        f"the delivery id). {_PAYLOAD} "
        "Date-times are ISO 8601 strings with an offset; `raw_body` holds bytes as base64url "
        "(padded); properties outside `required` may be absent.",
    ),
    "reply": WireType(
        model=WebhookReply,
        mode="validation",
        file="webhook-reply.json",
        about="What an update-mode workflow's update returns; the gateway answers the "
        f"sender's request with it. {_PAYLOAD} A property left out takes its default; "
        "properties not listed here are ignored.",
    ),
}


def wire_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of the wire type `name` (a key of `WIRE_TYPES`)."""
    wire = WIRE_TYPES[name]
    schema = wire.model.model_json_schema(mode=wire.mode)
    doc = " ".join(schema.pop("description", "").split())
    head = {
        "$schema": DIALECT,
        "$id": BASE_URL + wire.file,
        "title": schema.pop("title"),
        "description": f"{wire.about}\n\n{doc}".strip(),
    }
    return head | schema
