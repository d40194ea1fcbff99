"""`group_commit` in the route file: its pacing settings, their defaults, and errors that name
the field."""

from __future__ import annotations

from typing import Any

import pytest

from webhook_gateway.config.highfreq import GroupCommitConfig, PacingConfig
from webhook_gateway.config.routes import parse_config
from webhook_gateway.contracts.errors import ConfigError


def route(group_commit: dict[str, Any]) -> dict[str, Any]:
    return {
        "routes": {
            "orders": {
                "path": "/webhooks/orders",
                "workflow": "OrderWorkflow",
                "delivery_id": {"header": "webhook-id"},
                "verifier": {"type": "standard_webhooks", "secret": {"env": "TEST_ORDERS_SECRET"}},
                "group_commit": group_commit,
            }
        }
    }


def error_for(group_commit: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(route(group_commit))
    return str(info.value)


def loaded(group_commit: dict[str, Any]) -> GroupCommitConfig:
    config = parse_config(route(group_commit)).route("orders").group_commit
    assert config is not None
    return config


def test_pacing_is_adaptive_by_default() -> None:
    config = loaded({"shards": 4})

    assert config.start_rate is None
    assert config.pacing == PacingConfig(
        initial_rate=10.0, min_rate=1.0, max_rate=None, target_latency_ms=500.0,
        increase=5.0, decrease=0.5, max_queue_seconds=10.0,
    )  # fmt: skip


def test_an_older_route_file_with_start_rate_still_loads_and_caps_the_pace() -> None:
    config = loaded({"start_rate": 0.5})

    assert config.pacing.capped(config.start_rate).max_rate == 0.5
    assert loaded({"start_rate": 40, "pacing": {"max_rate": 20}}).pacing.capped(40).max_rate == 20


def test_pacing_settings_are_read() -> None:
    config = loaded({"pacing": {"target_latency_ms": 250, "min_rate": 2, "max_rate": 300,
                                "increase": 10, "decrease": 0.7, "initial_rate": 50,
                                "max_queue_seconds": None}})  # fmt: skip

    assert (config.pacing.target_latency_ms, config.pacing.max_rate) == (250, 300)
    assert config.pacing.max_queue_seconds is None
    assert (config.pacing.increase, config.pacing.decrease, config.pacing.initial_rate) == (
        10, 0.7, 50,
    )  # fmt: skip


def test_min_rate_above_max_rate_is_refused_naming_both() -> None:
    message = error_for({"pacing": {"min_rate": 5, "max_rate": 2}})

    assert "route 'orders', field group_commit.pacing" in message
    assert "min_rate (5) is above max_rate (2)" in message


def test_an_initial_rate_outside_the_bounds_is_refused() -> None:
    message = error_for({"pacing": {"initial_rate": 500, "max_rate": 100}})

    assert "initial_rate (500) is outside [min_rate, max_rate]" in message


def test_start_rate_below_a_min_rate_set_with_it_is_refused() -> None:
    message = error_for({"start_rate": 2, "pacing": {"min_rate": 5}})

    assert "route 'orders', field group_commit" in message
    assert "start_rate (2) is below pacing.min_rate (5)" in message


@pytest.mark.parametrize(
    ("pacing", "field"),
    [
        ({"decrease": 1.5}, "group_commit.pacing.decrease"),
        ({"min_rate": 0}, "group_commit.pacing.min_rate"),
        ({"target_ms": 100}, "group_commit.pacing.target_ms"),
        ({"max_queue_seconds": 0}, "group_commit.pacing.max_queue_seconds"),
    ],
)
def test_a_bad_pacing_value_names_its_field(pacing: dict[str, Any], field: str) -> None:
    assert f"route 'orders', field {field}" in error_for({"pacing": pacing})
