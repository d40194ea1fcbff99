"""Routing rules end to end: hooktide.yaml's GitHub and Stripe routes, real sender payloads
signed as the senders sign them, a real gateway and the dev server with a real worker."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml
from temporalio import client as tc
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from tests.support.gateway import GatewayClient, serve_gateway
from tests.support.polling import eventually
from tests.support.repo import REPO
from tests.support.temporal import workflow_exists
from webhook_gateway.config.routes import parse_config
from webhook_gateway.contracts.flow import QUEUE_QUERY, SequencerView, sequencer_workflow_id
from webhook_gateway.observability.metrics import with_interceptors

pytestmark = pytest.mark.slow

FIXTURES = REPO / "tests" / "fixtures" / "providers"
GITHUB_SECRET = "github-e2e-secret-0123456789"
STRIPE_SECRET = "whsec_stripe-e2e-secret-0123456789"
OPERATOR_TOKEN = "operator-e2e-token-0123456789"


def fixture(sender: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / sender / f"{name}.json").read_text())
    return data


def github(event: str, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    mac = hmac.new(GITHUB_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": str(uuid.uuid4()),
        "x-hub-signature-256": f"sha256={mac}",
    }


def stripe(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    now = int(time.time())
    mac = hmac.new(STRIPE_SECRET.encode(), f"{now}.".encode() + raw, hashlib.sha256).hexdigest()
    return raw, {"content-type": "application/json", "stripe-signature": f"t={now},v1={mac}"}


def stripe_event(name: str) -> dict[str, Any]:
    body = fixture("stripe", name)
    body["id"] = f"evt_{uuid.uuid4().hex}"
    return body


async def started_by_sequencer(client: Client, target: str, customer: str, workflow_id: str) -> int:
    """How often the customer's sequencer for `target` (hooktide.yaml orders the invoice rules
    per customer) asked to start `workflow_id`, once that workflow exists."""
    assert await eventually(lambda: workflow_exists(client, workflow_id), bool)
    handle = client.get_workflow_handle(sequencer_workflow_id(target, customer))
    await handle.query(QUEUE_QUERY, result_type=SequencerView)  # it has read every signal
    history = await handle.fetch_history()
    return sum(
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id == workflow_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    )


def shipped_routes(task_queue: str) -> Any:
    """hooktide.yaml's own github and stripe routes, on this session's task queue."""
    data = yaml.safe_load((REPO / "hooktide.yaml").read_text())
    routes = {name: copy.deepcopy(data["routes"][name]) for name in ("github", "stripe")}
    for body in routes.values():
        for rule in body["rules"]:
            rule["task_queue"] = task_queue
    return parse_config({"routes": routes}, base_dir=REPO)


@pytest.fixture
async def gateway(
    task_queue: str, client: Client, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[GatewayClient]:
    monkeypatch.setenv("HOOKTIDE_GITHUB_SECRET", GITHUB_SECRET)
    monkeypatch.setenv("HOOKTIDE_STRIPE_SECRET", STRIPE_SECRET)
    monkeypatch.setenv("HOOKTIDE_OPERATOR_TOKEN", OPERATOR_TOKEN)
    async with serve_gateway(shipped_routes(task_queue), client=client) as http:
        yield http


def rpc_calls(http: GatewayClient) -> float:
    registry = http.app.state.metrics.registry
    return sum(
        sample.value
        for metric in registry.collect()
        if metric.name == "hooktide_temporal_rpc_seconds"
        for sample in metric.samples
        if sample.name.endswith("_count")
    )


def fresh_push(name: str = "push") -> dict[str, Any]:
    body = fixture("github", name)
    body["after"] = uuid.uuid4().hex + uuid.uuid4().hex[:8]
    return body


async def test_a_push_to_main_starts_one_deployment_with_the_projected_input(
    gateway: GatewayClient, client: Client
) -> None:
    body = fresh_push()
    raw, headers = github("push", body)
    answer = await gateway.post("/webhooks/github", content=raw, headers=headers)
    assert answer.status_code == 202, answer.text
    ack = answer.json()
    assert ack["event_type"] == "push"
    assert ack["delivery_id"] == hashlib.sha256(raw).hexdigest()
    [target] = ack["targets"]
    assert target["rule"] == "deploy-main"
    assert target["workflow_id"] == f"deploy-{body['after']}"
    assert target["duplicate"] is False
    result = await client.get_workflow_handle(target["workflow_id"]).result()
    assert result["sha"] == body["after"]
    assert result["repo"] == body["repository"]["full_name"]
    assert result["pusher"] == body["pusher"]["name"]
    history = await client.get_workflow_handle(target["workflow_id"]).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    carried = json.loads(started.input.payloads[0].data)
    assert carried["body"] == {
        "sha": body["after"],
        "repo": body["repository"]["full_name"],
        "pusher": body["pusher"]["name"],
    }
    assert "commits" not in json.dumps(carried)  # the raw payload stays out of the history
    # GitHub redelivers the same body under a fresh X-GitHub-Delivery: one deployment still.
    raw, again = github("push", body)
    second = await gateway.post("/webhooks/github", content=raw, headers=again)
    assert second.status_code == 202
    assert second.json()["targets"][0]["duplicate"] is True
    assert second.json()["targets"][0]["run_id"] == target["run_id"]


async def test_events_no_rule_takes_answer_200_and_touch_no_temporal_api(
    gateway: GatewayClient, client: Client
) -> None:
    before = rpc_calls(gateway)
    other_branch = fresh_push("push-master")
    for event, body in (
        ("push", other_branch),
        ("ping", fixture("github", "ping")),
        ("issues", fixture("github", "issues.opened")),
    ):
        raw, headers = github(event, body)
        answer = await gateway.post("/webhooks/github", content=raw, headers=headers)
        assert answer.status_code == 200, answer.text
        expected_type = "issues.opened" if event == "issues" else event
        assert answer.json() == {
            "delivery_id": hashlib.sha256(raw).hexdigest(),
            "event_type": expected_type,
            "ignored": True,
        }
    customer = stripe_event("customer.created")
    raw, headers = stripe(customer)
    answer = await gateway.post("/webhooks/stripe", content=raw, headers=headers)
    assert answer.json() == {
        "delivery_id": customer["id"],
        "event_type": "customer.created",
        "ignored": True,
    }
    assert rpc_calls(gateway) == before
    assert not await workflow_exists(client, f"deploy-{other_branch['after']}")
    metrics = (await gateway.get("/metrics")).text
    assert (
        'hooktide_requests_total{mode="rules",outcome="ignored",route="github",status="200"} 3.0'
        in metrics
    )


async def test_verification_runs_first_whether_or_not_a_rule_would_match(
    gateway: GatewayClient,
) -> None:
    for event, body in (("push", fresh_push()), ("ping", fixture("github", "ping"))):
        raw, headers = github(event, body)
        headers["x-hub-signature-256"] = "sha256=" + "0" * 64
        answer = await gateway.post("/webhooks/github", content=raw, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["type"].endswith("verification-failed/bad-signature")


async def test_pull_request_events_signal_with_start_one_workflow_per_pr(
    gateway: GatewayClient, client: Client
) -> None:
    node_id = f"PR_{uuid.uuid4().hex}"
    acks = []
    for name in ("pull_request.opened", "pull_request.synchronize", "pull_request.closed"):
        body = fixture("github", name)
        body["pull_request"]["node_id"] = node_id
        raw, headers = github("pull_request", body)
        answer = await gateway.post("/webhooks/github", content=raw, headers=headers)
        assert answer.status_code == 202, answer.text
        acks.append(answer.json())
    assert [a["event_type"] for a in acks] == [
        "pull_request.opened",
        "pull_request.synchronize",
        "pull_request.closed",
    ]
    assert {a["targets"][0]["workflow_id"] for a in acks} == {f"pr-{node_id}"}
    handle = client.get_workflow_handle(f"pr-{node_id}")
    state = await handle.result()
    assert [e["event_type"] for e in state["events"]] == [a["event_type"] for a in acks]
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


async def test_stripe_fan_out_starts_each_matching_rules_workflow(
    gateway: GatewayClient, client: Client
) -> None:
    invoice = stripe_event("invoice.paid")
    raw, headers = stripe(invoice)
    answer = await gateway.post("/webhooks/stripe", content=raw, headers=headers)
    assert answer.status_code == 202, answer.text
    ack = answer.json()
    assert ack["event_type"] == "invoice.paid"
    assert [(t["rule"], t["workflow_id"]) for t in ack["targets"]] == [
        ("invoice-paid", f"stripe-invoice-paid-{invoice['id']}"),
        ("ledger", f"stripe-ledger-{invoice['id']}"),
    ]
    # Ordered per customer: acked once the customer's sequencer holds it, started in its turn.
    assert {(t["run_id"], t["duplicate"]) for t in ack["targets"]} == {(None, None)}
    customer = invoice["data"]["object"]["customer"]
    for target in ack["targets"]:
        started = await started_by_sequencer(
            client, f"stripe.{target['rule']}", customer, target["workflow_id"]
        )
        assert started == 1
    paid = await client.get_workflow_handle(ack["targets"][0]["workflow_id"]).result()
    entry = await client.get_workflow_handle(ack["targets"][1]["workflow_id"]).result()
    assert paid["invoice"] == invoice["data"]["object"]["id"]
    assert entry["event_type"] == "invoice.paid"
    failed = stripe_event("invoice.payment_failed")
    raw, headers = stripe(failed)
    ack = (await gateway.post("/webhooks/stripe", content=raw, headers=headers)).json()
    assert [t["rule"] for t in ack["targets"]] == ["ledger"]
    assert await started_by_sequencer(
        client, "stripe.ledger", customer, f"stripe-ledger-{failed['id']}"
    )
    checkout = stripe_event("checkout.session.completed")
    raw, headers = stripe(checkout)
    ack = (await gateway.post("/webhooks/stripe", content=raw, headers=headers)).json()
    assert [t["rule"] for t in ack["targets"]] == ["checkout"]
    done = await client.get_workflow_handle(ack["targets"][0]["workflow_id"]).result()
    assert done["session"] == checkout["data"]["object"]["id"]
    # The operator's delivery lookup finds a rule's workflow from the delivery id.
    auth = {"authorization": f"Bearer {OPERATOR_TOKEN}"}
    found = await gateway.get(f"/deliveries/{checkout['id']}", headers=auth)
    assert found.status_code == 200, found.text
    assert found.json()["rule"] == "checkout" and found.json()["route"] == "stripe"
    assert found.json()["workflow_id"] == f"stripe-checkout-{checkout['id']}"


async def test_concurrent_redeliveries_start_each_target_once(
    gateway: GatewayClient, client: Client
) -> None:
    invoice = stripe_event("invoice.paid")
    raw, headers = stripe(invoice)
    answers = await asyncio.gather(
        *(gateway.post("/webhooks/stripe", content=raw, headers=headers) for _ in range(10))
    )
    assert [a.status_code for a in answers] == [202] * 10
    customer = invoice["data"]["object"]["customer"]
    for index, rule in enumerate(("invoice-paid", "ledger")):
        targets = [a.json()["targets"][index] for a in answers]
        assert {t["rule"] for t in targets} == {rule}
        [workflow_id] = {t["workflow_id"] for t in targets}
        # The customer's sequencer holds the ten as one delivery and starts its workflow once.
        assert await started_by_sequencer(client, f"stripe.{rule}", customer, workflow_id) == 1
        await client.get_workflow_handle(workflow_id).result()


class _FailStarts(tc.Interceptor):
    """Temporal refusing starts of one workflow type (or workflow id) while `down` is set:
    an outage that hits a fan-out between its targets."""

    def __init__(self, workflow: str) -> None:
        self.workflow = workflow
        self.down = True

    def intercept_client(self, next: tc.OutboundInterceptor) -> tc.OutboundInterceptor:
        return _Failing(next, self)


class _Failing(tc.OutboundInterceptor):
    def __init__(self, next: tc.OutboundInterceptor, owner: _FailStarts) -> None:
        super().__init__(next)
        self.owner = owner

    async def start_workflow(self, input: tc.StartWorkflowInput) -> tc.WorkflowHandle[Any, Any]:
        if self.owner.down and self.owner.workflow in (input.workflow, input.id):
            raise RPCError("injected outage", RPCStatusCode.UNAVAILABLE, b"")
        return await super().start_workflow(input)


async def test_an_outage_in_the_middle_of_a_fan_out_is_503_and_the_retry_completes_the_set(
    task_queue: str, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKTIDE_STRIPE_SECRET", STRIPE_SECRET)
    monkeypatch.setenv("HOOKTIDE_GITHUB_SECRET", GITHUB_SECRET)
    invoice = stripe_event("invoice.paid")
    customer = invoice["data"]["object"]["customer"]
    # The invoice rules are ordered per customer: the ledger's target is its sequencer.
    outage = _FailStarts(sequencer_workflow_id("stripe.ledger", customer))
    flaky = with_interceptors(client, outage)
    paid, ledger = f"stripe-invoice-paid-{invoice['id']}", f"stripe-ledger-{invoice['id']}"
    async with serve_gateway(shipped_routes(task_queue), client=flaky) as http:
        raw, headers = stripe(invoice)
        first = await http.post("/webhooks/stripe", content=raw, headers=headers)
        assert first.status_code == 503, first.text
        assert first.headers["retry-after"]
        assert await started_by_sequencer(client, "stripe.invoice-paid", customer, paid) == 1
        assert not await workflow_exists(client, ledger)
        outage.down = False
        raw, headers = stripe(invoice)  # Stripe's retry: the same event, signed anew
        retry = await http.post("/webhooks/stripe", content=raw, headers=headers)
        assert retry.status_code == 202, retry.text
        assert [t["rule"] for t in retry.json()["targets"]] == ["invoice-paid", "ledger"]
        assert await started_by_sequencer(client, "stripe.ledger", customer, ledger) == 1
        # The retry reached the invoice-paid sequencer again: it ran its workflow once.
        await client.get_workflow_handle(paid).result()
        assert await started_by_sequencer(client, "stripe.invoice-paid", customer, paid) == 1


async def test_logs_carry_the_event_type_and_rules(
    gateway: GatewayClient, caplog: pytest.LogCaptureFixture
) -> None:
    invoice = stripe_event("invoice.paid")
    raw, headers = stripe(invoice)
    with caplog.at_level("INFO", logger="hooktide.gateway"):
        await gateway.post("/webhooks/stripe", content=raw, headers=headers)

    [record] = [r for r in caplog.records if getattr(r, "delivery_id", None) == invoice["id"]]
    assert record.event_type == "invoice.paid"  # type: ignore[attr-defined]
    assert record.rules == "invoice-paid,ledger"  # type: ignore[attr-defined]
    metrics = (await gateway.get("/metrics")).text
    assert 'hooktide_rule_targets_total{route="stripe",rule="ledger"}' in metrics
