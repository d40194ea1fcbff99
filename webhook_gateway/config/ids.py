"""Deriving a delivery's id and its workflow's id, from verified input only."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from webhook_gateway.config.event_type import compile_jmespath, search
from webhook_gateway.config.id_rule import IdRule
from webhook_gateway.errors import UnprocessableEvent

MAX_ID_LENGTH = 400


def extract_id(
    rule: IdRule,
    *,
    what: str,
    headers: Mapping[str, str],
    path_params: Mapping[str, str],
    body: Any,
    raw_body: bytes = b"",
    signed_id: str | None = None,
    default: str | None = None,
) -> str:
    value: Any
    where = rule.describe()
    if rule.header:
        value = headers.get(rule.header)
    elif rule.jmespath:
        value = search(compile_jmespath(rule.jmespath), body)
    elif rule.path_param:
        value = path_params.get(rule.path_param)
    elif rule.body_sha256:
        value = hashlib.sha256(raw_body).hexdigest()
    elif rule.signed_id:
        value = signed_id
    else:
        value = default
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
