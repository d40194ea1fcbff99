"""`EventTypeRule`: where a delivery names its event type (`push`, `invoice.paid`, ...).

Each verifier type knows its sender's convention (`default_event_type()`); a route may
override it with `event_type: {header: ...}` or `{jmespath: ...}`. The type is derived once
per request, from verified input only.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import jmespath
import jmespath.exceptions
from jmespath.parser import ParsedResult
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from webhook_gateway.config.id_rule import IdPart

MAX_EVENT_TYPE_LENGTH = 200


def compile_jmespath(expression: str) -> ParsedResult:
    """Compile once; a ValueError names the problem (pydantic turns it into a field error)."""
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        raise ValueError(f"not a valid JMESPath expression: {exc}") from exc


def search(expression: ParsedResult, data: Any) -> Any:
    """Evaluate on odd input without raising: a type error in a function is "no value"."""
    try:
        return expression.search(data)
    except (jmespath.exceptions.JMESPathError, RecursionError, TypeError, ValueError):
        return None


class EventTypeRule(BaseModel):
    """`{header: X-GitHub-Event, qualifier: action}` reads `pull_request.opened`: the header
    (or a JMESPath over the body), then `.` and the qualifier's value when it is a string."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    header: str | None = None
    jmespath: str | None = None
    qualifier: str | None = None  # a JMESPath over the body

    @field_validator("header")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value

    @field_validator("jmespath", "qualifier")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            compile_jmespath(value)
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> EventTypeRule:
        if (self.header is None) == (self.jmespath is None):
            raise ValueError("name exactly one of 'header' or 'jmespath'")
        return self

    @property
    def part(self) -> IdPart:
        return "header" if self.header else "body"

    def describe(self) -> str:
        where = f"header {self.header}" if self.header else f"body field {self.jmespath}"
        return where + (f" and body field {self.qualifier}" if self.qualifier else "")

    @cached_property
    def _compiled(self) -> tuple[ParsedResult | None, ParsedResult | None]:
        main = compile_jmespath(self.jmespath) if self.jmespath else None
        qualifier = compile_jmespath(self.qualifier) if self.qualifier else None
        return main, qualifier

    def read(self, *, headers: Mapping[str, str], body: Any) -> str | None:
        """The event type, or None when the request does not name one."""
        main, qualifier = self._compiled
        value = headers.get(self.header) if self.header else search(main, body)
        if not isinstance(value, str) or not value:
            return None
        if qualifier is not None:
            extra = search(qualifier, body)
            if isinstance(extra, str) and extra:
                value = f"{value}.{extra}"
        value = value.strip()
        if not value or len(value) > MAX_EVENT_TYPE_LENGTH or not value.isprintable():
            return None
        return value
