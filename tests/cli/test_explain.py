"""`hooktide explain`: every example rule of hooktide.yaml, on the senders' own payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.repo import REPO
from webhook_gateway.cli.main import main

GITHUB = REPO / "tests" / "fixtures" / "providers" / "github"
STRIPE = REPO / "tests" / "fixtures" / "providers" / "stripe"


@pytest.fixture(autouse=True)
def shipped_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKTIDE_CONFIG", str(REPO / "hooktide.yaml"))


def explain(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["explain", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("route", "file", "headers", "chosen", "outcome"),
    [
        ("github", GITHUB / "push.json", ["X-GitHub-Event: push"], ["deploy-main"], "sent"),
        ("github", GITHUB / "push-master.json", ["X-GitHub-Event: push"], [], "ignored"),
        (
            "github",
            GITHUB / "pull_request.opened.json",
            ["X-GitHub-Event: pull_request"],
            ["pull-requests"],
            "sent",
        ),
        (
            "github",
            GITHUB / "pull_request.closed.json",
            ["x-github-event:pull_request"],
            ["pull-requests"],
            "sent",
        ),
        ("github", GITHUB / "ping.json", ["X-GitHub-Event: ping"], [], "ignored"),
        ("stripe", STRIPE / "checkout.session.completed.json", [], ["checkout"], "sent"),
        ("stripe", STRIPE / "invoice.paid.json", [], ["invoice-paid", "ledger"], "sent"),
        ("stripe", STRIPE / "invoice.payment_failed.json", [], ["ledger"], "sent"),
        ("stripe", STRIPE / "customer.created.json", [], [], "ignored"),
    ],
)
def test_every_example_rule_is_explained(
    capsys: pytest.CaptureFixture[str],
    route: str,
    file: Any,
    headers: list[str],
    chosen: list[str],
    outcome: str,
) -> None:
    flags = [flag for header in headers for flag in ("--header", header)]
    code, report = explain(capsys, route, str(file), *flags)
    assert code == 0
    assert report["outcome"] == outcome
    assert [r["rule"] for r in report["rules"] if r["chosen"]] == chosen
    assert [t["rule"] for t in report["targets"]] == chosen
    assert all("workflow_id" in t for t in report["targets"])


def test_the_deploy_rule_shows_its_workflow_id_and_projected_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = json.loads((GITHUB / "push.json").read_text())
    _, report = explain(
        capsys, "github", str(GITHUB / "push.json"), "--header", "X-GitHub-Event: push"
    )
    [target] = report["targets"]
    assert target["workflow_id"] == f"deploy-{body['after']}"
    assert target["input"] == {
        "sha": body["after"],
        "repo": body["repository"]["full_name"],
        "pusher": body["pusher"]["name"],
    }


def test_the_text_report_says_why_a_rule_did_not_match(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    code = main(
        ["explain", "github", str(GITHUB / "push-master.json"), "--header", "X-GitHub-Event: push"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "deploy-main" in out and "condition `body.ref == 'refs/heads/main'` is false" in out
    assert "outcome: ignored" in out


def test_a_schema_mismatch_is_explained_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    order = tmp_path / "order.json"
    order.write_text(json.dumps({"id": "A-1", "customer": {"id": "c"}, "lines": []}))
    code, report = explain(capsys, "orders", str(order), "--header", "webhook-id: msg_1")
    assert code == 1
    assert report["outcome"] == "rejected"
    assert {e["pointer"] for e in report["schema_errors"]} == {"/customer", "/lines"}


def test_bad_arguments_name_the_fix(capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    assert main(["explain", "nope", str(GITHUB / "ping.json")]) == 1
    assert "No route named 'nope'; the routes are:" in capsys.readouterr().err
    assert main(["explain", "github", str(GITHUB / "ping.json"), "--header", "no-colon"]) == 1
    assert "must be NAME:VALUE" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main(["explain", "github", str(broken)]) == 1
    assert "not valid JSON" in capsys.readouterr().err


def test_the_route_table_lists_each_rule(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["routes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    [deploy] = [line for line in lines if "deploy-main" in line]
    assert "push if body.ref == 'refs/heads/main'" in deploy
    assert "DeployWorkflow@hooktide" in deploy
    [github] = [line for line in lines if line.strip().startswith("github ")]
    assert "rules (first)" in github and "otherwise: ignore" in github
