"""Dry runs: every rule with matched / not matched and why, ids and inputs, no Temporal."""

from __future__ import annotations

import json

from tests.routing.support import github_route, planner, stripe_route
from tests.routing.test_plan import DEPLOY, PRS, push
from webhook_gateway.config.routes import parse_config
from webhook_gateway.routing.explain import PLACEHOLDER_ID, explain, sample


def test_explain_says_why_each_rule_did_or_did_not_match() -> None:
    report = explain(
        planner(github_route(DEPLOY, PRS)),
        sample(body=push("refs/heads/dev"), headers={"X-GitHub-Event": "push"}),
    )
    assert report["event_type"] == "push"
    assert report["event_type_from"] == "header x-github-event and body field action"
    deploy, prs = report["rules"]
    assert deploy == {
        "rule": "deploy-main",
        "matched": False,
        "reason": "condition `body.ref == 'refs/heads/main'` is false",
        "chosen": False,
    }
    assert prs["reason"] == "event type 'push' is not one of ['pull_request.*']"
    assert report["targets"] == [] and report["outcome"] == "ignored"


def test_explain_shows_each_target_its_workflow_id_and_input() -> None:
    body = push()
    report = explain(
        planner(github_route(DEPLOY, PRS)),
        sample(body=body, headers={"X-GitHub-Event": "push"}, raw=json.dumps(body).encode()),
    )
    assert report["outcome"] == "sent"
    assert report["targets"] == [
        {
            "rule": "deploy-main",
            "workflow": "DeployWorkflow",
            "mode": "start",
            "task_queue": "hooktide",
            "workflow_id": "deploy-abc123",
            "input": {"sha": "abc123", "repo": "o/r"},
        }
    ]


def test_explain_reports_missing_ids_and_fields_instead_of_failing() -> None:
    stripe = stripe_route(
        {"name": "paid", "events": ["invoice.paid"], "workflow": "InvoiceWorkflow"},
        {
            "name": "by-customer",
            "events": ["invoice.*"],
            "workflow": "CustomerWorkflow",
            "mode": "signal_with_start",
            "workflow_id": {"jmespath": "data.object.customer"},
        },
        fan_out="all",
    )
    report = explain(planner(stripe), sample(body={"type": "invoice.paid"}))
    assert report["delivery_id"] == PLACEHOLDER_ID
    assert "body field id, which is missing" in report["delivery_id_error"]
    paid, customer = report["targets"]
    assert paid["workflow_id"] == "stripe-paid-" + PLACEHOLDER_ID
    assert customer == {
        "rule": "by-customer",
        "error": "The workflow id is taken from the body field data.object.customer, which is "
        "missing.",
    }
    assert report["outcome"] == "rejected"


def test_explain_of_otherwise_reject() -> None:
    report = explain(
        planner(github_route(DEPLOY, otherwise="reject")),
        sample(body={"zen": "z"}, headers={"x-github-event": "ping"}),
    )
    assert report["outcome"] == "rejected" and report["targets"] == []


def test_explain_takes_the_signed_id_from_the_header_the_verifier_would_have_read() -> None:
    route = parse_config(
        {
            "routes": {
                "orders": {
                    "path": "/webhooks/orders",
                    "workflow": "OrderWorkflow",
                    "workflow_id": {"prefix": "order-"},
                    "verifier": {"type": "standard_webhooks", "secret": {"env": "X_SECRET"}},
                }
            }
        }
    ).route("orders")
    given = sample(body={}, headers={"Webhook-Id": "msg_42"}, id_headers=route.verifier.id_headers)
    report = explain(planner(route), given)
    assert report["delivery_id"] == "msg_42" and "delivery_id_error" not in report
    assert report["targets"][0]["workflow_id"] == "order-msg_42"
    without = explain(planner(route), sample(body={}, id_headers=route.verifier.id_headers))
    assert without["delivery_id"] == PLACEHOLDER_ID
