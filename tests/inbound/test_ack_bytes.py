"""The gateway's own JSON answers (acks, problem+json) are written by orjson: the same bytes
Starlette's JSONResponse writes for what they hold, and the standard encoder for the rest."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from webhook_gateway.errors import SchemaMismatch
from webhook_gateway.json_response import ORJSONResponse
from webhook_gateway.problem import error_response, problem_response

ack_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)


@settings(max_examples=300, deadline=None)
@given(ack_values)
def test_the_bytes_are_starlettes_for_strings_integers_booleans_and_nulls(value: Any) -> None:
    assert ORJSONResponse(value).body == JSONResponse(value).body


@pytest.mark.parametrize(
    "value", [{"n": 2**64}, {"n": -(2**63) - 1}, {"deep": [[{"n": 10**30}]]}], ids=str
)
def test_what_orjson_will_not_write_is_written_as_starlette_writes_it(value: Any) -> None:
    assert ORJSONResponse(value).body == JSONResponse(value).body


def test_a_key_that_is_not_a_string_is_written_as_starlette_writes_it() -> None:
    assert ORJSONResponse({1: "a", None: "b"}).body == JSONResponse({1: "a", None: "b"}).body


def test_a_lone_surrogate_fails_as_it_does_in_starlette() -> None:
    with pytest.raises(UnicodeEncodeError):
        JSONResponse({"a": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        ORJSONResponse({"a": "\ud800"})


def test_a_problem_is_problem_json_with_its_members_and_headers() -> None:
    response = problem_response(
        429,
        slug="too-many",
        title="Too many requests",
        detail="Slow down \u2014 caf\u00e9.",
        instance="/webhooks/x",
        headers={"Retry-After": "3"},
        extra={"limit": 5},
    )
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "3"
    assert json.loads(response.body) == {
        "type": "https://hooktide.dev/problems/too-many",
        "title": "Too many requests",
        "status": 429,
        "detail": "Slow down \u2014 caf\u00e9.",
        "instance": "/webhooks/x",
        "limit": 5,
    }


def test_a_schema_mismatch_carries_its_pointer_list() -> None:
    errors = [{"pointer": "/id", "message": "'id' is a required property"}]
    body = json.loads(error_response(SchemaMismatch("No match.", errors=errors)).body)
    assert body["errors"] == errors
    assert body["status"] == 422


def test_a_problem_whose_detail_holds_a_lone_surrogate_is_still_written() -> None:
    response = problem_response(422, slug="x", title="X", detail="bad \ud800 value")
    assert response.body == json.dumps(json.loads(response.body)).encode()
    assert b"\\ud800" in response.body
