"""Flow control in the route file (`ordered`, `concurrency`, `throttle`, `priority`,
`on_failure`): what each resolves to, and the mistakes that stop start-up, naming route,
rule and field."""

from __future__ import annotations

from typing import Any

import pytest

from webhook_gateway.config.flow import FlowSettings
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.target import Target
from webhook_gateway.contracts.errors import ConfigError

VERIFIER = {"type": "standard_webhooks", "secret": {"env": "TEST_ORDERS_SECRET"}}


def route(**fields: Any) -> dict[str, Any]:
    return {"routes": {"orders": {
        "path": "/webhooks/orders", "workflow": "OrderWorkflow",
        "delivery_id": {"header": "webhook-id"}, "verifier": VERIFIER, **fields,
    }}}  # fmt: skip


def with_rule(**rule: Any) -> dict[str, Any]:
    return {"routes": {"orders": {
        "path": "/webhooks/orders", "delivery_id": {"header": "webhook-id"}, "verifier": VERIFIER,
        "rules": [{"name": "one", "workflow": "OrderWorkflow", **rule}],
    }}}  # fmt: skip


def target(config: dict[str, Any]) -> Target:
    [only] = parse_config(config).route("orders").targets.values()
    return only


def error_for(config: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(config)
    return str(info.value)


def test_ordered_resolves_to_one_at_a_time_in_order_blocking_on_failure() -> None:
    flow = target(route(ordered={"key": "body.customer", "by": "body.created"})).flow
    assert flow == FlowSettings(
        key="body.customer", limit=1, by="body.created", late="run", settle_seconds=0.0,
        per_second=None, burst=1, on_failure="block",
    )  # fmt: skip


def test_concurrency_and_throttle_share_a_key_and_go_on_after_a_failure() -> None:
    flow = target(with_rule(
        concurrency={"key": "body.account", "limit": 3},
        throttle={"key": "body.account", "per_second": 5, "burst": 2},
    )).flow  # fmt: skip
    assert flow is not None
    assert (flow.key, flow.limit, flow.by, flow.per_second, flow.burst, flow.on_failure) == (
        "body.account", 3, None, 5.0, 2, "continue"
    )  # fmt: skip
    throttled = target(route(throttle={"key": "body.account", "per_second": 0.5})).flow
    assert throttled is not None and (throttled.limit, throttled.burst) == (None, 1)


def test_priority_alone_needs_no_sequencer() -> None:
    one = target(with_rule(priority={"priority_key": 1, "fairness_key": "body.tenant",
                                     "fairness_weight": 2}))  # fmt: skip
    assert one.flow is None
    assert one.priority is not None
    assert (one.priority.priority_key, one.priority.fairness_weight) == (1, 2.0)


def test_ordered_and_throttle_with_different_keys_are_refused() -> None:
    message = error_for(route(
        ordered={"key": "body.customer"}, throttle={"key": "body.account", "per_second": 1},
    ))  # fmt: skip
    assert "route 'orders'" in message
    assert "share one sequencer per key: give them the same key" in message
    assert "['body.account', 'body.customer']" in message


def test_ordered_with_a_concurrency_above_one_is_refused() -> None:
    message = error_for(with_rule(
        ordered={"key": "body.c"}, concurrency={"key": "body.c", "limit": 3},
    ))  # fmt: skip
    assert "ordered runs one workflow per key at a time" in message
    singleton = with_rule(ordered={"key": "body.c"}, concurrency={"key": "body.c", "limit": 1})
    assert target(singleton).flow is not None


@pytest.mark.parametrize(
    "field",
    [
        {"ordered": {"key": "body.c"}},
        {"concurrency": {"key": "body.c", "limit": 1}},
        {"throttle": {"key": "body.c", "per_second": 1}},
        {"priority": {"priority_key": 2}},
    ],
    ids=lambda f: next(iter(f)),
)
def test_flow_fields_on_a_signal_mode_rule_are_refused(field: dict[str, Any]) -> None:
    name = next(iter(field))
    message = error_for(with_rule(mode="signal", workflow_id={"jmespath": "id"}, **field))
    assert "route 'orders', rule 'one'" in message
    assert f"field {name} is only for mode 'start'" in message
    assert "the mode here is 'signal'" in message


def test_flow_control_with_group_commit_is_refused() -> None:
    message = error_for(route(ordered={"key": "body.c"}, group_commit={"shards": 2}))
    assert "route 'orders': group_commit and ordered do not combine" in message
    message = error_for(with_rule(throttle={"key": "body.c", "per_second": 1},
                                  group_commit={"shards": 2}))  # fmt: skip
    assert "rule 'one': group_commit and throttle do not combine" in message


def test_on_failure_needs_a_sequencer() -> None:
    message = error_for(route(on_failure="continue", priority={"priority_key": 2}))
    assert "on_failure needs ordered, concurrency or throttle" in message


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"ordered": {"key": "body.c", "late": "later"}}, "ordered.late"),
        ({"ordered": {"key": "body.c", "by": "body.["}}, "ordered.by"),
        ({"ordered": {"key": "body.c", "settle_seconds": -1}}, "ordered.settle_seconds"),
        ({"concurrency": {"key": "body.c", "limit": 0}}, "concurrency.limit"),
        ({"throttle": {"key": "body.c", "per_second": 0}}, "throttle.per_second"),
        ({"throttle": {"key": "body.c"}}, "throttle.per_second"),
        ({"priority": {"priority_key": 6}}, "priority.priority_key"),
        ({"priority": {"fairness_key": "body.["}}, "priority.fairness_key"),
        ({"priority": {"fairness_weight": 0}}, "priority.fairness_weight"),
        ({"ordered": {"key": "body.c", "limit": 2}}, "ordered.limit"),
    ],
)
def test_a_bad_flow_field_names_itself(fields: dict[str, Any], named: str) -> None:
    message = error_for(with_rule(**fields))
    assert "route 'orders'" in message
    assert named in message, message


@pytest.mark.parametrize("field", ["ordered", "concurrency", "throttle", "priority"])
def test_flow_fields_on_a_route_with_rules_belong_on_each_rule(field: str) -> None:
    given = {
        "ordered": {"key": "body.customer"},
        "concurrency": {"key": "body.customer", "limit": 2},
        "throttle": {"key": "body.customer", "per_second": 1},
        "priority": {"priority_key": 1},
    }[field]
    config = with_rule()
    config["routes"]["orders"][field] = given
    message = error_for(config)
    assert f"field {field} belongs on each rule, not on the route" in message
