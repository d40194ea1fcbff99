"""Rule conditions (`when`) compiled once into Python closures.

`jmespath`'s `ParsedResult.search` walks the expression's tree again for every event, with a
new interpreter each time whose first visit of each node looks its method up by name; a
route's 20 conditions paid that 20 times per request. Here the tree is walked once, at
start: fields, sub-expressions, literals, comparisons, `&&`, `||` and `!` (what conditions
are made of) become nested closures with JMESPath's semantics, as `jmespath.visitor` has
them; any other node (functions, projections, filters, ...) is evaluated by one shared
interpreter, so every expression still gives what `jmespath` gives.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from numbers import Number
from typing import Any

from jmespath.parser import ParsedResult
from jmespath.visitor import TreeInterpreter

Evaluate = Callable[[Any], Any]

_INTERPRETER = TreeInterpreter()
_ORDERING = {"lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge}


class Condition:
    """An expression as closures; `search(data)` answers as `ParsedResult.search` does
    (and raises what it raises: `config.event_type.search` turns that into no value)."""

    __slots__ = ("expression", "search")

    def __init__(self, parsed: ParsedResult) -> None:
        self.expression: str = parsed.expression
        self.search: Evaluate = _compile(parsed.parsed)

    def __repr__(self) -> str:
        return f"Condition({self.expression!r})"


#: Whether each JSON type is a number to JMESPath, so that most checks skip the ABC.
_NUMBERS: dict[type, bool] = {int: True, float: True, bool: False, str: False, type(None): False}


def _number(value: Any) -> bool:
    """A number, and not a bool (JMESPath tells them apart; Python does not)."""
    known = _NUMBERS.get(type(value))
    return (not isinstance(value, bool) and isinstance(value, Number)) if known is None else known


def _false(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


def _equal(left: Any, right: Any) -> bool:
    # 0 and 1 equal False and True in Python, never in JMESPath.
    if (_number(left) and left in (0, 1)) or (_number(right) and right in (0, 1)):
        return type(left) is not bool and type(right) is not bool and bool(left == right)
    return bool(left == right)


def _compile(node: dict[str, Any]) -> Evaluate:
    build = _BUILDERS.get(node["type"])
    if build is None:
        return lambda value: _INTERPRETER.visit(node, value)
    return build(node)


def _children(node: dict[str, Any]) -> list[Evaluate]:
    return [_compile(child) for child in node["children"]]


def _field(node: dict[str, Any]) -> Evaluate:
    name = node["value"]

    def field(value: Any) -> Any:
        try:
            return value.get(name)
        except AttributeError:
            return None

    return field


def _subexpression(node: dict[str, Any]) -> Evaluate:
    if all(child["type"] == "field" for child in node["children"]):
        return _path([child["value"] for child in node["children"]])
    children = _children(node)

    def subexpression(value: Any) -> Any:
        for child in children:
            value = child(value)
            if value is None:
                return None
        return value

    return subexpression


def _path(names: list[str]) -> Evaluate:
    """`a.b.c`: the fields of a sub-expression read in one loop."""

    def path(value: Any) -> Any:
        for name in names:
            try:
                value = value.get(name)
            except AttributeError:
                return None
            if value is None:
                return None
        return value

    return path


def _literal(node: dict[str, Any]) -> Evaluate:
    constant = node["value"]
    return lambda value: constant


def _current(node: dict[str, Any]) -> Evaluate:
    return lambda value: value


def _comparator(node: dict[str, Any]) -> Evaluate:
    left, right = _children(node)
    if node["value"] in ("eq", "ne"):
        # Against a literal that is neither a bool nor 0 or 1, JMESPath's equality is Python's.
        plain = any(
            child["type"] == "literal"
            and not isinstance(child["value"], bool)
            and not (_number(child["value"]) and child["value"] in (0, 1))
            for child in node["children"]
        )
        same: Callable[[Any, Any], bool] = operator.eq if plain else _equal
        if node["value"] == "eq":
            return lambda value: same(left(value), right(value))
        return lambda value: not same(left(value), right(value))
    ordering = _ORDERING[node["value"]]

    def compare(value: Any) -> Any:
        # Numbers and strings only; anything else orders to null.
        a, b = left(value), right(value)
        if (_number(a) or isinstance(a, str)) and (_number(b) or isinstance(b, str)):
            return ordering(a, b)
        return None

    return compare


def _and(node: dict[str, Any]) -> Evaluate:
    first, second = _children(node)

    def and_expression(value: Any) -> Any:
        matched = first(value)
        return matched if _false(matched) else second(value)

    return and_expression


def _or(node: dict[str, Any]) -> Evaluate:
    first, second = _children(node)

    def or_expression(value: Any) -> Any:
        matched = first(value)
        return second(value) if _false(matched) else matched

    return or_expression


def _not(node: dict[str, Any]) -> Evaluate:
    (operand,) = _children(node)

    def not_expression(value: Any) -> Any:
        result = operand(value)
        return False if _number(result) and result == 0 else not result

    return not_expression


_BUILDERS: dict[str, Callable[[dict[str, Any]], Evaluate]] = {
    "field": _field,
    "subexpression": _subexpression,
    "literal": _literal,
    "current": _current,
    "identity": _current,
    "comparator": _comparator,
    "and_expression": _and,
    "or_expression": _or,
    "not_expression": _not,
}
