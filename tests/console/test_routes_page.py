"""The console's routes page and explain form over HTTP, on a real gateway: the route table
without a secret, and an explanation that is `hooktide explain`'s own report."""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from temporalio.client import Client

from tests.support.console_session import OPERATOR_TOKEN, signed_in
from tests.support.gateway import serve_gateway
from tests.support.hooktide import clean_env, hooktide
from tests.support.routes import ORDERS_VERIFIER, SECRET
from tests.support.signing import ORDERS_SECRET
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings

ROUTES: dict[str, Any] = {
    "routes": {
        "payments": {
            "path": "/webhooks/payments",
            "verifier": ORDERS_VERIFIER,
            "event_type": {"jmespath": "type"},
            "fan_out": "all",
            "rules": [
                {
                    "name": "big-payment",
                    "events": ["payment.succeeded"],
                    "when": "body.data.amount > `1000`",
                    "workflow": "BigPaymentWorkflow",
                    "task_queue": "payments-big",
                    "workflow_id": {"jmespath": "data.id", "prefix": "big-"},
                    "input": "{id: body.data.id, amount: body.data.amount}",
                },
                {"name": "ledger", "events": ["payment.*"], "workflow": "LedgerWorkflow"},
            ],
        },
        "orders": {
            "path": "/webhooks/orders",
            "verifier": ORDERS_VERIFIER,
            "workflow": "OrderWorkflow",
            "workflow_id": {"prefix": "order-"},
        },
    }
}
EXPLAIN_JSON = re.compile(r'<pre id="explain-json">(.*?)</pre>', re.DOTALL)


@dataclass
class Console:
    http: httpx.AsyncClient
    csrf: str
    route_file: Path


@pytest.fixture(scope="module")
async def console(
    client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Console]:
    route_file = tmp_path_factory.mktemp("routes") / "hooktide.yaml"
    route_file.write_text(yaml.safe_dump(ROUTES), encoding="utf-8")
    settings = Settings(HOOKTIDE_OPERATOR_TOKEN=OPERATOR_TOKEN)
    async with serve_gateway(parse_config(ROUTES), settings, client=client) as http:
        yield Console(http, await signed_in(http), route_file)


def payment(payment_id: str, amount: int) -> str:
    body = {"type": "payment.succeeded", "data": {"id": payment_id, "amount": amount}}
    return json.dumps(body, indent=1)


async def explained(console: Console, body: str, **fields: str) -> httpx.Response:
    form = {
        "csrf": console.csrf,
        "route": "payments",
        "headers": "Content-Type: application/json\r\nwebhook-id: msg_explain_1",
        "query": "",
        "path_params": "",
        "body": body,
    }
    return await console.http.post("/console/routes/explain", data=form | fields)


def report_of(page: str) -> Any:
    found = EXPLAIN_JSON.search(page)
    assert found, "no report on the page"
    return json.loads(html.unescape(found.group(1)))


async def test_the_route_table_shows_routes_rules_and_targets_and_no_secret(
    console: Console,
) -> None:
    page = await console.http.get("/console/routes")

    assert page.status_code == 200
    text = page.text
    for shown in (
        "/webhooks/payments",
        "big-payment",
        "payment.succeeded",
        "body.data.amount &gt; `1000`",
        "BigPaymentWorkflow",
        "payments-big",
        "big-&lt;body field data.id&gt;",
        "LedgerWorkflow",
        "fan_out <strong>all</strong>",
        "order-&lt;delivery id&gt;",
        "standard_webhooks",
    ):
        assert shown in text, shown
    assert ORDERS_SECRET not in text
    assert ORDERS_SECRET.removeprefix("whsec_") not in text
    assert SECRET["env"] not in text  # not even where the secret is read from


async def test_an_explanation_is_the_report_hooktide_explain_prints(
    console: Console, tmp_path: Path
) -> None:
    body = payment(f"pay_{uuid.uuid4().hex[:6]}", 5000)
    sample = tmp_path / "payment.json"
    sample.write_text(body, encoding="utf-8")
    env = clean_env(HOOKTIDE_CONFIG=str(console.route_file), TEST_ORDERS_SECRET=ORDERS_SECRET)

    page = await explained(console, body)
    cli = await hooktide(
        "explain", "payments", str(sample), "--header", "webhook-id: msg_explain_1", "--json",
        env=env,
    )  # fmt: skip

    assert page.status_code == 200, page.text
    assert cli.code == 0, cli.err
    report = report_of(page.text)
    assert report == json.loads(cli.out)
    assert [t["rule"] for t in report["targets"]] == ["big-payment", "ledger"]
    big = report["targets"][0]
    assert big["workflow_id"] in page.text and big["workflow_id"].startswith("big-pay_")
    assert 'id="explain-outcome">sent' in page.text


async def test_a_rule_whose_condition_is_false_says_why(console: Console) -> None:
    page = await explained(console, payment("pay_small", 20))

    report = report_of(page.text)
    assert [t["rule"] for t in report["targets"]] == ["ledger"]
    [big] = [r for r in report["rules"] if r["rule"] == "big-payment"]
    assert big["matched"] is False
    assert html.escape(big["reason"]) in page.text


async def test_markup_in_an_explained_body_renders_as_text(console: Console) -> None:
    marker = f"<script>alert('{uuid.uuid4().hex[:6]}')</script>"

    page = await explained(console, payment(marker, 5000))

    assert page.status_code == 200
    assert marker not in page.text
    assert "&lt;script&gt;alert(" in page.text
    assert "<script" not in page.text


async def test_a_body_that_is_not_json_is_a_clear_400_on_the_page(console: Console) -> None:
    page = await explained(console, '{"type": "payment.succeeded",')

    assert page.status_code == 400
    assert "not valid JSON" in page.text
    assert 'name="body"' in page.text  # the form is still there, with what was sent
    assert "payment.succeeded" in page.text


async def test_a_header_line_without_a_colon_is_named(console: Console) -> None:
    page = await explained(console, payment("p", 1), headers="webhook-id msg_1")

    assert page.status_code == 400
    assert "Header line 1" in page.text


async def test_explain_is_a_post_that_needs_the_csrf_token(console: Console) -> None:
    page = await explained(console, payment("p", 1), csrf="forged")

    assert page.status_code == 403
    assert "explain-json" not in page.text
