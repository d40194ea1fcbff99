"""From a verified delivery to its targets: event types, rules, fan-out, otherwise, input."""

from __future__ import annotations

from typing import Any

import pytest

from tests.routing.support import delivery, github_route, planner, stripe_route
from webhook_gateway.config.routes import parse_config
from webhook_gateway.errors import NoMatchingRule, UnprocessableEvent
from webhook_gateway.routing.delivery import Delivery

DEPLOY = {
    "name": "deploy-main",
    "events": ["push"],
    "when": "body.ref == 'refs/heads/main'",
    "workflow": "DeployWorkflow",
    "workflow_id": {"jmespath": "after", "prefix": "deploy-"},
    "input": "{sha: body.after, repo: body.repository.full_name}",
}
PRS = {
    "name": "pull-requests",
    "events": ["pull_request.*"],
    "workflow": "PullRequestWorkflow",
    "mode": "signal_with_start",
    "workflow_id": {"jmespath": "pull_request.node_id", "prefix": "pr-"},
}


def push(ref: str = "refs/heads/main") -> dict[str, Any]:
    return {"ref": ref, "after": "abc123", "repository": {"full_name": "o/r"}, "size": 1}


def test_each_sender_names_its_event_type() -> None:
    github = planner(github_route(DEPLOY))
    assert github.event_type(delivery({"action": "opened"}, x_github_event="pull_request")) == (
        "pull_request.opened"
    )
    assert github.event_type(delivery(push(), x_github_event="push")) == "push"
    assert github.event_type(delivery(push())) is None  # no header: no event type
    stripe = planner(stripe_route({"name": "a", "workflow": "W"}))
    assert stripe.event_type(delivery({"id": "evt_1", "type": "invoice.paid"})) == "invoice.paid"
    assert stripe.event_type(delivery({"id": "evt_1", "type": 7})) is None
    assert stripe.event_type(delivery(["not", "an", "object"])) is None
    overridden = planner(
        stripe_route({"name": "a", "workflow": "W"}, event_type={"header": "x-kind"})
    )
    assert overridden.event_type(delivery({"type": "t"}, x_kind="custom.kind")) == "custom.kind"


def test_a_matching_rule_gets_its_own_workflow_id_and_the_projected_input() -> None:
    plan = planner(github_route(DEPLOY, PRS)).plan(delivery(push(), x_github_event="push"))
    assert plan.event_type == "push" and not plan.ignored
    [only] = plan.targets
    assert only.target.rule == "deploy-main"
    assert only.workflow_id == "deploy-abc123"
    assert only.event.body == {"sha": "abc123", "repo": "o/r"}
    assert only.event.rule == "deploy-main"
    assert only.event.event_type == "push"
    assert only.event.full_body is None  # the workflow's history holds only the projection


def test_keep_body_carries_the_whole_body_beside_the_projection() -> None:
    plan = planner(github_route({**DEPLOY, "keep_body": True})).plan(
        delivery(push(), x_github_event="push")
    )
    assert plan.targets[0].event.full_body == push()


def test_an_event_no_rule_takes_is_ignored_by_default() -> None:
    route = github_route(DEPLOY, PRS)
    for body, kind in ((push("refs/heads/dev"), "push"), ({"zen": "hi"}, "ping"), (push(), None)):
        headers = {"x_github_event": kind} if kind else {}
        plan = planner(route).plan(delivery(body, **headers))
        assert plan.ignored and plan.targets == []
        assert plan.event_type == kind


def test_otherwise_reject_is_a_422_and_otherwise_a_rule_is_its_fallback() -> None:
    with pytest.raises(NoMatchingRule) as info:
        planner(github_route(DEPLOY, otherwise="reject")).plan(
            delivery({"zen": "x"}, x_github_event="ping")
        )
    assert info.value.status == 422
    assert "'ping'" in info.value.detail
    fallback = {"name": "everything-else", "workflow": "AuditWorkflow"}
    plan = planner(github_route(DEPLOY, fallback, otherwise="everything-else")).plan(
        delivery({"zen": "x"}, x_github_event="ping")
    )
    assert [t.target.rule for t in plan.targets] == ["everything-else"]
    assert plan.targets[0].workflow_id.startswith("github-everything-else-")


def test_fan_out_first_takes_one_and_all_takes_every_match() -> None:
    rules = (
        {"name": "paid", "events": ["invoice.paid"], "workflow": "InvoiceWorkflow"},
        {"name": "ledger", "events": ["invoice.*"], "workflow": "LedgerWorkflow"},
        {"name": "other", "events": ["customer.*"], "workflow": "CustomerWorkflow"},
    )
    event = delivery({"id": "evt_9", "type": "invoice.paid"})
    first = planner(stripe_route(*rules)).plan(event)
    every = planner(stripe_route(*rules, fan_out="all")).plan(event)
    assert [t.target.rule for t in first.targets] == ["paid"]
    assert [t.target.rule for t in every.targets] == ["paid", "ledger"]
    # Each target's id is derived from the delivery id and the rule: distinct, and stable.
    assert [t.workflow_id for t in every.targets] == ["stripe-paid-evt_9", "stripe-ledger-evt_9"]
    again = planner(stripe_route(*rules, fan_out="all")).plan(event)
    assert [t.workflow_id for t in again.targets] == [t.workflow_id for t in every.targets]


def test_conditions_see_headers_query_path_params_body_and_event_type() -> None:
    rule = {
        "name": "a",
        "workflow": "W",
        "when": "headers.\"x-tenant\" == 'acme' && query.v == '2' && event_type == 'invoice.paid'"
        " && body.data.object.amount_paid > `100`",
    }
    planned = planner(stripe_route(rule))
    body = {"id": "evt_1", "type": "invoice.paid", "data": {"object": {"amount_paid": 500}}}

    def run(**changes: Any) -> bool:
        base = delivery(body, x_tenant="acme")
        values = {"headers": base.headers, "query": {"v": ["2"]}, "body": body} | changes
        one = Delivery(raw=base.raw, **values)
        return not planned.plan(one).ignored

    assert run()
    assert not run(query={"v": ["1"]})
    assert not run(headers={"x-tenant": "other"})
    assert not run(body={**body, "data": {"object": {"amount_paid": "500"}}})  # string vs number


@pytest.mark.parametrize(
    "body",
    [
        [1, 2, 3],
        "a string",
        42,
        None,
        {"data": [{"object": None}] * 100_000},
        {"data": {"object": {"amount_paid": {"nested": True}}}},
        {"ref": ["refs/heads/main"]},
        {"data": {"object": {"lines": "not a list"}}},
    ],
)
def test_odd_bodies_match_nothing_and_never_raise(body: Any) -> None:
    rules = (
        {"name": "a", "workflow": "W", "when": "body.data.object.amount_paid > `100`"},
        {"name": "b", "workflow": "W", "when": "contains(body.data.object.lines, 'x')"},
        {
            "name": "c",
            "workflow": "W",
            "when": "length(body.ref) > `3` && starts_with(body.ref, 'r')",
        },
        {"name": "d", "workflow": "W", "when": "max_by(body.data, &object.amount) != null"},
    )
    route = parse_config(
        {
            "routes": {
                "x": {
                    "path": "/x",
                    "verifier": {"type": "none"},
                    "delivery_id": {"body_sha256": True, "unsigned": True},
                    "rules": list(rules),
                    "fan_out": "all",
                }
            }
        }
    ).route("x")
    assert planner(route).plan(delivery(body)).ignored


def test_a_body_too_deep_to_carry_is_a_422_not_a_500() -> None:
    deep: Any = "leaf"
    for _ in range(900):  # json.loads takes it; a workflow's event cannot carry it
        deep = {"a": deep}
    rule = {"name": "a", "workflow": "W", "when": "length(to_string(body)) > `0`"}
    with pytest.raises(UnprocessableEvent, match="cannot be carried to a workflow"):
        planner(stripe_route(rule)).plan(delivery({"id": "evt_1", "type": "t", "data": deep}))


def test_an_input_that_yields_null_is_a_422_naming_the_expression() -> None:
    route = github_route(DEPLOY)
    without_repo = {"ref": "refs/heads/main", "after": "abc123"}
    with pytest.raises(UnprocessableEvent) as info:
        planner(route).plan(delivery(without_repo, x_github_event="push"))
    assert "{sha: body.after, repo: body.repository.full_name}" in info.value.detail
    assert "['repo']" in info.value.detail
    optional = {**DEPLOY, "input": "{sha: body.after, repo: body.repository.full_name || ''}"}
    plan = planner(github_route(optional)).plan(delivery(without_repo, x_github_event="push"))
    assert plan.targets[0].event.body == {"sha": "abc123", "repo": ""}
    scalar = {**DEPLOY, "input": "body.head_commit"}
    with pytest.raises(UnprocessableEvent, match=r"body\.head_commit"):
        planner(github_route(scalar)).plan(delivery(push(), x_github_event="push"))


def test_a_rule_without_its_workflow_id_field_is_a_422_and_nothing_is_planned() -> None:
    route = github_route(PRS)
    with pytest.raises(UnprocessableEvent, match=r"pull_request\.node_id"):
        planner(route).plan(delivery({"action": "opened"}, x_github_event="pull_request"))


def test_a_route_without_rules_keeps_one_target_with_the_whole_event() -> None:
    config = parse_config(
        {
            "routes": {
                "orders": {
                    "path": "/o",
                    "workflow": "OrderWorkflow",
                    "verifier": {"type": "stripe", "secret": {"env": "TEST_STRIPE_SECRET"}},
                }
            }
        }
    )
    plan = planner(config.route("orders")).plan(delivery({"id": "evt_5", "type": "x.y"}))
    [only] = plan.targets
    assert only.target.rule is None
    assert only.workflow_id == "orders-evt_5"
    assert only.event.body == {"id": "evt_5", "type": "x.y"}
    assert only.event.event_type == "x.y"
