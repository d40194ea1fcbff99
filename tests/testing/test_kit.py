"""The testing kit as a user drives it: their route file and plug-in, signed requests through
the in-process gateway, time skipped on the session's time-skipping server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from activities.http.models import HttpRequest, HttpResponse
from tests.testing import acme
from tests.testing.flows import AuditWorkflow, CallbackWorkflow, EchoWorkflow, ReleaseWorkflow
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.testing import KitFactory, Reply

GITHUB = {
    "routes": {
        "github": {
            "path": "/webhooks/github",
            "verifier": {"type": "github", "secret": {"env": "ACME_GITHUB_SECRET"}},
            "delivery_id": {"body_sha256": True},
            "fan_out": "all",
            "rules": [
                {
                    "name": "releases",
                    "events": ["release.published"],
                    "workflow": "ReleaseWorkflow",
                },
                {"name": "audit", "events": ["release.*", "push"], "workflow": "AuditWorkflow"},
            ],
        }
    }
}
ORDERS = {
    "routes": {
        "orders": {
            "path": "/webhooks/orders",
            "workflow": "CallbackWorkflow",
            "verifier": {"type": "standard_webhooks", "secret": {"env": "ACME_ORDERS_SECRET"}},
        }
    }
}


@pytest.fixture(scope="module")
def route_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The user's project in a folder of its own, importable while this module runs."""
    root = tmp_path_factory.mktemp("acme")
    path = acme.write(root)
    sys.path.insert(0, str(root))
    yield path
    sys.path.remove(str(root))


def release(action: str = "published") -> dict[str, Any]:
    return {"action": action, "release": {"tag_name": f"v1.{uuid.uuid4().hex[:8]}"}}


async def test_a_signed_sign_up_starts_the_plugins_workflow_which_answers_after_three_days(
    hooktide: KitFactory, route_file: Path
) -> None:
    if not hooktide.environment.supports_time_skipping:
        pytest.skip("three days are skipped only on the time-skipping server")
    assert acme.SECRET_VARIABLE not in os.environ
    async with hooktide(routes=route_file) as kit:  # the plug-in: the route file's worker.modules
        ack = await kit.send("signups", {"type": "user.created", "user": "ada"})
        assert ack.status == 202, ack
        assert ack.json["workflow_id"] == f"signups-{ack.delivery_id}"
        assert (await kit.workflow(ack).describe()).status == WorkflowExecutionStatus.RUNNING
        await kit.sleep(timedelta(days=3))
        assert await kit.result(ack) == "reminded ada"
        history = await kit.history(ack)
        assert any(e.HasField("timer_fired_event_attributes") for e in history.events)
        assert kit.secrets[acme.SECRET_VARIABLE].startswith("whsec_")
        assert os.environ[acme.SECRET_VARIABLE] == kit.secrets[acme.SECRET_VARIABLE]
    assert acme.SECRET_VARIABLE not in os.environ


async def test_a_route_with_rules_from_a_dict_sends_each_event_to_its_rules_workflows(
    hooktide: KitFactory,
) -> None:
    workflows = [ReleaseWorkflow, AuditWorkflow]
    async with hooktide(routes=GITHUB, workflows=workflows, modules=[]) as kit:
        published = await kit.send("github", release(), headers={"X-GitHub-Event": "release"})
        push = await kit.send("github", {"ref": "refs/heads/main"}, {"X-GitHub-Event": "push"})
        ping = await kit.send("github", {"zen": "Keep it simple."}, {"X-GitHub-Event": "ping"})

        assert published.status == 202, published
        assert [t["rule"] for t in published.json["targets"]] == ["releases", "audit"]
        assert (await kit.result(published))["workflow"] == "ReleaseWorkflow"
        audited = await kit.result(published, rule="audit")
        assert (audited["workflow"], audited["event_type"]) == (
            "AuditWorkflow",
            "release.published",
        )
        assert [t["rule"] for t in push.json["targets"]] == ["audit"]
        assert (await kit.result(push, rule="audit"))["body"] == {"ref": "refs/heads/main"}
        assert (ping.status, ping.json["ignored"]) == (200, True)
        with pytest.raises(ValueError, match="No target of rule 'releases'"):
            kit.workflow(push, rule="releases")


async def test_a_wrong_or_missing_signature_is_401_and_starts_nothing(
    hooktide: KitFactory, route_file: Path
) -> None:
    async with hooktide(routes=GITHUB, workflows=[ReleaseWorkflow, AuditWorkflow]) as kit:
        event = {"X-GitHub-Event": "release"}
        forged = await kit.send(
            "github", release(), headers=event | {"X-Hub-Signature-256": "sha256=" + "0" * 64}
        )
        unsigned = await kit.send(
            "github", release(), headers=event | {"x-hub-signature-256": None}
        )
    async with hooktide(routes=route_file, modules=[acme.PLUGIN]) as kit:
        replayed = await kit.send("signups", {"user": "eve"}, headers={"webhook-id": "msg_other"})

    assert forged.status == 401, forged
    assert forged.json["type"].endswith("verification-failed/bad-signature")
    assert unsigned.status == 401
    assert unsigned.json["type"].endswith("verification-failed/missing-header")
    assert replayed.status == 401
    assert replayed.json["type"].endswith("verification-failed/bad-signature")


def _echo(verifier: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"path": "/webhooks/echo", "workflow": "EchoWorkflow", "verifier": verifier, **extra}


UNSIGNED_ID = {"delivery_id": {"header": "x-delivery-id", "unsigned": True}}
#: A route of every verifier type `hooktide send` signs for, each secret left for the kit.
SENDERS = {
    "standard_webhooks": _echo({"type": "standard_webhooks", "secret": {"env": "T_STANDARD"}}),
    "github": _echo({"type": "github", "secret": {"env": "T_GITHUB"}}),
    "meta": _echo(
        {"type": "meta", "secret": {"env": "T_META"}, "verify_token": {"env": "T_META_VERIFY"}}
    ),
    "stripe": _echo({"type": "stripe", "secret": {"env": "T_STRIPE"}}),
    "shopify": _echo({"type": "shopify", "secret": {"env": "T_SHOPIFY"}}),
    "slack": _echo({"type": "slack", "secret": {"env": "T_SLACK"}}),
    "zoom": _echo({"type": "zoom", "secret": {"env": "T_ZOOM"}}),
    "twilio": _echo(
        {"type": "twilio", "secret": {"env": "T_TWILIO"}},
        content_types=["application/x-www-form-urlencoded"],
    ),
    "microsoft_graph": _echo(
        {"type": "microsoft_graph", "client_state": {"env": "T_GRAPH"}},
        delivery_id={"body_sha256": True, "unsigned": True},
    ),
    "hmac": _echo(
        {
            "type": "hmac",
            "secret": {"env": "T_HMAC"},
            "header": "X-Acme-Signature",
            "prefix": "t={timestamp},",
            "timestamp_header": "X-Acme-Timestamp",
            "signed_content": "{timestamp}.{body}",
        },
        **UNSIGNED_ID,
    ),
    "bearer": _echo({"type": "bearer", "token": {"env": "T_BEARER"}}, **UNSIGNED_ID),
    "api_key": _echo(
        {"type": "api_key", "key": {"env": "T_API_KEY"}, "header": "X-Api-Key"}, **UNSIGNED_ID
    ),
    "basic": _echo(
        {"type": "basic", "username": "acme", "password": {"env": "T_BASIC"}}, **UNSIGNED_ID
    ),
    "none": _echo({"type": "none"}, **UNSIGNED_ID),
}


def _body(sender: str, secrets: dict[str, str]) -> dict[str, Any]:
    unique = uuid.uuid4().hex
    if sender == "twilio":
        return {"MessageSid": f"SM{unique}", "Body": "hello"}
    if sender == "microsoft_graph":
        return {"value": [{"changeType": "created", "clientState": secrets["T_GRAPH"]}]}
    return {"id": f"evt_{unique}", "event_id": unique, "type": "thing.happened", "n": 1}


@pytest.mark.parametrize("sender", sorted(SENDERS))
async def test_send_signs_for_every_verifier_type_with_a_secret_of_its_form(
    hooktide: KitFactory, sender: str
) -> None:
    routes = {"routes": {sender: SENDERS[sender]}}
    async with hooktide(routes=routes, workflows=[EchoWorkflow], modules=[]) as kit:
        body = _body(sender, kit.secrets)
        ack = await kit.send(sender, body)
        assert ack.status == 202, ack
        assert await kit.result(ack) == body
        for name, secret in kit.secrets.items():
            assert len(secret) >= 16 and (name != "T_STANDARD" or secret.startswith("whsec_"))


async def test_a_route_whose_sender_signs_with_a_private_key_builds_but_cannot_be_signed(
    hooktide: KitFactory,
) -> None:
    verifier = {"type": "standard_webhooks_v1a", "public_key": {"env": "T_PUBLIC_KEY"}}
    routes = {"routes": {"ed25519": _echo(verifier)}}
    async with hooktide(routes=routes, workflows=[EchoWorkflow], modules=[]) as kit:
        assert kit.secrets["T_PUBLIC_KEY"].startswith("whpk_")
        with pytest.raises(ConfigError, match="private key"):
            await kit.send("ed25519", {"type": "x"})


async def test_leaving_after_a_failure_ends_its_workflows_and_worker_and_restores_the_env(
    hooktide: KitFactory, route_file: Path
) -> None:
    with pytest.raises(RuntimeError, match="the test failed"):
        async with hooktide(routes=route_file, env={"ACME_REGION": "eu"}) as kit:
            assert os.environ["ACME_REGION"] == "eu"
            ack = await kit.send("signups", {"user": "bob"})
            assert ack.status == 202
            raise RuntimeError("the test failed")

    described = await kit.workflow(ack).describe()
    assert described.status == WorkflowExecutionStatus.TERMINATED
    assert kit.worker.is_shutdown
    assert "ACME_REGION" not in os.environ
    assert acme.SECRET_VARIABLE not in os.environ


async def test_a_kit_left_at_once_after_a_send_leaves_the_shared_clock_free(
    hooktide: KitFactory, route_file: Path
) -> None:
    """Terminated with its first workflow task in flight, a run would hold the time-skipping
    server's clock for good: the kit lets the worker finish that task first."""
    if not hooktide.environment.supports_time_skipping:
        pytest.skip("only the time-skipping server has a shared clock")
    for _ in range(3):
        async with hooktide(routes=route_file) as kit:
            ack = await kit.send("signups", {"user": "dee"})
        events = [e.event_type for e in (await kit.history(ack)).events]
        assert events[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
        assert EventType.EVENT_TYPE_TIMER_STARTED in events
    async with hooktide(routes=route_file) as kit:
        await asyncio.wait_for(kit.sleep(timedelta(days=1)), timeout=10)


async def test_a_secret_the_test_sets_is_the_one_used(
    hooktide: KitFactory, route_file: Path
) -> None:
    chosen = "whsec_" + "c2lnbnVwcy1zZWNyZXQtb2YtdGhlLXRlc3Qtb3du"
    async with hooktide(routes=route_file, env={acme.SECRET_VARIABLE: chosen}) as kit:
        ack = await kit.send("signups", {"user": "cy"})
        assert acme.SECRET_VARIABLE not in kit.secrets
        assert os.environ[acme.SECRET_VARIABLE] == chosen
    assert ack.status == 202, ack


async def test_a_workflows_http_step_reaches_a_peer_on_loopback(hooktide: KitFactory) -> None:
    async with hooktide(
        routes=ORDERS, workflows=[CallbackWorkflow], modules=[], allow_loopback=True
    ) as kit:
        peer = await kit.peer()
        peer.script("/callback", Reply(201))
        ack = await kit.send("orders", {"order": "A-1", "callback": peer.url("/callback")})
        assert await kit.result(ack) == 201
    [call] = peer.at("/callback")
    assert (call.method, json.loads(call.body)) == ("POST", {"order": "A-1"})
    assert call.headers["idempotency-key"]


@activity.defn(name="http_request")
async def partner_accepts(request: HttpRequest) -> HttpResponse:
    """Stands in for Hooktide's HTTP activity: the partner accepts every call."""
    return HttpResponse(status=202, url=request.url, headers={}, elapsed_seconds=0.0)


async def test_a_test_activity_replaces_the_one_of_the_same_name(hooktide: KitFactory) -> None:
    async with hooktide(
        routes=ORDERS, workflows=[CallbackWorkflow], activities=[partner_accepts], modules=[]
    ) as kit:
        ack = await kit.send("orders", {"order": "A-2", "callback": "https://partner.test/x"})
        assert await kit.result(ack) == 202


async def test_the_kit_encrypts_payloads_when_keys_are_set(hooktide: KitFactory) -> None:
    from webhook_gateway.contracts.codec import new_key

    routes = {
        "routes": {"echo": _echo({"type": "standard_webhooks", "secret": {"env": "ACME_ECHO_KEY"}})}
    }
    keys = {"HOOKTIDE_PAYLOAD_KEYS": new_key("kit-1")}
    async with hooktide(routes=routes, workflows=[EchoWorkflow], modules=[], env=keys) as kit:
        sent = await kit.send("echo", {"email": "ada-kit@example.com"})
        assert sent.status == 202, sent.text
        assert await kit.result(sent) == {"email": "ada-kit@example.com"}  # decoded by the kit
        raw = await kit.environment.client.get_workflow_handle(
            sent.json["workflow_id"]
        ).fetch_history()
    assert "ada-kit@example.com" not in raw.to_json()
    assert "binary/encrypted" in str(
        raw.events[0].workflow_execution_started_event_attributes.input
    )
