"""Routing rules in the route file: which events of a route go to which workflow.

rules:
  - name: deploy-main
    events: [push]                          # the sender's event type; globs allowed
    when: "body.ref == 'refs/heads/main'"   # JMESPath over the request (see RULES.md)
    workflow: DeployWorkflow
    workflow_id: {jmespath: after, prefix: "deploy-"}
    input: "{sha: body.after, repo: body.repository.full_name}"
fan_out: first                              # or all
otherwise: ignore                           # or reject, or a rule's name
"""

from __future__ import annotations

import fnmatch
import re
import string
from functools import cached_property
from typing import Annotated

from jmespath.parser import ParsedResult
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from webhook_gateway.config.event_type import compile_jmespath
from webhook_gateway.config.schemas import SchemaFile
from webhook_gateway.config.target import Dispatch

#: What an `ack.body` template may name (`$delivery_id`, `${event_type}`).
ACK_FIELDS = ("delivery_id", "event_type", "workflow_id", "run_id", "duplicate", "rule")

RuleName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")]


def _compiles(value: str) -> str:
    compile_jmespath(value)
    return value


#: A JMESPath expression, compiled when the route file is read.
Expression = Annotated[str, AfterValidator(_compiles)]


def _glob(value: str) -> str:
    if not value or len(value) > 200 or not value.isprintable():
        raise ValueError("an event type pattern is 1 to 200 printable characters")
    return value


EventPattern = Annotated[str, AfterValidator(_glob)]


def _template(value: str) -> str:
    template = string.Template(value)
    if not template.is_valid():
        raise ValueError("is not a valid template: write $name or ${name}, and $$ for a '$'")
    unknown = sorted(set(template.get_identifiers()) - set(ACK_FIELDS))
    if unknown:
        raise ValueError(f"names {unknown}; a template may use {', '.join(ACK_FIELDS)}")
    return value


class AckConfig(BaseModel):
    """What the route answers once Temporal holds the event (or it is ignored), where a
    sender expects something other than JSON 202: `{status: 200, content_type: text/xml,
    body: "<Response/>"}`. `body` is a template over the ack fields, each value escaped for
    the content type (XML/HTML escaped, JSON string-escaped)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: int | None = Field(default=None, ge=200, le=299)
    content_type: str = "application/json"
    body: Annotated[str, AfterValidator(_template)] | None = None


class Rule(Dispatch):
    """One rule: events it takes, an optional condition, and the workflow they go to."""

    name: RuleName
    events: list[EventPattern] = Field(default_factory=list)  # empty: any event type
    when: Expression | None = None
    workflow: str
    input: Expression | None = None
    keep_body: bool = False  # with `input`: the whole body too, as `full_body`
    schema_file: SchemaFile | None = Field(default=None, alias="schema")
    ack: AckConfig | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @cached_property
    def events_pattern(self) -> re.Pattern[str] | None:
        """One regex for all of `events` (None: any event type)."""
        if not self.events:
            return None
        return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in self.events))

    @cached_property
    def condition(self) -> ParsedResult | None:
        return compile_jmespath(self.when) if self.when else None

    @cached_property
    def projection(self) -> ParsedResult | None:
        return compile_jmespath(self.input) if self.input else None
