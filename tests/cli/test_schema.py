"""`hooktide schema`: the JSON Schemas of WebhookEvent and WebhookReply describe the payloads
the pydantic data converter writes and reads, so a worker in another SDK can rely on them."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.support.repo import REPO
from webhook_gateway.cli.main import main
from webhook_gateway.cli.schema import render
from webhook_gateway.contracts.events import WebhookEvent, WebhookReply
from webhook_gateway.contracts.wire import WIRE_TYPES

CONVERTER = pydantic_data_converter.payload_converter


def printed(capsys: pytest.CaptureFixture[str], name: str) -> dict[str, Any]:
    assert main(["schema", name]) == 0
    schema: dict[str, Any] = json.loads(capsys.readouterr().out)
    return schema


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def as_sent(event: WebhookEvent) -> tuple[Payload, Any]:
    [payload] = CONVERTER.to_payloads([event])
    return payload, json.loads(payload.data)


def json_payload(value: Any) -> Payload:
    """A payload as another SDK's default JSON converter writes it."""
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def test_event_as_the_data_converter_writes_it_matches_the_event_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    raw = b"\xfb\xff\x00binary\xfe"  # base64url has '-' and '_' where base64 has '+' and '/'
    event = WebhookEvent(
        route="tickets",
        delivery_id="msg_2Yh",
        received_at=datetime(2026, 3, 1, 9, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2))),
        method="PUT",
        path_params={"ticket": "T-9"},
        query={"tag": ["a", "b"], "empty": []},
        headers={"content-type": "application/octet-stream", "webhook-id": "msg_2Yh"},
        content_type="application/octet-stream",
        raw_body=raw,
        event_type="ticket.updated",
        rule="updates",
        full_body={"nested": [1, 2.5, None, True, {"k": "v"}]},
    )
    schema = printed(capsys, "event")

    payload, sent = as_sent(event)

    assert payload.metadata["encoding"] == b"json/plain"
    assert list(validator(schema).iter_errors(sent)) == []
    assert base64.urlsafe_b64decode(sent["raw_body"]) == raw
    assert datetime.fromisoformat(sent["received_at"]) == event.received_at
    assert sent["query"] == {"tag": ["a", "b"], "empty": []}


def test_event_with_only_its_required_fields_matches_the_event_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = WebhookEvent(route="r", delivery_id="d", received_at=datetime.now(UTC), body=[1])
    schema = printed(capsys, "event")

    _, sent = as_sent(event)

    assert list(validator(schema).iter_errors(sent)) == []
    assert set(schema["required"]) == {"route", "delivery_id", "received_at"}
    assert list(validator(schema).iter_errors({"route": "r", "delivery_id": "d"})) != []


def test_event_schema_names_its_dialect_id_and_payload_encoding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = printed(capsys, "event")

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://hooktide.dev/schemas/webhook-event.json"
    assert "json/plain" in schema["description"]
    assert schema["properties"]["raw_body"]["anyOf"][0]["format"] == "base64url"


def test_reply_a_typescript_worker_returns_matches_the_schema_and_decodes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # What `return {status: 201, headers: {...}, body: {...}}` in an update handler sends.
    written = '{"status":201,"headers":{"x-ticket":"T-9"},"body":{"ok":true,"ids":["a"]}}'
    schema = printed(capsys, "reply")
    assert schema["$id"] == "https://hooktide.dev/schemas/webhook-reply.json"

    assert list(validator(schema).iter_errors(json.loads(written))) == []
    payload = Payload(metadata={"encoding": b"json/plain"}, data=written.encode())
    [reply] = CONVERTER.from_payloads([payload], [WebhookReply])

    assert reply == WebhookReply(
        status=201, headers={"x-ticket": "T-9"}, body={"ok": True, "ids": ["a"]}
    )


def test_reply_that_leaves_fields_out_takes_the_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = printed(capsys, "reply")

    assert list(validator(schema).iter_errors({"body": "done"})) == []
    [reply] = CONVERTER.from_payloads([json_payload({"body": "done"})], [WebhookReply])
    assert reply == WebhookReply(status=200, headers={}, body="done")


@pytest.mark.parametrize(
    "bad",
    [{"status": 99}, {"status": 600}, {"status": 200.5}, {"headers": {"x-n": 1}}, [200]],
    ids=["status-99", "status-600", "status-fraction", "header-not-a-string", "not-an-object"],
)
def test_malformed_reply_fails_the_schema_as_it_fails_the_gateway(
    capsys: pytest.CaptureFixture[str], bad: Any
) -> None:
    schema = printed(capsys, "reply")

    assert list(validator(schema).iter_errors(bad)) != []
    with pytest.raises(ValidationError, match="WebhookReply"):
        CONVERTER.from_payloads([json_payload(bad)], [WebhookReply])


def test_out_writes_what_the_command_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reply.json"

    assert main(["schema", "reply", "--out", str(out)]) == 0

    assert capsys.readouterr().out == ""
    assert out.read_text(encoding="utf-8") == render("reply")


def test_out_to_a_missing_directory_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "event.json"

    assert main(["schema", "event", "--out", str(target)]) == 1

    assert f"ConfigError: Cannot write {target}" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(WIRE_TYPES))
def test_committed_schema_file_is_what_the_command_prints(name: str) -> None:
    committed = REPO / "schemas" / WIRE_TYPES[name].file

    assert committed.read_text(encoding="utf-8") == render(name), (
        f"{committed.relative_to(REPO)} is stale: run "
        f"`hooktide schema {name} --out {committed.relative_to(REPO)}`"
    )
