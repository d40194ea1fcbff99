"""A delivery's flow-control values, read when it is planned (so that an event whose key
cannot be read is refused with 422 before anything is sent): the sequencer key, the sender's
order, and the Temporal priority of the workflow it starts (config/flow.py)."""

from __future__ import annotations

import json
from typing import Any

from webhook_gateway.config.target import Target
from webhook_gateway.contracts.flow import FlowPriority, FlowValues
from webhook_gateway.errors import UnprocessableEvent

MAX_FAIRNESS_KEY = 64  # bytes, Temporal's limit


def flow_values(target: Target, context: dict[str, Any], *, owner: str) -> FlowValues | None:
    if target.flow is None and target.priority is None:
        return None
    key: str | None = None
    order: float | str | None = None
    if target.flow is not None:
        found = target.flow.key_expression.search(context)
        if isinstance(found, bool) or not isinstance(found, str | int | float) or found == "":
            raise UnprocessableEvent(
                f"{owner}: the flow-control key `{target.flow.key}` found "
                f"{_what(found)} in this event; it must be a string or a number."
            )
        key = found if isinstance(found, str) else json.dumps(found)
        if target.flow.by_expression is not None:
            given = target.flow.by_expression.search(context)
            if isinstance(given, bool) or not isinstance(given, str | int | float):
                raise UnprocessableEvent(
                    f"{owner}: the order `ordered.by: {target.flow.by}` found {_what(given)} "
                    "in this event; it must be a number or a string (an ISO time sorts)."
                )
            order = given
    return FlowValues(key=key, order=order, priority=_priority(target, context, owner))


def _priority(target: Target, context: dict[str, Any], owner: str) -> FlowPriority | None:
    config = target.priority
    if config is None:
        return None
    fairness: str | None = None
    if config.fairness is not None:
        found = config.fairness.search(context)
        if isinstance(found, bool) or not isinstance(found, str | int | float) or found == "":
            raise UnprocessableEvent(
                f"{owner}: the fairness key `{config.fairness_key}` found {_what(found)} in "
                "this event; it must be a string or a number."
            )
        fairness = found if isinstance(found, str) else json.dumps(found)
        if len(fairness.encode()) > MAX_FAIRNESS_KEY:
            raise UnprocessableEvent(
                f"{owner}: the fairness key `{config.fairness_key}` is longer than "
                f"{MAX_FAIRNESS_KEY} bytes here (Temporal's limit)."
            )
    return FlowPriority(
        priority_key=config.priority_key,
        fairness_key=fairness,
        fairness_weight=config.fairness_weight,
    )


def _what(value: Any) -> str:
    if value is None:
        return "nothing"
    return f"a {type(value).__name__}"
