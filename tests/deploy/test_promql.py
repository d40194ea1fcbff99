"""The query reader the dashboard check relies on: it finds every series, and refuses what
it cannot read rather than miss a name."""

from __future__ import annotations

import pytest

from tests.deploy import exposition, promql


def names(expr: str) -> list[str]:
    return [s.name for s in promql.parse(expr).selectors]


def test_series_are_found_past_functions_aggregations_and_modifiers() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, route) "
        '(rate(a_bucket{route=~"$route"}[$__rate_interval])))'
        " / on (route) group_left (rule) sum without (shard) (b offset 5m) and c unless d"
    )
    query = promql.parse(expr)

    assert names(expr) == ["a_bucket", "b", "c", "d"]
    assert query.selectors[0].matchers == {"route": ("=~", "$route")}
    assert query.grouping == {"le", "route", "rule", "shard"}


def test_label_values_in_strings_are_not_read_as_series() -> None:
    expr = 'sum(x{outcome!="sum(y)", status=~"4..|5.."}) > 0'

    assert names(expr) == ["x"]
    assert promql.parse(expr).selectors[0].matchers["outcome"] == ("!=", "sum(y)")


@pytest.mark.parametrize(
    "expr",
    ["sum(rate(x[5m])", "sum(x))", '{__name__="x"}', "x{route}", "rate(x[5m)", "", "sum by x (y)"],
)
def test_what_it_cannot_read_is_refused(expr: str) -> None:
    with pytest.raises(ValueError):
        promql.parse(expr)


def test_exposition_names_are_kept_as_written_with_their_labels() -> None:
    text = (
        "# TYPE sdk_counter counter\n"
        'sdk_counter{endpoint="crm",outcome="a \\"quoted\\" }"} 1\n'
        "# TYPE gw counter\n"
        'gw_total{route="x"} 2\n'
        "bare 3\n"
    )

    assert exposition.series(text) == {
        "sdk_counter": {"endpoint", "outcome"},
        "gw_total": {"route"},
        "bare": set(),
    }
