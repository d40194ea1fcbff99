"""The operator API for flow control on the real dev server, with a real worker: a key whose
workflow failed is shown blocked by `GET /flow/{target}/{key}` and released by `POST
/flow/{target}/{key}/release`, with skip (the next events run, the failed one stays failed)
and with redrive (the failed one runs again under its own id, and the key goes on only once
that run has closed); 404 without a sequencer, 409 when not blocked, 503 while no worker
answers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from tests.support.flow_flows import FAIL, LOG, FlowProbeWorkflow, flow_probe_mark
from tests.support.gateway import GatewayClient, serve_gateway
from tests.support.polling import eventually
from tests.support.routes import ORDERS_VERIFIER
from tests.support.signing import signed
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings
from worker import WORKFLOWS, activities

TOKEN = "flow-operator-token-5c1e9a"
AUTH = {"authorization": f"Bearer {TOKEN}"}
KEY = "cus-7"
#: FAIL is read inside the workflow: the sandbox must see this process's set, not a copy.
RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("tests.support.flow_flows")
)


@dataclass
class Flow:
    http: GatewayClient
    client: Client
    route: str
    queue: str

    def worker(self) -> Worker:
        return Worker(
            self.client,
            task_queue=self.queue,
            workflows=[*WORKFLOWS, FlowProbeWorkflow],
            activities=[*activities(Settings(), []), flow_probe_mark],
            workflow_runner=RUNNER,
        )

    def workflow_id(self, seq: int) -> str:
        return f"{self.route}-{self.delivery_id(seq)}"

    def delivery_id(self, seq: int) -> str:
        return f"msg-{self.route}-{seq}"

    async def send(self, seq: int) -> httpx.Response:
        body = {"customer": KEY, "seq": seq, "n": seq, "ms": 10}
        raw, headers = signed(body, msg_id=self.delivery_id(seq))
        return await self.http.post(f"/webhooks/{self.route}", content=raw, headers=headers)

    async def view(self, key: str = KEY, **headers: str) -> httpx.Response:
        return await self.http.get(f"/flow/{self.route}/{key}", headers=headers or AUTH)

    async def release(self, body: Any) -> httpx.Response:
        return await self.http.post(f"/flow/{self.route}/{KEY}/release", json=body, headers=AUTH)


@pytest.fixture
async def flow(client: Client) -> AsyncIterator[Flow]:
    queue = f"flow-api-{uuid.uuid4().hex[:8]}"
    route = f"fa{uuid.uuid4().hex[:6]}"
    config = parse_config(
        {
            "routes": {
                route: {
                    "path": f"/webhooks/{route}",
                    "workflow": "FlowProbeWorkflow",
                    "task_queue": queue,
                    "delivery_id": {"header": "webhook-id"},
                    "workflow_id": {"prefix": f"{route}-"},
                    "verifier": ORDERS_VERIFIER,
                    "ordered": {"key": "body.customer", "by": "body.seq"},
                }
            }
        }
    )
    LOG.clear()
    FAIL.clear()
    settings = Settings(HOOKTIDE_OPERATOR_TOKEN=TOKEN)
    async with serve_gateway(config, settings, client=client, timeout=30) as http:
        yield Flow(http, client, route, queue)
    FAIL.clear()


async def blocked_view(flow: Flow) -> dict[str, Any]:
    answer = await eventually(
        flow.view, lambda r: r.status_code == 200 and r.json()["blocked"] is not None
    )
    assert answer.status_code == 200, answer.text
    view: dict[str, Any] = answer.json()
    assert view["blocked"] is not None, view
    return view


async def settled(flow: Flow, started: int) -> dict[str, Any]:
    """The view once `started` workflows have run and closed."""
    answer = await eventually(
        flow.view,
        lambda r: r.json().get("started") == started and r.json().get("running") == [],
        timeout=60,
    )
    view: dict[str, Any] = answer.json()
    return view


async def test_a_blocked_key_is_shown_and_released_with_skip(flow: Flow) -> None:
    FAIL.add(1)
    for seq in (3, 1, 2):  # shuffled: the sequencer runs them by `seq`
        assert (await flow.send(seq)).status_code == 202
    async with flow.worker():
        view = await blocked_view(flow)
        assert view["workflow_id"] == f"hooktide-flow-{flow.route}-{KEY}"
        assert (view["target"], view["key"]) == (flow.route, KEY)
        assert view["blocked"]["workflow_id"] == flow.workflow_id(1)
        assert view["blocked"]["delivery_id"] == flow.delivery_id(1)
        assert view["blocked"]["status"] == "failed"
        assert view["waiting"] == 2 and view["oldest_waiting_at"] is not None
        assert view["next_up"] == [flow.delivery_id(2), flow.delivery_id(3)]
        assert (view["running"], view["started"], view["last_order"]) == ([], 1, 1)
        assert LOG.order == [flow.workflow_id(1)]  # nothing else ran while blocked

        released = await flow.release({"action": "skip", "by": "test-operator"})
        assert released.status_code == 202, released.text
        assert released.json() == {
            "target": flow.route,
            "key": KEY,
            "sequencer": view["workflow_id"],
            "action": "skip",
            "workflow_id": flow.workflow_id(1),
            "delivery_id": flow.delivery_id(1),
            "redriven": None,
            "by": "test-operator",
        }
        after = await settled(flow, started=3)
        again = await flow.release({"action": "skip"})

    assert (after["blocked"], after["waiting"], after["last_order"]) == (None, 0, 3)
    assert LOG.order == [flow.workflow_id(s) for s in (1, 2, 3)]  # each once, in order
    skipped = await flow.client.get_workflow_handle(flow.workflow_id(1)).describe()
    assert skipped.status == WorkflowExecutionStatus.FAILED  # a skip leaves it as it was
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"].endswith("/flow-not-blocked")


async def test_a_redrive_runs_the_failed_workflow_again_before_the_key_goes_on(
    flow: Flow,
) -> None:
    FAIL.add(1)
    for seq in (1, 2, 3):
        assert (await flow.send(seq)).status_code == 202
    failed = flow.workflow_id(1)
    async with flow.worker():
        view = await blocked_view(flow)
        assert view["blocked"]["workflow_id"] == failed
        first_run = (await flow.client.get_workflow_handle(failed).describe()).run_id

        FAIL.discard(1)  # the downstream fault is fixed
        released = await flow.release({"action": "redrive"})
        assert released.status_code == 202, released.text
        redriven = released.json()["redriven"]
        assert redriven["workflow_id"] == failed
        assert redriven["run_id"] not in (None, first_run)
        after = await settled(flow, started=3)

    assert after["blocked"] is None and after["waiting"] == 0
    assert LOG.order == [failed, failed, flow.workflow_id(2), flow.workflow_id(3)]
    # The redriven run closed before the next event's workflow began.
    assert LOG.spans[failed][1] <= LOG.spans[flow.workflow_id(2)][0]
    handle = flow.client.get_workflow_handle(failed)
    assert await handle.result() == 1
    assert (await handle.describe()).run_id == redriven["run_id"]
    assert released.json()["by"] == "operator-api"


async def test_flow_endpoints_answer_404_409_503_and_refuse_without_the_token(
    flow: Flow,
) -> None:
    assert (await flow.view(authorization="Bearer wrong")).status_code == 401
    missing = await flow.view("nobody")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/flow-not-found")
    assert f"hooktide-flow-{flow.route}-nobody" in missing.json()["detail"]
    slashed = await flow.view("acct/42")  # a key may hold slashes
    assert slashed.status_code == 404
    assert f"hooktide-flow-{flow.route}-acct/42" in slashed.json()["detail"]
    unknown = await flow.http.get("/flow/no-such-route/k", headers=AUTH)
    assert "The route file has no target 'no-such-route'" in unknown.json()["detail"]
    assert flow.route in unknown.json()["detail"]  # it names the targets that have a sequencer

    assert (await flow.send(1)).status_code == 202  # the sequencer is started, no worker yet
    unanswered = await flow.view()
    assert unanswered.status_code == 503
    assert unanswered.json()["type"].endswith("/flow-query-unanswered")
    assert flow.queue in unanswered.json()["detail"]
    assert unanswered.headers["retry-after"] == "5"

    not_json = await flow.http.post(
        f"/flow/{flow.route}/{KEY}/release", content=b"skip", headers=AUTH
    )
    assert not_json.status_code == 400
    wrong = await flow.release({"action": "retry"})
    assert wrong.status_code == 422 and "action" in wrong.json()["detail"]
    async with flow.worker():
        await settled(flow, started=1)
        not_blocked = await flow.release({"action": "redrive"})
    assert not_blocked.status_code == 409
    assert "is not blocked" in not_blocked.json()["detail"]
