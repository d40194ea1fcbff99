"""Payload contracts (JSON Schema) and input shaping (a JMESPath projection)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from pydantic import JsonValue

from webhook_gateway.config.event_type import search
from webhook_gateway.config.rules import Rule
from webhook_gateway.config.schemas import load_schema
from webhook_gateway.errors import SchemaMismatch, UnprocessableEvent

MAX_SCHEMA_ERRORS = 20


def pointer(path: Any) -> str:
    """RFC 6901 JSON Pointer of a jsonschema error's `absolute_path` ("" is the root)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def schema_errors(validator: Draft202012Validator, body: Any) -> list[dict[str, str]]:
    """At most `MAX_SCHEMA_ERRORS` failures, each `{pointer, message}`; [] when it matches."""
    errors: list[dict[str, str]] = []
    try:
        for error in validator.iter_errors(body):
            errors.append({"pointer": pointer(error.absolute_path), "message": error.message})
            if len(errors) >= MAX_SCHEMA_ERRORS:
                break
    except RecursionError:
        errors.append({"pointer": "", "message": "The body is nested too deeply to check."})
    return errors


def check_schema(schema_file: str, body: Any, *, owner: str) -> None:
    """Raise `SchemaMismatch` (422, with the pointer list) unless the body matches."""
    errors = schema_errors(load_schema(schema_file), body)
    if errors:
        raise SchemaMismatch(
            f"The body does not match the schema of {owner} ({len(errors)} error(s)"
            f"{', the first ' + str(MAX_SCHEMA_ERRORS) if len(errors) >= MAX_SCHEMA_ERRORS else ''}"
            "); see errors.",
            errors=errors,
        )


def required_keys(rule: Rule) -> list[str]:
    """Keys of an `input` of the form `{a: x, b: y || z}` that must not be null: all but
    those whose expression gives a default with `||`."""
    parsed = rule.projection.parsed if rule.projection is not None else None
    if not isinstance(parsed, dict) or parsed.get("type") != "multi_select_dict":
        return []
    return [
        pair["value"]
        for pair in parsed["children"]
        if pair["children"] and pair["children"][0].get("type") != "or_expression"
    ]


def project(rule: Rule, context: dict[str, Any], required: list[str]) -> JsonValue:
    """The rule's input: what the workflow receives as the event body."""
    assert rule.projection is not None
    value = search(rule.projection, context)
    if value is None:
        raise UnprocessableEvent(
            f"Rule '{rule.name}': its input `{rule.input}` gives null for this event; check "
            "that the fields it reads are present."
        )
    if isinstance(value, dict):
        missing = [key for key in required if value.get(key) is None]
        if missing:
            raise UnprocessableEvent(
                f"Rule '{rule.name}': its input `{rule.input}` gives null for {missing}; the "
                "event lacks the fields they read (write `x || default` for an optional one)."
            )
    return value  # type: ignore[no-any-return]
