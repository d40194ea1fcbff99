"""Routing rules in the route file: every mistake stops start-up, naming route, rule, field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.repo import REPO
from webhook_gateway.config.routes import load_config, parse_config
from webhook_gateway.contracts.errors import ConfigError

GITHUB = {"type": "github", "secret": {"env": "TEST_GITHUB_SECRET"}}
STRIPE = {"type": "stripe", "secret": {"env": "TEST_STRIPE_SECRET"}}


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GITHUB_SECRET", "github-test-secret-0123456789")
    monkeypatch.setenv("TEST_STRIPE_SECRET", "whsec_stripe-test-secret-0123456789")


def rule(name: str = "one", **extra: Any) -> dict[str, Any]:
    return {"name": name, "workflow": "OneWorkflow", **extra}


def route(*rules: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"path": "/webhooks/stripe", "verifier": STRIPE, "rules": list(rules), **extra}


def error_for(body: dict[str, Any], *, base_dir: Path | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config({"routes": {"stripe": body}}, base_dir=base_dir)
    return str(info.value)


def test_a_route_with_rules_has_one_target_per_rule() -> None:
    config = parse_config(
        {"routes": {"stripe": route(rule("a", events=["invoice.*"]), rule("b", task_queue="q"))}}
    )
    targets = config.route("stripe").targets
    assert list(targets) == ["a", "b"]
    assert targets["a"].name == "stripe.a"
    assert targets["a"].workflow_id.prefix == "stripe-a-"  # derived from delivery id and rule
    assert targets["a"].task_queue == "hooktide"
    assert targets["b"].task_queue == "q"


def test_the_shipped_provider_routes_load() -> None:
    config = load_config(REPO / "hooktide.yaml")
    assert [r.name for r in config.route("github").rules] == ["deploy-main", "pull-requests"]
    assert config.route("stripe").fan_out == "all"
    assert config.route("orders").schema_file == str(REPO / "schemas" / "order.json")


def test_routing_fields_belong_on_the_rules() -> None:
    message = error_for(route(rule(), workflow="OrderWorkflow"))
    assert "route 'stripe' has rules, so field workflow belongs on each rule" in message
    assert "field mode belongs" in error_for(route(rule(), mode="signal"))


def test_rule_names_are_unique_and_otherwise_names_one() -> None:
    assert "repeated: ['a']" in error_for(route(rule("a"), rule("a")))
    message = error_for(route(rule("a"), otherwise="b"))
    assert "otherwise is 'b'; use ignore, reject or one of the route's rules (a)" in message
    assert "field rules.0.name" in error_for(route(rule("no spaces")))


def test_a_condition_that_does_not_compile_names_route_rule_and_error() -> None:
    message = error_for(route(rule("a", when="body.ref == ")))
    assert "route 'stripe', field rules.0.when" in message
    assert "not a valid JMESPath expression" in message
    assert "field rules.0.input" in error_for(route(rule("a", input="{sha: }")))


def test_events_need_a_sender_that_names_its_event_type() -> None:
    body = {
        "path": "/webhooks/b",
        "verifier": {"type": "bearer", "token": {"env": "TEST_GITHUB_SECRET"}},
        "delivery_id": {"body_sha256": True, "unsigned": True},
        "rules": [rule("a", events=["x"])],
    }
    message = error_for(body)
    assert "names no event type" in message
    assert "event_type: {header: ...}" in message
    body["event_type"] = {"jmespath": "kind"}
    parse_config({"routes": {"b": body}})


def test_at_most_one_update_rule_when_every_rule_may_match() -> None:
    update = {"mode": "update", "workflow_id": {"jmespath": "data.object.id"}}
    message = error_for(route(rule("a", **update), rule("b", **update), fan_out="all"))
    assert "at most one rule may use mode update" in message
    assert "['a', 'b']" in message
    parse_config({"routes": {"stripe": route(rule("a", **update), rule("b", **update))}})


def test_each_rule_is_checked_like_a_route() -> None:
    assert "rule 'a': field batch is missing" in error_for(route(rule("a", mode="batch")))
    message = error_for(route(rule("a", mode="signal")))
    assert "rule 'a': mode 'signal' needs workflow_id" in message
    message = error_for(route(rule("a", workflow_id={"path_param": "nope"})))
    assert "workflow_id.path_param 'nope' is not a parameter" in message


def test_a_start_rule_deduping_on_an_unsigned_id_is_refused() -> None:
    body = {
        "path": "/webhooks/github",
        "verifier": GITHUB,
        "delivery_id": {"body_sha256": True},
        "rules": [rule("a", workflow_id={"header": "x-github-hook-id"})],
    }
    message = error_for(body)
    assert "rule 'a' workflow_id is the header x-github-hook-id" in message
    assert "does not sign" in message
    body["rules"] = [rule("a", workflow_id={"jmespath": "after"})]  # the signed body
    parse_config({"routes": {"github": body}})


def test_schemas_are_checked_at_start_relative_to_the_route_file(tmp_path: Path) -> None:
    (tmp_path / "ok.json").write_text(json.dumps({"type": "object", "required": ["id"]}))
    (tmp_path / "bad.json").write_text(json.dumps({"type": "objekt"}))
    (tmp_path / "broken.json").write_text("{")
    config = parse_config(
        {"routes": {"stripe": route(rule("a", schema="ok.json"))}}, base_dir=tmp_path
    )
    assert config.route("stripe").rule("a").schema_file == str(tmp_path / "ok.json")
    message = error_for(route(rule("a", schema="bad.json")), base_dir=tmp_path)
    assert "not a valid draft 2020-12 schema at type" in message
    assert "not valid JSON or YAML" in error_for(route(schema="broken.json"), base_dir=tmp_path)
    assert "cannot be read" in error_for(route(schema="missing.json"), base_dir=tmp_path)


def test_ack_templates_name_only_ack_fields() -> None:
    ack = {"status": 200, "content_type": "text/xml", "body": "<Response>$secret</Response>"}
    message = error_for(route(rule(), ack=ack))
    assert "names ['secret']; a template may use delivery_id" in message
    assert "field ack.status" in error_for(route(rule(), ack={"status": 302}))
    assert "not a valid template" in error_for(route(rule(), ack={"body": "$"}))
