"""What a webhook route answers once Temporal holds the event, or once it is ignored.

By default JSON: a route without rules `{delivery_id, workflow_id, run_id, duplicate}` (202);
a route with rules `{delivery_id, event_type, targets: [{rule, workflow_id, run_id,
duplicate}]}` (202), or `{delivery_id, event_type, ignored: true}` (200). A route's or
rule's `ack` sets the status, content type and a body template where the sender expects
something else (Twilio's TwiML `<Response/>`).
"""

from __future__ import annotations

import html
import json
import string
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from webhook_gateway.config.rules import AckConfig
from webhook_gateway.dispatch.dispatcher import Ack
from webhook_gateway.json_response import ORJSONResponse


def ack_fields(ack: Ack) -> dict[str, object]:
    return {
        "delivery_id": ack.delivery_id,
        "workflow_id": ack.workflow_id,
        "run_id": ack.run_id,
        "duplicate": ack.duplicate,
    }


def target_fields(rule: str | None, ack: Ack) -> dict[str, object]:
    return {
        "rule": rule,
        "workflow_id": ack.workflow_id,
        "run_id": ack.run_id,
        "duplicate": ack.duplicate,
    }


def render(
    config: AckConfig | None, default: dict[str, Any], status: int, values: Mapping[str, object]
) -> Response:
    """The configured answer (`config`), else `default` as JSON with `status`."""
    if config is None:
        return ORJSONResponse(default, status_code=status)
    status = config.status or status
    if config.body is None:
        if "json" in config.content_type:
            return ORJSONResponse(default, status_code=status, media_type=config.content_type)
        return Response(b"", status_code=status, media_type=config.content_type)
    escape = _escaper(config.content_type)
    text = string.Template(config.body).safe_substitute(
        {key: escape("" if value is None else _text(value)) for key, value in values.items()}
    )
    return Response(text, status_code=status, media_type=config.content_type)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _escaper(content_type: str) -> Any:
    if "xml" in content_type or "html" in content_type:
        return lambda text: html.escape(text, quote=True)
    if "json" in content_type:
        return lambda text: json.dumps(text)[1:-1]
    return lambda text: text
