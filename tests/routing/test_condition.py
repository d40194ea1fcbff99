"""Compiled rule conditions answer exactly as the `jmespath` library does, on any input."""

from __future__ import annotations

from typing import Any

import jmespath
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook_gateway.routing.condition import Condition

NAMES = st.sampled_from(["a", "b", "c", '"x-y"'])
LITERALS = st.sampled_from(
    ["`0`", "`1`", "`0.0`", "`1.0`", "`2`", "`true`", "`false`", "`null`", "'a'", "''",
     "`[]`", "`{}`", "`[1]`", '`"1"`', "`-1`"]
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from([0.0, 1.0, 2.5])
    | st.sampled_from(["", "a", "b", "1"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b", "c", "x-y"]), inner, max_size=3),
    max_leaves=12,
)  # fmt: skip


def paths() -> st.SearchStrategy[str]:
    return st.lists(NAMES, min_size=1, max_size=3).map(".".join)


def expressions() -> st.SearchStrategy[str]:
    leaf = paths() | LITERALS | st.just("@")
    ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return (
            st.tuples(inner, ops, inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
            | st.tuples(inner, inner).map(lambda t: f"({t[0]}) && ({t[1]})")
            | st.tuples(inner, inner).map(lambda t: f"({t[0]}) || ({t[1]})")
            | inner.map(lambda e: f"!({e})")
            | inner.map(lambda e: f"length({e})")  # not compiled: the shared interpreter
        )

    return st.recursive(leaf, extend, max_leaves=6)


def outcome(search: Any, data: Any) -> tuple[str, Any]:
    try:
        return "value", search(data)
    except Exception as exc:  # both sides must fail alike
        return "error", type(exc).__name__


@settings(max_examples=1000, deadline=None)
@given(expression=expressions(), data=JSON)
def test_a_compiled_condition_is_jmespath(expression: str, data: Any) -> None:
    parsed = jmespath.compile(expression)
    expected = outcome(parsed.search, data)
    got = outcome(Condition(parsed).search, data)
    assert got == expected
    if expected[0] == "value":
        assert type(got[1]) is type(expected[1])  # True is not 1, 0.0 is not 0


def test_the_tricky_cases_by_name() -> None:
    cases: list[tuple[str, Any]] = [
        ("a == `1`", {"a": True}),
        ("a == `0`", {"a": False}),
        ("a != `1`", {"a": True}),
        ("!a", {"a": 0}),
        ("!a", {"a": 0.0}),
        ("!a", {"a": False}),
        ("a < b", {"a": "a", "b": "b"}),
        ("a < b", {"a": 1, "b": "b"}),
        ("a && b", {"a": [], "b": 1}),
        ("a || b", {"a": {}, "b": "x"}),
        ("\"x-y\".a == 'q'", {"x-y": {"a": "q"}}),
        ("a.b.c", {"a": [{"b": 1}]}),
    ]
    for expression, data in cases:
        parsed = jmespath.compile(expression)
        assert outcome(Condition(parsed).search, data) == outcome(parsed.search, data), expression
