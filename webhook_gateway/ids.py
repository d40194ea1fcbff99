"""Deriving a delivery's id and its workflow's id, from verified input only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jmespath

from webhook_gateway.config import IdRule
from webhook_gateway.errors import UnprocessableEvent

MAX_ID_LENGTH = 400


def extract_id(
    rule: IdRule,
    *,
    what: str,
    headers: Mapping[str, str],
    path_params: Mapping[str, str],
    body: Any,
    default: str | None = None,
) -> str:
    value: Any
    if rule.header:
        value, where = headers.get(rule.header), f"header {rule.header}"
    elif rule.jmespath:
        value = jmespath.search(rule.jmespath, body) if isinstance(body, dict | list) else None
        where = f"body field {rule.jmespath}"
    elif rule.path_param:
        value, where = path_params.get(rule.path_param), f"path parameter {rule.path_param}"
    else:
        value, where = default, "delivery id"
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UnprocessableEvent(f"The {what} is taken from the {where}, which is missing.")
    text = str(value).strip()
    if not text:
        raise UnprocessableEvent(f"The {what} is taken from the {where}, which is empty.")
    if len(text) > MAX_ID_LENGTH or not text.isprintable():
        raise UnprocessableEvent(
            f"The {where} must be printable and at most {MAX_ID_LENGTH} characters."
        )
    return rule.prefix + text
