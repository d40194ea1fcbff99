"""JSON bodies, edge by edge: what `parse_body` returns or refuses (with its exact 400
message), and what a real gateway answers for the same bytes (and, when it takes them, what
the workflow's start input holds in Temporal's history). The parser behind it may change;
these answers may not."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.support.gateway import serve_gateway
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.errors import MalformedBody, UnprocessableEvent
from webhook_gateway.inbound.body import parse_body

JSON = "application/json"
BIG = 10**400

#: Bodies the gateway takes, and what it makes of them.
PARSED: dict[str, tuple[bytes, Any]] = {
    "duplicate keys: the last wins, at the first one's place": (
        b'{"a": 1, "b": 2, "a": 3}',
        {"a": 3, "b": 2},
    ),
    "the largest 64-bit unsigned integer": (b"18446744073709551615", 18446744073709551615),
    "an integer past 64 bits stays an exact int": (
        b'{"n": 18446744073709551616}',
        {"n": 18446744073709551616},
    ),
    "a negative integer past 64 bits stays an exact int": (
        b"[-9223372036854775809]",
        [-9223372036854775809],
    ),
    "a 401-digit integer": (b"1" + b"0" * 400, BIG),
    "a number too large for a float is infinity": (b"[1e400, -1e400]", [math.inf, -math.inf]),
    "a surrogate pair is one character": (b'"\\ud83d\\ude00"', "\U0001f600"),
    "trailing whitespace is fine": (b"{} \r\n\t", {}),
    "an array at the top level": (b'[1, "a", null, true]', [1, "a", None, True]),
    "a string at the top level": (b'"x"', "x"),
    "a number at the top level": (b"-0.5", -0.5),
    "null at the top level": (b"null", None),
    "negative zero": (b"[-0, -0.0]", [0, -0.0]),
    "300 levels deep": (b"[" * 300 + b"]" * 300, None),  # checked by shape below
    "escapes": (b'"\\u00e9\\n\\/\\u0000"', "\u00e9\n/\x00"),
    "raw UTF-8 text": ('{"k": "caf\u00e9 \u2603"}'.encode(), {"k": "caf\u00e9 \u2603"}),
}

#: Bodies refused with 400, and the exact detail they are refused with.
REFUSED: dict[str, tuple[bytes, str]] = {
    "NaN": (b'{"a": NaN}', "The body is not valid JSON: NaN is not valid JSON."),
    "Infinity": (b"[Infinity]", "The body is not valid JSON: Infinity is not valid JSON."),
    "-Infinity": (b'{"a": -Infinity}', "The body is not valid JSON: -Infinity is not valid JSON."),
    "an integer over Python's 4300-digit limit": (
        b"1" + b"0" * 5000,
        "The body is not valid JSON: Exceeds the limit (4300 digits) for integer string "
        "conversion: value has 5001 digits; use sys.set_int_max_str_digits() to increase "
        "the limit.",
    ),
    "invalid UTF-8": (b'{"a": "\xff"}', "The JSON body is not valid UTF-8 (byte 7)."),
    "overlong UTF-8": (b'"\xc0\xaf"', "The JSON body is not valid UTF-8 (byte 1)."),
    "a UTF-8-encoded surrogate": (b'"\xed\xa0\x80"', "The JSON body is not valid UTF-8 (byte 1)."),
    "a UTF-8 byte order mark": (
        b"\xef\xbb\xbf{}",
        "The body is not valid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1 "
        "column 1.",
    ),
    "an empty body": (b"", "The body is not valid JSON: Expecting value at line 1 column 1."),
    "only whitespace": (b"  \n", "The body is not valid JSON: Expecting value at line 2 column 1."),
    "trailing garbage": (
        b'{"a": 1} x',
        "The body is not valid JSON: Extra data at line 1 column 10.",
    ),
    "a trailing NUL": (b"{}\x00", "The body is not valid JSON: Extra data at line 1 column 3."),
    "a leading zero": (b"01", "The body is not valid JSON: Extra data at line 1 column 2."),
    "a raw tab in a string": (
        b'"a\tb"',
        "The body is not valid JSON: Invalid control character at at line 1 column 3.",
    ),
    "an unknown escape": (
        b'"\\x"',
        "The body is not valid JSON: Invalid \\escape at line 1 column 2.",
    ),
    "a trailing comma": (
        b"[1,]",
        "The body is not valid JSON: Expecting value at line 1 column 4.",
    ),
    "single quotes": (
        b"{'a': 1}",
        "The body is not valid JSON: Expecting property name enclosed in double quotes at "
        "line 1 column 2.",
    ),
    "100,000 levels deep": (b"[" * 100_000 + b"]" * 100_000, "The JSON body is nested too deeply."),
}


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1 is not 1.0, -0.0 is not 0.0); walked
    with a stack of its own, as deep bodies are deeper than Python's recursion limit."""
    pending = [(a, b)]
    while pending:
        x, y = pending.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, dict):
            if list(x) != list(y):
                return False
            pending += [(x[k], y[k]) for k in x]
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            pending += zip(x, y, strict=True)
        elif isinstance(x, float):
            if math.copysign(1, x) != math.copysign(1, y) or not (x == y or (x != x and y != y)):
                return False
        elif x != y:
            return False
    return True


def depth(value: Any) -> int:
    levels = 0
    while isinstance(value, list) and value:
        value, levels = value[0], levels + 1
    return levels + (1 if isinstance(value, list) else 0)


@pytest.mark.parametrize(("body", "expected"), PARSED.values(), ids=list(PARSED))
def test_json_bodies_parse_to_exactly_what_the_stdlib_makes_of_them(
    body: bytes, expected: Any
) -> None:
    parsed, raw = parse_body(JSON, body)
    assert raw is None
    if expected is None and body.startswith(b"["):
        assert depth(parsed) == 300
    else:
        assert same(parsed, expected), parsed


@pytest.mark.parametrize(("body", "detail"), REFUSED.values(), ids=list(REFUSED))
def test_malformed_json_is_refused_with_the_same_detail(body: bytes, detail: str) -> None:
    with pytest.raises(MalformedBody) as caught:
        parse_body(JSON, body)
    assert caught.value.detail == detail


def reference(body: bytes) -> tuple[str, Any]:
    """What the standard library's parser, as the gateway configures it, makes of `body`;
    "unstorable" where the value holds text UTF-8 cannot (an unpaired surrogate)."""

    def reject(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        value = json.loads(body.decode("utf-8"), parse_constant=reject)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "refused", None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "unstorable", None
    except (ValueError, RecursionError):
        pass
    return "ok", value


def outcome(body: bytes) -> tuple[str, Any]:
    try:
        return "ok", parse_body(JSON, body)[0]
    except MalformedBody:
        return "refused", None
    except UnprocessableEvent:
        return "unstorable", None


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values, st.booleans())
def test_any_json_value_parses_as_the_stdlib_parses_it(value: Any, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    expected, got = reference(body), outcome(body)
    assert expected[0] == got[0] and same(got[1], expected[1])


#: Bodies either side of where a faster parser might part from the standard library's.
EDGES: dict[str, bytes] = {
    **{f"{n} levels deep": b"[" * n + b"]" * n for n in (199, 200, 950, 1000, 1023, 1024)},
    "250 flat objects": b"[" + b",".join([b'{"a": 1}'] * 250) + b"]",
    "18 digits": b"[999999999999999999, -999999999999999999]",
    "19 digits": b"[9223372036854775807, -9223372036854775808, 9999999999999999999]",
    "20 digits": b"[18446744073709551615, 18446744073709551616, 99999999999999999999]",
    "19 digits in a string": b'{"id": "1234567890123456789"}',
    "a float of 19 digits": b"[0.1234567890123456789, 1234567890123456789.5]",
    "a float at the edge of infinity": b"[1.7976931348623157e308, 1.7976931348623159e308]",
    "subnormal floats": b"[5e-324, 2.4703282292062328e-324, 2.2250738585072011e-308]",
}


@pytest.mark.parametrize("body", EDGES.values(), ids=list(EDGES))
def test_the_edges_answer_as_the_stdlib_does(body: bytes) -> None:
    expected, got = reference(body), outcome(body)
    assert expected[0] == got[0] and same(got[1], expected[1])


#: Pieces of JSON, good and bad, that random bodies are strung from.
PIECES = [
    b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"u", b"d800", b"0", b"1", b"-", b"e", b".",
    b"+", b" ", b"\t", b"\n", b"true", b"null", b"NaN", b"\xff", b"\xc3", b"\xa9", b"\xef\xbb\xbf",
    b'"a"', b"1e999", b"18446744073709551616", b"12345678901234567890.5",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=24).map(b"".join))
def test_any_bytes_are_taken_or_refused_as_the_stdlib_would(body: bytes) -> None:
    expected, got = reference(body), outcome(body)
    assert expected[0] == got[0] and same(got[1], expected[1]), body


# -- the same bytes through a real gateway ---------------------------------------------


@pytest.fixture(scope="module")
async def gateway(client: Client) -> AsyncIterator[httpx.AsyncClient]:
    # On the dev server: these starts wait on a queue nobody polls, and on the shared
    # time-skipping server such workflows would hold its clock for every later test.
    route = {
        "path": "/webhooks/json",
        "workflow": "OrderWorkflow",
        "task_queue": f"nobody-polls-{uuid.uuid4().hex[:6]}",
        "delivery_id": {"header": "x-delivery-id", "unsigned": True},
        "verifier": {"type": "none"},
    }
    config = parse_config({"routes": {"json": route}})
    async with serve_gateway(config, Settings(), client=client) as http:
        yield http


async def post(gateway: httpx.AsyncClient, body: bytes) -> tuple[httpx.Response, str]:
    delivery = f"d-{uuid.uuid4().hex}"
    headers = {"content-type": JSON, "x-delivery-id": delivery}
    return await gateway.post("/webhooks/json", content=body, headers=headers), delivery


async def started_with(client: Client, workflow_id: str) -> WebhookEvent:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    start = history.events[0].workflow_execution_started_event_attributes
    converter = pydantic_data_converter.payload_converter
    event = converter.from_payload(start.input.payloads[0], WebhookEvent)
    assert isinstance(event, WebhookEvent)
    return event


#: What the workflow's start input holds for bodies the gateway takes (as JSON carries it).
STORED: dict[str, tuple[bytes, Any]] = {
    "duplicate keys": (b'{"a": 1, "b": 2, "a": 3}', {"a": 3, "b": 2}),
    "an integer past 64 bits": (b'{"n": 18446744073709551616}', {"n": 18446744073709551616}),
    "a 401-digit integer": (b'{"n": 1' + b"0" * 400 + b"}", {"n": BIG}),
    "a non-object top level": (b'[1, "a", null]', [1, "a", None]),
    "a surrogate pair": (b'"\\ud83d\\ude00"', "\U0001f600"),
}


@pytest.mark.parametrize(("body", "expected"), STORED.values(), ids=list(STORED))
async def test_the_gateway_starts_the_workflow_with_the_body_as_parsed(
    gateway: httpx.AsyncClient, client: Client, body: bytes, expected: Any
) -> None:
    response, delivery = await post(gateway, body)
    assert response.status_code == 202, response.text
    ack = {
        "delivery_id": delivery,
        "workflow_id": f"json-{delivery}",
        "run_id": response.json()["run_id"],
        "duplicate": False,
    }
    assert response.content == json.dumps(ack, separators=(",", ":")).encode()
    event = await started_with(client, ack["workflow_id"])
    assert same(event.body, expected)


@pytest.mark.parametrize(("body", "detail"), REFUSED.values(), ids=list(REFUSED))
async def test_the_gateway_refuses_malformed_json_with_a_400_problem(
    gateway: httpx.AsyncClient, body: bytes, detail: str
) -> None:
    response, _ = await post(gateway, body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"] == detail
    assert problem["status"] == 400
    assert problem["instance"] == "/webhooks/json"


#: Bodies JSON takes but a workflow's event cannot carry: 422, and nothing starts.
UNCARRIED: dict[str, bytes] = {
    "300 levels deep": b"[" * 300 + b"]" * 300,
}


@pytest.mark.parametrize("body", UNCARRIED.values(), ids=list(UNCARRIED))
async def test_the_gateway_answers_422_for_json_it_cannot_carry(
    gateway: httpx.AsyncClient, body: bytes
) -> None:
    response, _ = await post(gateway, body)
    assert response.status_code == 422, response.text
    assert "cannot be carried to a workflow" in response.json()["detail"]


async def test_an_infinite_number_reaches_the_workflow_as_null(
    gateway: httpx.AsyncClient, client: Client
) -> None:
    response, delivery = await post(gateway, b'{"a": 1e400}')
    assert response.status_code == 202, response.text
    assert (await started_with(client, f"json-{delivery}")).body == {"a": None}


#: Valid JSON whose text UTF-8 cannot hold: the event could never be stored.
UNSTORABLE: dict[str, bytes] = {
    "a lone high surrogate escape": b'{"a": "\\ud800"}',
    "a lone low surrogate escape, upper case": b'["ok", "\\uDC00"]',
    "a high surrogate before a plain escape": b'"\\ud83d\\u0041"',
    "a lone surrogate in a key": b'{"\\udbff": 1}',
}


@pytest.mark.parametrize("body", UNSTORABLE.values(), ids=list(UNSTORABLE))
def test_a_lone_surrogate_is_refused_at_parsing_as_unstorable(body: bytes) -> None:
    with pytest.raises(UnprocessableEvent, match="unpaired UTF-16 surrogate escape"):
        parse_body(JSON, body)


async def test_a_lone_surrogate_is_answered_422_not_retried_forever(
    gateway: httpx.AsyncClient,
) -> None:
    # The data converter could not encode it as UTF-8: every retry would have failed as 503.
    response, _ = await post(gateway, b'{"a": "\\ud800"}')
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "\\ud800" in response.json()["detail"]
