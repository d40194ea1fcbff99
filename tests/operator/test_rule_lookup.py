"""Finding a delivery's workflows when its route has rules: one target per rule."""

from __future__ import annotations

import pytest

from tests.support.repo import REPO
from webhook_gateway.config.routes import HooktideConfig, load_config
from webhook_gateway.operator.lookup import Filter, candidates, target_for


@pytest.fixture
def config() -> HooktideConfig:
    return load_config(REPO / "hooktide.yaml")


def test_candidates_are_each_rule_whose_id_derives_from_the_delivery_id(
    config: HooktideConfig,
) -> None:
    stripe = config.route("stripe")
    found = [(t.name, wid) for t, wid in candidates([stripe], "evt_1")]
    assert found == [
        ("stripe.checkout", "stripe-checkout-evt_1"),
        ("stripe.invoice-paid", "stripe-invoice-paid-evt_1"),
        ("stripe.ledger", "stripe-ledger-evt_1"),
    ]
    github = config.route("github")
    assert candidates([github], "x") == []  # both rules read their id from the body


def test_a_rules_route_filter_is_one_clause_per_target(config: HooktideConfig) -> None:
    query = Filter(route=config.route("github")).query(config)
    assert query == (
        "((WorkflowType = 'DeployWorkflow' AND TaskQueue = 'hooktide' AND WorkflowId STARTS_WITH "
        "'deploy-') OR (WorkflowType = 'PullRequestWorkflow' AND TaskQueue = 'hooktide' AND "
        "WorkflowId STARTS_WITH 'pr-'))"
    )
    every = Filter().query(config)
    assert "'LedgerWorkflow'" in every and "'OrderWorkflow'" in every


def test_a_given_workflow_id_belongs_to_the_longest_matching_prefix(config: HooktideConfig) -> None:
    stripe = config.route("stripe")
    assert target_for(stripe, "stripe-ledger-evt_1").rule == "ledger"
    assert target_for(stripe, "stripe-invoice-paid-evt_1").rule == "invoice-paid"
