"""The GitHub and Stripe example workflows, fed the vendored sender payloads
(tests/fixtures/providers) as the gateway would hand them over, on the time-skipping server;
the tests that need the route file's rules too send the payloads through the gateway with
the testing kit (`hooktide`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jmespath
import pytest
import stripe
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.support import repo
from tests.support.polling import eventually
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.testing import KitFactory
from workflows.example.github import (
    INVALID_DEPLOY_REQUEST,
    ROLLOUT,
    DeployWorkflow,
    PullRequestState,
    PullRequestWorkflow,
)
from workflows.example.plugin import WORKFLOWS
from workflows.example.stripe import (
    INVALID_STRIPE_EVENT,
    CheckoutWorkflow,
    InvoiceWorkflow,
    LedgerWorkflow,
)

PROVIDERS = repo.REPO / "tests" / "fixtures" / "providers"
ROUTE_FILE = repo.REPO / "hooktide.yaml"
EXAMPLES = "workflows.example.plugin"
GITHUB_PR = {"X-GitHub-Event": "pull_request"}
#: The `deploy-main` rule of the GitHub route: its condition and its projection, both over
#: what the gateway's rules read (`body`, `headers`, `event_type`, ...).
DEPLOY_WHEN = "body.ref == 'refs/heads/main'"
DEPLOY_INPUT = "{sha: body.after, repo: body.repository.full_name, pusher: body.pusher.name}"
PUSHED = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
CUSTOMER = "cus_TbR4kX9mQw2ZsL"


def payload(sender: str, name: str) -> Any:
    return json.loads((PROVIDERS / sender / f"{name}.json").read_text(encoding="utf-8"))


def delivery(
    route: str, event_type: str, body: Any, *, rule: str, delivery_id: str | None = None
) -> WebhookEvent:
    return WebhookEvent(
        route=route,
        delivery_id=delivery_id or uuid.uuid4().hex,
        received_at=datetime.now(UTC),
        body=body,
        event_type=event_type,
        rule=rule,
    )


def pull_request(name: str, delivery_id: str | None = None) -> WebhookEvent:
    """A GitHub event as the `pull-requests` rule hands it over (the whole body)."""
    body = payload("github", name)
    return delivery("github", name, body, rule="pull-requests", delivery_id=delivery_id)


def pull_request_body(action: str, node_id: str) -> Any:
    """The fixture of `pull_request.<action>`, as pull request `node_id`."""
    body = payload("github", f"pull_request.{action}")
    body["pull_request"]["node_id"] = node_id
    return body


def from_stripe(name: str, rule: str, body: Any = None) -> WebhookEvent:
    """A Stripe event as rule `rule` hands it over: the fixture, or `body` in its place."""
    return delivery("stripe", name, body or payload("stripe", name), rule=rule)


def deploy_body(name: str = "push") -> Any:
    return jmespath.search(DEPLOY_INPUT, {"body": payload("github", name), "event_type": "push"})


@pytest.fixture
async def queue(time_skipping: WorkflowEnvironment) -> AsyncIterator[str]:
    """A task queue served by a worker with every workflow of worker.py; these examples call
    no activity, so it needs neither settings nor the route file."""
    name = f"providers-{uuid.uuid4().hex[:8]}"
    async with Worker(time_skipping.client, task_queue=name, workflows=WORKFLOWS):
        yield name


@pytest.fixture
async def left_open(ts_client: Client) -> AsyncIterator[list[str]]:
    """Ids of workflows a failing test would leave running; terminated when it ends. Left
    running without their worker, their next timer would stop the shared time-skipping
    server from skipping time for every later test."""
    ids: list[str] = []
    yield ids
    for workflow_id in ids:
        handle = ts_client.get_workflow_handle(workflow_id)
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate(reason="the test ended")


async def failure(handle: WorkflowHandle[Any, Any]) -> ApplicationError:
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    cause = raised.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause


# -- the fixtures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("pull_request.opened", "pull_request"),
        ("pull_request.synchronize", "pull_request"),
        ("pull_request.closed", "pull_request"),
        ("issues.opened", "issue"),
        ("ping", "hook"),
        ("push", "pusher"),
    ],
)
def test_github_payload_is_the_event_its_file_names(name: str, subject: str) -> None:
    body = payload("github", name)
    _, _, action = name.partition(".")
    assert body.get("action") == (action or None)
    assert subject in body


def test_deploy_rule_takes_the_push_to_main_and_not_the_push_to_master() -> None:
    assert jmespath.search(DEPLOY_WHEN, {"body": payload("github", "push")}) is True
    assert jmespath.search(DEPLOY_WHEN, {"body": payload("github", "push-master")}) is False
    assert deploy_body() == {
        "sha": PUSHED,
        "repo": "Codertocat/Hello-World",
        "pusher": "Codertocat",
    }


#: Stripe's types in the `stripe` package, by the `object` a payload's dict names.
STRIPE_TYPES: dict[str, type[stripe.StripeObject]] = {
    "event": stripe.Event,
    "checkout.session": stripe.checkout.Session,
    "invoice": stripe.Invoice,
    "customer": stripe.Customer,
    "list": stripe.ListObject,
    "line_item": stripe.InvoiceLineItem,
}


def _nested_type(hint: Any) -> type[stripe.StripeObject] | None:
    """The one typed Stripe object a field's annotation names (`Optional[Session.TotalDetails]`)."""
    if isinstance(hint, type) and issubclass(hint, stripe.StripeObject):
        return None if hint is stripe.StripeObject else hint
    found = {t for arg in getattr(hint, "__args__", ()) if (t := _nested_type(arg))}
    return found.pop() if len(found) == 1 else None


def unknown_fields(data: Any, kind: type[stripe.StripeObject] | None, where: str = "") -> list[str]:
    """Field names in `data` that the stripe package's type for it does not declare."""
    if isinstance(data, list):
        return [
            f for i, item in enumerate(data) for f in unknown_fields(item, kind, f"{where}{i}.")
        ]
    if not isinstance(data, dict):
        return []
    named = data.get("object")
    if isinstance(named, str):
        kind = STRIPE_TYPES.get(named, kind)
    if kind is None:
        return []
    fields = kind.__annotations__
    unknown = [f"{where}{key}" for key in data if key not in fields and key != "object"]
    for key, value in data.items():
        if key in fields:
            nested = _nested_type(fields[key])
            unknown += unknown_fields(value, nested, f"{where}{key}.")
    return unknown


STRIPE_PAYLOADS = sorted(p.stem for p in (PROVIDERS / "stripe").glob("*.json"))


@pytest.mark.parametrize("name", STRIPE_PAYLOADS)
def test_stripe_payload_has_only_fields_stripes_own_types_declare(name: str) -> None:
    body = payload("stripe", name)
    assert body["type"] == name
    assert body["api_version"] == stripe.api_version
    assert unknown_fields(body, stripe.Event) == []


def test_the_stripe_field_check_finds_an_invented_field() -> None:
    body = payload("stripe", "invoice.paid")
    body["data"]["object"]["amount_payed"] = 1
    body["data"]["object"]["lines"]["data"][0]["period"]["begin"] = 1
    assert unknown_fields(body, stripe.Event) == [
        "data.object.amount_payed",
        "data.object.lines.data.0.period.begin",
    ]


# -- GitHub ----------------------------------------------------------------------------------


async def test_deploy_returns_the_pushed_commit_after_the_rollout(
    ts_client: Client, queue: str
) -> None:
    event = delivery("github", "push", deploy_body(), rule="deploy-main")
    deployment = await ts_client.execute_workflow(
        DeployWorkflow.run, event, id=f"deploy-{PUSHED}-{uuid.uuid4().hex[:6]}", task_queue=queue
    )
    assert deployment.model_dump(include={"sha", "repo", "pusher"}) == deploy_body()
    assert deployment.sha == PUSHED
    assert deployment.finished_at - deployment.started_at >= ROLLOUT


async def test_deploy_of_a_body_without_sha_fails_once_even_with_a_retry_policy(
    ts_client: Client, queue: str
) -> None:
    body = {k: v for k, v in deploy_body().items() if k != "sha"}
    handle = await ts_client.start_workflow(
        DeployWorkflow.run,
        delivery("github", "push", body, rule="deploy-main"),
        id=uuid.uuid4().hex,
        task_queue=queue,
        retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
    )
    error = await failure(handle)
    assert (error.type, error.non_retryable) == (INVALID_DEPLOY_REQUEST, True)
    assert "sha: Field required" in error.message
    history = await handle.fetch_history()
    failed = history.events[-1].workflow_execution_failed_event_attributes
    assert failed.new_execution_run_id == ""  # not retried
    assert not any(e.HasField("timer_started_event_attributes") for e in history.events)


async def test_pull_request_accumulates_its_events_once_each_and_completes_when_closed(
    ts_client: Client, queue: str, left_open: list[str]
) -> None:
    workflow_id = f"pr-{uuid.uuid4().hex[:8]}"
    left_open.append(workflow_id)

    async def deliver(
        name: str, delivery_id: str
    ) -> WorkflowHandle[PullRequestWorkflow, PullRequestState]:
        """Signal-with-start, as the gateway does for every event of the rule."""
        return await ts_client.start_workflow(
            PullRequestWorkflow.run,
            id=workflow_id,
            task_queue=queue,
            start_signal="webhook",
            start_signal_args=[pull_request(name, delivery_id)],
        )

    handles = [
        await deliver("pull_request.opened", "d-1"),
        await deliver("pull_request.synchronize", "d-2"),
        await deliver("pull_request.synchronize", "d-2"),  # GitHub redelivered it
        await deliver("issues.opened", "d-3"),  # not a pull request event: ignored
    ]
    assert len({h.result_run_id for h in handles}) == 1  # one run for the pull request
    handle = handles[0]

    async def current() -> PullRequestState:
        return await handle.query(PullRequestWorkflow.state)

    state: PullRequestState = await eventually(current, lambda s: s.ignored == ["d-3"])
    assert [(e.delivery_id, e.event_type) for e in state.events] == [
        ("d-1", "pull_request.opened"),
        ("d-2", "pull_request.synchronize"),
    ]
    assert {(e.number, e.title, e.head_sha) for e in state.events} == {
        (2, "Update the README with new information.", HEAD)
    }
    assert (state.status, state.repo, state.number) == ("open", "Codertocat/Hello-World", 2)
    assert state.head_sha == HEAD

    await deliver("pull_request.closed", "d-4")
    final = await handle.result()
    assert final.status == "closed"
    assert [e.action for e in final.events] == ["opened", "synchronize", "closed"]
    assert final.merged is False
    assert final.workflow_id == workflow_id


async def test_pull_request_gives_up_thirty_days_after_its_last_event(
    hooktide: KitFactory,
) -> None:
    """Through the route file's `github` route, whose `pull-requests` rule signals-with-start
    one workflow per pull request."""
    if not hooktide.environment.supports_time_skipping:
        pytest.skip("fifty days are skipped only on the time-skipping server")
    node_id = f"PR_{uuid.uuid4().hex}"
    async with hooktide(routes=ROUTE_FILE, modules=[EXAMPLES]) as kit:
        opened = await kit.send("github", pull_request_body("opened", node_id), GITHUB_PR)
        assert opened.status == 202, opened
        await kit.sleep(timedelta(days=20))
        synced = await kit.send("github", pull_request_body("synchronize", node_id), GITHUB_PR)
        state = await kit.result(opened, result_type=PullRequestState)
        described = await kit.workflow(opened).describe()

    assert {a.json["targets"][0]["workflow_id"] for a in (opened, synced)} == {f"pr-{node_id}"}
    assert state.status == "idle"
    assert [e.action for e in state.events] == ["opened", "synchronize"]
    assert described.close_time is not None
    idle = described.close_time - state.events[-1].at
    assert timedelta(days=30) <= idle < timedelta(days=30, minutes=1)
    assert described.close_time - described.start_time > timedelta(days=50)


# -- Stripe ----------------------------------------------------------------------------------


async def test_checkout_returns_the_session_its_customer_and_amount(
    ts_client: Client, queue: str
) -> None:
    checkout = await ts_client.execute_workflow(
        CheckoutWorkflow.run,
        from_stripe("checkout.session.completed", "checkout"),
        id=uuid.uuid4().hex,
        task_queue=queue,
    )
    assert checkout.event_id == "evt_1Sx7pMH4nV2pRm8TgH2kLq9w"
    assert checkout.session.startswith("cs_test_b1Ykq7")
    assert (checkout.customer, checkout.client_reference_id) == (CUSTOMER, "order-1042")
    assert (checkout.amount_total, checkout.currency, checkout.fulfil) == (4900, "usd", True)


async def test_checkout_paid_later_is_not_fulfilled_yet(ts_client: Client, queue: str) -> None:
    body = payload("stripe", "checkout.session.completed")
    body["data"]["object"]["payment_status"] = "unpaid"
    checkout = await ts_client.execute_workflow(
        CheckoutWorkflow.run,
        from_stripe("checkout.session.completed", "checkout", body),
        id=uuid.uuid4().hex,
        task_queue=queue,
    )
    assert (checkout.payment_status, checkout.fulfil) == ("unpaid", False)


async def test_a_paid_invoice_goes_to_the_invoice_and_the_ledger_workflow(
    hooktide: KitFactory,
) -> None:
    """`fan_out: all`: the route file's `stripe` rules `invoice-paid` and `ledger` both take
    invoice.paid."""
    async with hooktide(routes=ROUTE_FILE, modules=[EXAMPLES]) as kit:
        ack = await kit.send("stripe", payload("stripe", "invoice.paid"))
        assert [t["rule"] for t in ack.json["targets"]] == ["invoice-paid", "ledger"], ack
        paid = await kit.result(ack, rule="invoice-paid")
        entry = await kit.result(ack, rule="ledger")

    assert paid == {
        "event_id": "evt_1Sx8bTH4nV2pRm8TnW5xC0aZ",
        "invoice": "in_1Sx8bQH4nV2pRm8TfR3dK6uY",
        "number": "7F3A9C21-0007",
        "customer": CUSTOMER,
        "amount_paid": 2000,
        "currency": "eur",
    }
    assert entry == {
        "event_id": "evt_1Sx8bTH4nV2pRm8TnW5xC0aZ",
        "invoice": "in_1Sx8bQH4nV2pRm8TfR3dK6uY",
        "event_type": "invoice.paid",
        "amount": 2000,
        "currency": "eur",
    }


async def test_a_failed_invoice_payment_is_a_ledger_entry_too(
    ts_client: Client, queue: str
) -> None:
    entry = await ts_client.execute_workflow(
        LedgerWorkflow.run,
        from_stripe("invoice.payment_failed", "ledger"),
        id=uuid.uuid4().hex,
        task_queue=queue,
    )
    assert (entry.invoice, entry.event_type, entry.amount, entry.currency) == (
        "in_1Sy2hBH4nV2pRm8Tj4eL9wTv",
        "invoice.payment_failed",
        2000,
        "eur",
    )


def _without_amount_paid(body: Any) -> Any:
    del body["data"]["object"]["amount_paid"]
    return body


def _amount_paid_as_text(body: Any) -> Any:
    body["data"]["object"]["amount_paid"] = "2000"
    return body


@pytest.mark.parametrize(
    ("spoil", "problem"),
    [
        (_without_amount_paid, "data.object.amount_paid: Field required"),
        (_amount_paid_as_text, "data.object.amount_paid: Input should be a valid integer"),
        (lambda body: body["data"], "id: Field required"),
        (lambda body: None, "body: Input should be a valid dictionary"),
    ],
    ids=["missing-field", "field-of-wrong-type", "not-an-event", "no-body"],
)
async def test_an_invoice_event_the_workflow_cannot_read_fails_it_for_good(
    ts_client: Client, queue: str, spoil: Callable[[Any], Any], problem: str
) -> None:
    body = spoil(payload("stripe", "invoice.paid"))
    handle = await ts_client.start_workflow(
        InvoiceWorkflow.run,
        delivery("stripe", "invoice.paid", body, rule="invoice-paid"),
        id=uuid.uuid4().hex,
        task_queue=queue,
    )
    error = await failure(handle)
    assert (error.type, error.non_retryable) == (INVALID_STRIPE_EVENT, True)
    assert problem in error.message
