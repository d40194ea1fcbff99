"""Payload contracts: a JSON Schema mismatch is a 422 with JSON Pointers, at most 20."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.routing.support import delivery, planner
from webhook_gateway.config.routes import parse_config
from webhook_gateway.errors import SchemaMismatch
from webhook_gateway.routing.payload import MAX_SCHEMA_ERRORS, pointer

ORDER_SCHEMA = {
    "type": "object",
    "required": ["id", "lines"],
    "properties": {
        "id": {"type": "string"},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku"],
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
            },
        },
        "a/b~c": {"type": "integer"},
    },
}


@pytest.fixture
def schema_dir(tmp_path: Path) -> Path:
    (tmp_path / "order.json").write_text(json.dumps(ORDER_SCHEMA))
    (tmp_path / "invoice.json").write_text(json.dumps({"required": ["data"]}))
    return tmp_path


def route(schema_dir: Path, **extra: Any) -> Any:
    body = {
        "path": "/webhooks/stripe",
        "verifier": {"type": "stripe", "secret": {"env": "TEST_STRIPE_SECRET"}},
        **extra,
    }
    return parse_config({"routes": {"stripe": body}}, base_dir=schema_dir).route("stripe")


def mismatch(route: Any, body: Any) -> SchemaMismatch:
    with pytest.raises(SchemaMismatch) as info:
        planner(route).plan(delivery(body))
    return info.value


def test_pointers_name_each_failing_value(schema_dir: Path) -> None:
    orders = route(schema_dir, workflow="OrderWorkflow", schema="order.json")
    error = mismatch(orders, {"id": "evt_1", "lines": [{"sku": "A"}, {"qty": "2"}], "a/b~c": "x"})
    assert error.status == 422 and error.slug == "schema-mismatch"
    found = {(e["pointer"], e["message"]) for e in error.errors}
    assert ("/lines/1", "'sku' is a required property") in found
    assert ("/lines/1/qty", "'2' is not of type 'integer'") in found
    assert ("/a~1b~0c", "'x' is not of type 'integer'") in found  # RFC 6901 escapes
    assert mismatch(orders, [1, 2]).errors == [
        {"pointer": "", "message": "[1, 2] is not of type 'object'"}
    ]
    planner(orders).plan(delivery({"id": "evt_2", "lines": [{"sku": "A", "qty": 1}]}))


def test_at_most_twenty_errors_even_for_a_huge_array(schema_dir: Path) -> None:
    orders = route(schema_dir, workflow="OrderWorkflow", schema="order.json")
    error = mismatch(orders, {"id": "evt_1", "lines": [{"qty": "x"}] * 200_000})
    assert len(error.errors) == MAX_SCHEMA_ERRORS
    assert error.errors[0]["pointer"] == "/lines/0"


def test_a_rule_schema_applies_only_when_the_rule_matches(schema_dir: Path) -> None:
    stripe = route(
        schema_dir,
        rules=[
            {"name": "inv", "events": ["invoice.*"], "workflow": "W", "schema": "invoice.json"},
            {"name": "other", "workflow": "W"},
        ],
    )
    error = mismatch(stripe, {"id": "evt_1", "type": "invoice.paid"})
    assert "rule 'inv'" in error.detail
    assert error.errors == [{"pointer": "", "message": "'data' is a required property"}]
    plan = planner(stripe).plan(delivery({"id": "evt_1", "type": "customer.created"}))
    assert [t.target.rule for t in plan.targets] == ["other"]


def test_pointer_escapes() -> None:
    assert pointer([]) == ""
    assert pointer(["a/b", 0, "~"]) == "/a~1b/0/~0"
