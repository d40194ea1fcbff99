"""`hooktide flow stuck | show | release` as real processes against the dev server, beside a
real gateway and worker: a key blocked by its failed workflow is found through visibility,
shown, refused without --yes, released with --redrive (the failed workflow runs again, then
the rest of the key), and is no longer stuck."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from tests.support.flow_flows import FAIL, LOG, FlowProbeWorkflow, flow_probe_mark
from tests.support.gateway import GatewayClient, serve_gateway
from tests.support.hooktide import Ran, clean_env, hooktide
from tests.support.polling import eventually
from tests.support.repo import REPO
from tests.support.routes import ORDERS_VERIFIER
from tests.support.signing import signed
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.dev.temporal_server import TemporalDevServer
from worker import WORKFLOWS, activities

KEY = "acct-42"
STRIPE = REPO / "tests" / "fixtures" / "providers" / "stripe"
#: FAIL is read inside the workflow: the sandbox must see this process's set, not a copy.
RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("tests.support.flow_flows")
)


@dataclass
class Stack:
    http: GatewayClient
    client: Client
    route: str
    queue: str
    env: dict[str, str]

    def workflow_id(self, seq: int) -> str:
        return f"{self.route}-msg-{self.route}-{seq}"

    async def send(self, seq: int) -> None:
        body = {"account": KEY, "seq": seq, "n": seq, "ms": 10}
        raw, headers = signed(body, msg_id=f"msg-{self.route}-{seq}")
        answer = await self.http.post(f"/webhooks/{self.route}", content=raw, headers=headers)
        assert answer.status_code == 202, answer.text

    def worker(self) -> Worker:
        return Worker(
            self.client,
            task_queue=self.queue,
            workflows=[*WORKFLOWS, FlowProbeWorkflow],
            activities=[*activities(Settings(), []), flow_probe_mark],
            workflow_runner=RUNNER,
        )

    async def flow(self, *args: str) -> Ran:
        return await hooktide("flow", *args, env=self.env)


@pytest.fixture
async def stack(
    dev_server: TemporalDevServer, client: Client, tmp_path: Path
) -> AsyncIterator[Stack]:
    queue = f"flow-cli-{uuid.uuid4().hex[:8]}"
    route = f"fc{uuid.uuid4().hex[:6]}"
    data = {
        "routes": {
            route: {
                "path": f"/webhooks/{route}",
                "workflow": "FlowProbeWorkflow",
                "task_queue": queue,
                "delivery_id": {"header": "webhook-id"},
                "workflow_id": {"prefix": f"{route}-"},
                "verifier": ORDERS_VERIFIER,
                "ordered": {"key": "body.account", "by": "body.seq"},
            }
        }
    }
    config_file = tmp_path / "routes.yaml"
    config_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = clean_env(TEMPORAL_ADDRESS=dev_server.address, HOOKTIDE_CONFIG=str(config_file))
    LOG.clear()
    FAIL.clear()
    async with serve_gateway(parse_config(data), Settings(), client=client, timeout=30) as http:
        yield Stack(http, client, route, queue, env)
    FAIL.clear()


@pytest.mark.slow
async def test_a_stuck_key_is_found_shown_and_released_with_redrive(stack: Stack) -> None:
    FAIL.add(1)
    for seq in (1, 2, 3):
        await stack.send(seq)
    failed = stack.workflow_id(1)
    async with stack.worker():
        found = await eventually(
            lambda: stack.flow("stuck", "--route", stack.route, "--json"),
            lambda ran: failed in ran.out,
        )
        assert found.code == 0, found.err
        [entry] = json.loads(found.out)
        assert entry["workflow_id"] == f"hooktide-flow-{stack.route}-{KEY}"
        assert entry["task_queue"] == stack.queue
        assert entry["view"]["blocked"]["workflow_id"] == failed
        assert entry["view"]["waiting"] == 2

        table = await stack.flow("stuck", "--route", stack.route)
        [row] = [line for line in table.out.splitlines() if line.startswith(stack.route)]
        assert row.split()[:4] == [stack.route, KEY, failed, "failed"]
        assert row.split()[-1] == "2"
        assert "1 blocked key(s)" in table.out

        shown = await stack.flow("show", stack.route, KEY)
        assert shown.code == 0, shown.err
        assert f"blocked  {failed} (failed since" in shown.out
        assert "waiting  2 (oldest since" in shown.out
        assert f"release with: hooktide flow release {stack.route} {KEY}" in shown.out
        as_json = json.loads((await stack.flow("show", stack.route, KEY, "--json")).out)
        assert as_json["next_up"] == [f"msg-{stack.route}-2", f"msg-{stack.route}-3"]

        refused = await stack.flow("release", stack.route, KEY, "--redrive")
        assert refused.code == 1
        assert refused.err.startswith("CommandFailed: Add --yes")
        assert f"reset {failed}" in refused.out  # the plan, as `deliveries redrive` prints it
        assert LOG.order == [failed]  # nothing changed

        FAIL.discard(1)
        done = await stack.flow("release", stack.route, KEY, "--redrive", "--yes")
        assert done.code == 0, done.out + done.err
        assert f"released {failed} with redrive (redriven: {failed} run " in done.out

        await eventually(lambda: len(LOG.order), lambda n: n >= 4, timeout=60)
        cleared = await eventually(
            lambda: stack.flow("stuck", "--route", stack.route),
            lambda ran: "No key is blocked." in ran.out,
        )
        again = await stack.flow("release", stack.route, KEY, "--skip", "--yes")

    assert LOG.order == [failed, failed, stack.workflow_id(2), stack.workflow_id(3)]
    assert "No key is blocked." in cleared.out
    assert again.code == 1 and again.err.startswith("NotBlocked: ")


async def test_show_names_a_missing_sequencer_and_a_target_without_flow_control(
    stack: Stack,
) -> None:
    missing = await stack.flow("show", stack.route, "nobody")
    unknown = await stack.flow("show", "no-such-route", KEY)
    usage = await stack.flow("release", stack.route, KEY)

    assert missing.code == 1
    assert missing.err.startswith(
        f"FlowNotFound: No sequencer 'hooktide-flow-{stack.route}-nobody'"
    )
    assert "The route file has no target 'no-such-route'" in unknown.err
    assert stack.route in unknown.err
    assert usage.code == 2 and "one of the arguments --skip --redrive is required" in usage.err


async def test_explain_shows_the_sequencer_of_each_ordered_stripe_invoice_rule() -> None:
    env = clean_env(HOOKTIDE_CONFIG=str(REPO / "hooktide.yaml"))
    paid = await hooktide("explain", "stripe", str(STRIPE / "invoice.paid.json"), env=env)
    checkout = STRIPE / "checkout.session.completed.json"
    unordered = await hooktide("explain", "stripe", str(checkout), env=env)

    assert paid.code == 0, paid.err
    for rule in ("invoice-paid", "ledger"):  # one sequencer per rule and customer
        assert (
            f"  via sequencer hooktide-flow-stripe.{rule}-cus_TbR4kX9mQw2ZsL "
            "(key 'cus_TbR4kX9mQw2ZsL', order 1795019403)"
        ) in paid.out
    assert unordered.code == 0 and "via sequencer" not in unordered.out
