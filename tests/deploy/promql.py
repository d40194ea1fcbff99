"""What a PromQL expression reads: its series selectors (metric name and label matchers) and
the labels it groups or joins by. A small lexer, not a full parser: enough for the queries
of deploy/grafana/dashboards/ to be checked against what the processes export, and strict
about what it does not understand (it raises rather than guess)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Grafana's own interval variables, which stand where a PromQL duration goes.
GRAFANA_INTERVALS = re.compile(
    r"\$__(?:rate_interval|interval|range)\b|\$\{__(?:rate_interval|interval|range)\}"
)

TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<duration>(?:\d+(?:ms|[smhdwy]))+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<matchop>=~|!~|!=|==|=)
  | (?P<punct>[{}()\[\],])
  | (?P<op>[-+*/%^<>]=?|@)
    """,
    re.VERBOSE,
)

#: Words of the language that read like metric names.
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
#: Aggregation operators, which may come before their grouping: `sum by (route) (...)`.
AGGREGATIONS = frozenset(
    {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk"}
    | {"quantile", "count_values", "limitk", "limit_ratio"}
)
#: Modifiers followed by a parenthesised list of label names.
LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})


@dataclass(frozen=True)
class Selector:
    """`name{label="value", ...}`: a metric and its matchers (label -> (operator, value))."""

    name: str
    matchers: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Query:
    selectors: list[Selector]
    #: Labels named in by/without/on/ignoring/group_left/group_right lists.
    grouping: set[str]


def _tokens(expr: str) -> list[tuple[str, str]]:
    text = GRAFANA_INTERVALS.sub("5m", expr)
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"cannot read {text[pos : pos + 20]!r} in {expr!r}")
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            out.append((kind, match.group()))
        pos = match.end()
    return out


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def parse(expr: str) -> Query:
    """The selectors and grouping labels of `expr`; ValueError when it does not lex or its
    brackets do not balance."""
    tokens = _tokens(expr)
    selectors: list[Selector] = []
    grouping: set[str] = set()
    depth = 0
    i = 0

    def at(j: int) -> tuple[str, str]:
        return tokens[j] if j < len(tokens) else ("end", "")

    def matchers(j: int) -> tuple[dict[str, tuple[str, str]], int]:
        """Reads `{label op "value", ...}` from tokens[j] == "{"; returns the index after "}"."""
        found: dict[str, tuple[str, str]] = {}
        j += 1
        while at(j) != ("punct", "}"):
            (k1, label), (k2, op), (k3, value) = at(j), at(j + 1), at(j + 2)
            if k1 != "ident" or k2 != "matchop" or op == "==" or k3 != "string":
                raise ValueError(f"bad label matcher at {label!r} in {expr!r}")
            found[label] = (op, _unquote(value))
            j += 3
            if at(j) == ("punct", ","):
                j += 1
        return found, j + 1

    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "ident" and text in LABEL_LISTS:
            if at(i + 1) != ("punct", "("):
                raise ValueError(f"{text} without its label list in {expr!r}")
            j = i + 2
            while at(j) != ("punct", ")"):
                if at(j)[0] == "ident":
                    grouping.add(at(j)[1])
                elif at(j) != ("punct", ","):
                    raise ValueError(f"bad label list after {text} in {expr!r}")
                j += 1
            i = j + 1
        elif kind == "ident" and (text in AGGREGATIONS or at(i + 1) == ("punct", "(")):
            i += 1  # a function or aggregation; its "(" is counted below
        elif kind == "ident" and text.lower() in KEYWORDS:
            i += 1
        elif kind == "ident":
            found: dict[str, tuple[str, str]] = {}
            i += 1
            if at(i) == ("punct", "{"):
                found, i = matchers(i)
            selectors.append(Selector(text, found))
        elif (kind, text) == ("punct", "{"):
            raise ValueError(f"a selector without a metric name in {expr!r}")
        elif (kind, text) == ("punct", "["):
            close = next((j for j in range(i, len(tokens)) if tokens[j] == ("punct", "]")), None)
            if close is None:
                raise ValueError(f"unclosed [ in {expr!r}")
            i = close + 1
        else:
            depth += {"(": 1, ")": -1}.get(text, 0) if kind == "punct" else 0
            if depth < 0:
                raise ValueError(f"unbalanced ) in {expr!r}")
            i += 1
    if depth:
        raise ValueError(f"unbalanced ( in {expr!r}")
    if not selectors:
        raise ValueError(f"no series selector in {expr!r}")
    return Query(selectors, grouping)


#: Grafana's `label_values(metric, label)` template variable query.
LABEL_VALUES = re.compile(r"^label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,\s*(\w+)\s*\)$")


def label_values(query: str) -> tuple[str, str]:
    """(metric, label) of a `label_values(metric, label)` variable query."""
    match = LABEL_VALUES.match(query.strip())
    if match is None:
        raise ValueError(f"not a label_values(metric, label) query: {query!r}")
    return match.group(1), match.group(2)
