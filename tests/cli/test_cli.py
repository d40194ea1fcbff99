"""The `hooktide` command, run as a real process against a real gateway, dev server and
worker: send (every verifier type), check, routes, deliveries list/show/redrive."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.worker import Worker

from tests.cli import flaky
from tests.support.gateway import serve_gateway
from tests.support.hooktide import HOOKTIDE, clean_env, hooktide
from tests.support.polling import eventually
from tests.support.repo import REPO
from tests.support.signing import ORDERS_SECRET, order_payload, signed
from webhook_gateway.config.routes import parse_config
from webhook_gateway.dev.temporal_server import TemporalDevServer

SECRETS = {
    "OPS_STD_SECRET": ORDERS_SECRET,
    "OPS_HMAC_SECRET": "ops-hmac-secret-0123456789",
    "OPS_TOKEN": "ops-token-0123456789",
    "OPS_PASSWORD": "ops-password-0123456789",
}


def routes(queue: str, idle: str) -> dict[str, Any]:
    def secret(name: str) -> dict[str, str]:
        return {"env": name}

    def route(path: str, verifier: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "path": path,
            "workflow": "OrderWorkflow",
            "task_queue": idle,
            "verifier": verifier,
            **extra,
        }

    by_header = {"delivery_id": {"header": "x-delivery-id", "unsigned": True}}
    hmac = {"type": "hmac", "secret": secret("OPS_HMAC_SECRET")}
    return {
        "flaky": {
            "path": "/webhooks/flaky",
            "workflow": "FlakyWorkflow",
            "task_queue": queue,
            "workflow_id": {"prefix": "flaky-"},
            "verifier": {"type": "standard_webhooks", "secret": secret("OPS_STD_SECRET")},
        },
        "std": route("/std", {"type": "standard_webhooks", "secret": secret("OPS_STD_SECRET")}),
        "github": route("/github", {"type": "github", **_s(hmac)}),
        "stripe": route("/stripe", {"type": "stripe", **_s(hmac)}),
        "shopify": route("/shopify", {"type": "shopify", **_s(hmac)}),
        "slack": route("/slack", {"type": "slack", **_s(hmac)}),
        "twilio": route(
            "/twilio",
            {"type": "twilio", **_s(hmac)},
            content_types=["application/x-www-form-urlencoded"],
        ),
        "hmac": route(
            "/hmac",
            {
                **hmac,
                "header": "X-Acme-Signature",
                "prefix": "sha512=",
                "algorithm": "sha512",
                "encoding": "base64",
                "timestamp_header": "X-Acme-Timestamp",
                "signed_content": "{timestamp}.{body}",
            },
            **by_header,
        ),
        "bearer": route("/bearer", {"type": "bearer", "token": secret("OPS_TOKEN")}, **by_header),
        "apikey": route(
            "/apikey",
            {"type": "api_key", "key": secret("OPS_TOKEN"), "header": "X-Key"},
            **by_header,
        ),
        "basic": route(
            "/basic",
            {"type": "basic", "username": "ops", "password": secret("OPS_PASSWORD")},
            **by_header,
        ),
    }


def _s(hmac: dict[str, Any]) -> dict[str, Any]:
    return {"secret": hmac["secret"]}


@dataclass(frozen=True)
class Stack:
    url: str
    env: dict[str, str]
    queue: str
    tmp: Path


@pytest.fixture(scope="module")
async def stack(
    dev_server: TemporalDevServer, client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    queue = f"ops-cli-{uuid.uuid4().hex[:8]}"
    data = {"routes": routes(queue, f"ops-idle-{uuid.uuid4().hex[:8]}")}
    tmp = tmp_path_factory.mktemp("cli")
    config_file = tmp / "routes.yaml"
    config_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = clean_env(
        TEMPORAL_ADDRESS=dev_server.address, HOOKTIDE_CONFIG=str(config_file), **SECRETS
    )
    with pytest.MonkeyPatch.context() as secrets:  # the in-process gateway reads them too
        for name, value in SECRETS.items():
            secrets.setenv(name, value)
        async with (
            Worker(
                client,
                task_queue=queue,
                workflows=[flaky.FlakyWorkflow, flaky.StandInDeliveryWorkflow],
                activities=[flaky.flaky_step, flaky.outbound_attempt],
            ),
            serve_gateway(parse_config(data), client=client) as gateway,
        ):
            yield Stack(url=gateway.url, env=env, queue=queue, tmp=tmp)


def test_help_names_every_command() -> None:
    ran = subprocess.run(
        [HOOKTIDE, "--help"], capture_output=True, text=True, env=clean_env(), check=False
    )
    assert ran.returncode == 0
    for command in ("run", "gateway", "worker", "routes", "send", "check", "deliveries"):
        assert f"    {command}" in ran.stdout
    redrive = subprocess.run(
        [HOOKTIDE, "deliveries", "redrive", "--help"],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    assert "--dry-run" in redrive.stdout and "--yes" in redrive.stdout


def _on_terminal(args: list[str], env: dict[str, str]) -> str:
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            args, stdout=follower, stderr=follower, env=env, cwd=REPO, timeout=60, check=False
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    assert proc.returncode == 0
    return b"".join(chunks).decode()


def test_routes_are_coloured_on_a_terminal_only_and_never_with_no_color() -> None:
    env = clean_env(**SECRETS, HOOKTIDE_CONFIG=str(REPO / "hooktide.yaml"))
    piped = subprocess.run(
        [HOOKTIDE, "routes"], capture_output=True, text=True, env=env, cwd=REPO, check=False
    )

    coloured = _on_terminal([HOOKTIDE, "routes"], env)
    plain = _on_terminal([HOOKTIDE, "routes"], env | {"NO_COLOR": "1"})

    assert piped.returncode == 0 and "/webhooks/orders" in piped.stdout
    assert "\x1b[" not in piped.stdout
    assert "\x1b[1mROUTE" in coloured
    assert "/webhooks/orders" in plain and "\x1b[" not in plain


@pytest.mark.slow
async def test_send_signs_for_every_verifier_type(stack: Stack) -> None:
    order = stack.tmp / "order.json"
    order.write_text(json.dumps(order_payload()), encoding="utf-8")
    stripe = stack.tmp / "stripe.json"
    stripe.write_text(json.dumps({"id": f"evt_{uuid.uuid4().hex}"}), encoding="utf-8")
    slack = stack.tmp / "slack.json"
    slack.write_text(json.dumps({"event_id": f"Ev{uuid.uuid4().hex}"}), encoding="utf-8")
    form = stack.tmp / "twilio.form"
    form.write_text(f"MessageSid=SM{uuid.uuid4().hex}&Body=hello+there", encoding="utf-8")
    files = {"stripe": stripe, "slack": slack}
    names = ["std", "github", "stripe", "shopify", "slack", "hmac", "bearer", "apikey", "basic"]

    for name in names:
        ran = await hooktide(
            "send", name, str(files.get(name, order)), "--url", stack.url, env=stack.env
        )
        assert ran.code == 0, f"{name}: {ran.out} {ran.err}"
        assert ran.out.startswith("202 Accepted"), name
    twilio = await hooktide(
        "send", "twilio", str(form), "--url", stack.url,
        "--content-type", "application/x-www-form-urlencoded", env=stack.env,
    )  # fmt: skip
    assert twilio.code == 0, twilio.out + twilio.err


@pytest.mark.slow
async def test_send_with_a_wrong_secret_is_refused_by_the_gateway(stack: Stack) -> None:
    order = stack.tmp / "order.json"
    order.write_text(json.dumps(order_payload()), encoding="utf-8")
    env = stack.env | {"OPS_TOKEN": "not-the-token-the-gateway-has"}

    ran = await hooktide("send", "bearer", str(order), "--url", stack.url, env=env)

    assert ran.code == 1
    assert ran.out.startswith("401 Unauthorized")
    assert "verification-failed/bad-signature" in ran.out


@pytest.mark.slow
async def test_unknown_route_and_missing_file_print_name_and_message(stack: Stack) -> None:
    unknown = await hooktide("send", "nope", "x.json", "--url", stack.url, env=stack.env)
    missing = await hooktide("send", "std", "/no/such.json", "--url", stack.url, env=stack.env)

    assert unknown.code == missing.code == 1
    assert unknown.err.startswith("ConfigError: No route named 'nope'; the routes are: ")
    assert "flaky, github" in unknown.err
    assert missing.err.startswith("ConfigError: Cannot read /no/such.json")
    assert "Traceback" not in unknown.err + missing.err


@pytest.mark.slow
async def test_check_passes_with_a_complete_environment(stack: Stack) -> None:
    ran = await hooktide("check", "--temporal", env=stack.env)

    assert ran.code == 0, ran.out + ran.err
    assert "OK: the route file and the environment are valid." in ran.out
    unsigned = "delivery_id is the header x-github-delivery, which the 'github' verifier"
    assert f"warning: Route 'github': {unsigned} does not sign" in ran.out
    assert "warning: Route 'std'" not in ran.out


@pytest.mark.slow
async def test_check_names_every_problem_and_exits_1(stack: Stack) -> None:
    env = {k: v for k, v in stack.env.items() if k not in {"OPS_TOKEN", "OPS_PASSWORD"}}
    env |= {
        "HOOKTIDE_PORT": "eighty",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/no/such/ca.pem",
        "HOOKTIDE_WORKER_METRICS_ADDRESS": "9464",
    }

    ran = await hooktide("check", env=env)

    assert ran.code == 1
    assert "HOOKTIDE_PORT" in ran.out
    for route in ("bearer", "apikey", "basic"):
        assert f"Route '{route}'" in ran.out
    assert "OPS_TOKEN" in ran.out and "OPS_PASSWORD" in ran.out
    assert "TEMPORAL_TLS_SERVER_CA_CERT_PATH: file /no/such/ca.pem does not exist." in ran.out
    assert "HOOKTIDE_WORKER_METRICS_ADDRESS must be host:port" in ran.out
    assert SECRETS["OPS_STD_SECRET"] not in ran.out + ran.err


async def _failed_delivery(stack: Stack, client: Client) -> tuple[str, str]:
    body, headers = signed(order_payload(), secret=SECRETS["OPS_STD_SECRET"])
    async with httpx.AsyncClient(base_url=stack.url) as http:
        response = await http.post("/webhooks/flaky", content=body, headers=headers)
    assert response.status_code == 202, response.text
    workflow_id = response.json()["workflow_id"]
    with pytest.raises(WorkflowFailureError):
        await client.get_workflow_handle(workflow_id).result()
    return headers["webhook-id"], workflow_id


@pytest.mark.slow
async def test_a_failed_delivery_is_listed_shown_and_redriven_under_the_same_id(
    stack: Stack, client: Client
) -> None:
    flaky.BROKEN["flaky_step"] = True
    delivery_id, workflow_id = await _failed_delivery(stack, client)

    listed = await eventually(
        lambda: hooktide(
            "deliveries",
            "list",
            "--route",
            "flaky",
            "--status",
            "failed",
            "--since",
            "10m",
            "--json",
            env=stack.env,
        ),
        lambda ran: delivery_id in ran.out,
        timeout=15,
    )
    rows = {row["delivery_id"]: row for row in json.loads(listed.out)}
    assert rows[delivery_id]["workflow_id"] == workflow_id
    assert rows[delivery_id]["status"] == "failed" and rows[delivery_id]["route"] == "flaky"

    shown = await hooktide("deliveries", "show", delivery_id, "--json", env=stack.env)
    detail = json.loads(shown.out)
    assert detail["status"] == "failed" and detail["workflow_id"] == workflow_id
    assert "the downstream system is down" in detail["failure"]
    assert detail["input"]["delivery_id"] == delivery_id

    plan = await hooktide("deliveries", "redrive", delivery_id, "--dry-run", env=stack.env)
    assert plan.code == 0, plan.err
    assert f"reset {workflow_id}" in plan.out and "Dry run: nothing was changed." in plan.out
    refused = await hooktide("deliveries", "redrive", delivery_id, env=stack.env)
    assert refused.code == 1
    assert refused.err.startswith("CommandFailed: Add --yes")
    described = await client.get_workflow_handle(workflow_id).describe()
    assert described.status == WorkflowExecutionStatus.FAILED

    flaky.BROKEN["flaky_step"] = False
    done = await hooktide("deliveries", "redrive", delivery_id, "--yes", env=stack.env)

    assert done.code == 0, done.out + done.err
    assert f"redriven {workflow_id}" in done.out
    assert await client.get_workflow_handle(workflow_id).result() == f"done {delivery_id}"
    again = await hooktide("deliveries", "redrive", delivery_id, "--dry-run", env=stack.env)
    assert "Nothing to redrive." in again.out
    # The sender's dedupe still holds: the same delivery id starts nothing new.
    body, headers = signed(order_payload(), secret=SECRETS["OPS_STD_SECRET"], msg_id=delivery_id)
    async with httpx.AsyncClient(base_url=stack.url) as http:
        late = await http.post("/webhooks/flaky", content=body, headers=headers)
    assert late.json()["duplicate"] is True


@pytest.mark.slow
async def test_redrive_without_a_reset_point_starts_a_redrive_id_with_a_memo(
    stack: Stack, client: Client
) -> None:
    from webhook_gateway.contracts.events import WebhookEvent

    nobody = f"ops-nobody-{uuid.uuid4().hex[:8]}"
    workflow_id = f"stuck-{uuid.uuid4().hex}"
    event = WebhookEvent.model_validate(
        {"route": "x", "delivery_id": "d-stuck", "received_at": "2026-01-01T00:00:00Z",
         "method": "POST", "body": {"a": 1}}
    )  # fmt: skip
    handle = await client.start_workflow("FlakyWorkflow", event, id=workflow_id, task_queue=nobody)
    await handle.terminate("never picked up")

    ran = await hooktide(
        "deliveries", "redrive", "--workflow-id", workflow_id, "--status", "terminated", "--yes",
        env=stack.env,
    )  # fmt: skip

    assert ran.code == 0, ran.out + ran.err
    assert f"start {workflow_id}-redrive-<n>" in ran.out
    redriven = client.get_workflow_handle(f"{workflow_id}-redrive-1")
    desc = await redriven.describe()
    assert (await desc.memo())["hooktide_redrive_of"] == f"{workflow_id}/{handle.result_run_id}"
    history = await redriven.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [payload] = await client.data_converter.decode(started.input.payloads)
    assert payload["delivery_id"] == "d-stuck"
    await redriven.terminate("test over")


@pytest.mark.slow
async def test_an_outbound_delivery_that_gave_up_is_started_again(
    stack: Stack, client: Client
) -> None:
    flaky.BROKEN["outbound"] = True
    workflow_id = f"out-{uuid.uuid4().hex}"
    result = await client.execute_workflow(
        "WebhookDeliveryWorkflow", {"msg_id": "m-1"}, id=workflow_id, task_queue=stack.queue
    )
    assert result["outcome"] == "failed"
    args = ("deliveries", "redrive", "--outbound", "--task-queue", stack.queue, "--since", "10m")

    plan = await eventually(
        lambda: hooktide(*args, "--dry-run", env=stack.env),
        lambda ran: workflow_id in ran.out,
        timeout=15,
    )
    assert f"start {workflow_id} again (completed)" in plan.out
    flaky.BROKEN["outbound"] = False
    done = await hooktide(*args, "--workflow-id", workflow_id, "--yes", env=stack.env)

    assert done.code == 0, done.out + done.err
    assert (await client.get_workflow_handle(workflow_id).result())["outcome"] == "delivered"
