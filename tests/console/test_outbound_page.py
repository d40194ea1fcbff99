"""The console's outbound pages over HTTP, on a real gateway, dev server and worker (the
outbound workflows and activities) and a recording peer as the endpoint: endpoints disabled
and enabled (their EndpointWorkflow's state), the deliveries list, a delivery's attempts,
and redrive of one delivery or of a filter's, previewed first."""

from __future__ import annotations

import html
import logging
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.outbound import DeliveryInput, DeliveryTarget, start_delivery
from tests.support.console_session import OPERATOR_TOKEN, signed_in
from tests.support.gateway import serve, serve_gateway
from tests.support.net import LOOPBACK_ONLY
from tests.support.peer import Peer, Reply
from tests.support.polling import eventually
from tests.support.signing import ORDERS_SECRET
from tests.support.workers import outbound_worker
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.console import outbound as outbound_page
from webhook_gateway.contracts.secrets import SecretSource

SECRET_ENV = "TEST_CONSOLE_OUTBOUND_WHSEC"
QUERY_SECRET = "console-endpoint-query-token-5c1a"
COUNT = re.compile(r'id="redrive-count">(\d+)<')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


@dataclass
class Stack:
    http: httpx.AsyncClient
    client: Client
    peer: Peer
    queue: str
    endpoint: str  # a subscription in the route file
    spare: str  # another, never touched but by a refused form
    csrf: str


@pytest.fixture(scope="module")
async def stack(client: Client) -> AsyncIterator[Stack]:
    peer = Peer()
    endpoint, spare = f"crm-{uuid.uuid4().hex[:6]}", f"spare-{uuid.uuid4().hex[:6]}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HOOKTIDE_OUTBOUND_ALLOW", LOOPBACK_ONLY)
        env.setenv(SECRET_ENV, ORDERS_SECRET)
        async with serve(peer.app) as base, outbound_worker(client) as queue:
            peer.base = base
            sub = {"events": ["order.*"], "secret": {"env": SECRET_ENV}}
            config = parse_config(
                {
                    "routes": {},
                    "subscriptions": {
                        endpoint: {**sub, "url": peer.url(f"/hook?token={QUERY_SECRET}")},
                        spare: {**sub, "url": peer.url("/spare")},
                    },
                }
            )
            settings = Settings(HOOKTIDE_OPERATOR_TOKEN=OPERATOR_TOKEN, HOOKTIDE_TASK_QUEUE=queue)
            async with serve_gateway(config, settings, client=client, timeout=30) as http:
                csrf = await signed_in(http)
                yield Stack(http, client, peer, queue, endpoint, spare, csrf)


async def deliver(stack: Stack, path: str, subscription: str, event_type: str) -> str:
    """A delivery as `publish_event` starts it (searchable, pending), to the peer's `path`."""
    target = DeliveryTarget(
        subscription=subscription,
        url=stack.peer.url(f"{path}?token={QUERY_SECRET}"),
        secret=SecretSource(env=SECRET_ENV),
    )
    payload = {"type": event_type, "timestamp": "2026-01-01T00:00:00Z", "data": {"n": 1}}
    data = DeliveryInput(target=target, msg_id=f"msg_{uuid.uuid4().hex}", payload=payload)
    handle = await start_delivery(stack.client, data, task_queue=stack.queue)
    return handle.id


async def stopped_after_a_failed_attempt(stack: Stack, path: str, *workflow_ids: str) -> None:
    """The endpoint answered each delivery's first attempt 503; an operator terminates them
    before their retry (5 s later)."""
    await eventually(lambda: stack.peer.at(path), lambda seen: len(seen) >= len(workflow_ids))
    for workflow_id in workflow_ids:
        await stack.client.get_workflow_handle(workflow_id).terminate("stopped by the test")


async def run_of(stack: Stack, workflow_id: str) -> str:
    return (await stack.client.get_workflow_handle(workflow_id).describe()).run_id


async def endpoint_state(stack: Stack, name: str) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = await stack.client.get_workflow_handle(
            f"hooktide-endpoint-{name}"
        ).query("state")
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return state


async def test_an_endpoint_is_disabled_and_enabled_again_from_the_console(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hooktide.console.audit")
    before = await stack.http.get("/console/outbound")
    assert before.status_code == 200
    assert stack.endpoint in before.text and 'class="badge s-enabled"' in before.text
    assert QUERY_SECRET not in before.text  # the endpoint's URL is shown without its query

    disabled = await stack.http.post(
        "/console/outbound/endpoint/disable",
        data={"csrf": stack.csrf, "name": stack.endpoint, "note": "CRM migration"},
    )

    assert disabled.status_code == 303
    state = await eventually(
        lambda: endpoint_state(stack, stack.endpoint), lambda s: bool(s and s["disabled"])
    )
    assert state is not None and state["disabled"] is True
    assert state["reason"] == "disabled from the console by Ada Operator: CRM migration"
    page = await stack.http.get(disabled.headers["location"])
    row = page.text.split(f'id="endpoint-{stack.endpoint}"')[1].split("</tr>")[0]
    assert "s-disabled" in row and "CRM migration" in row and "Enable" in row
    # The worker sees it: a new delivery to the endpoint ends without a call.
    skipped = await deliver(stack, "/skipped", stack.endpoint, "order.completed")
    result = await stack.client.get_workflow_handle(skipped).result()
    assert result["outcome"] == "endpoint-disabled" and stack.peer.at("/skipped") == []

    enabled = await stack.http.post(
        "/console/outbound/endpoint/enable", data={"csrf": stack.csrf, "name": stack.endpoint}
    )

    assert enabled.status_code == 303
    state = await eventually(
        lambda: endpoint_state(stack, stack.endpoint), lambda s: bool(s and not s["disabled"])
    )
    assert state is not None and state["disabled"] is False and state["reason"] is None
    row = (await stack.http.get("/console/outbound")).text.split(f'id="endpoint-{stack.endpoint}"')
    assert "s-enabled" in row[1].split("</tr>")[0]
    actions = [(getattr(r, "action", None), getattr(r, "who", None)) for r in caplog.records]
    assert ("endpoint-disable", "Ada Operator") in actions
    assert ("endpoint-enable", "Ada Operator") in actions


async def test_a_disable_without_the_csrf_token_changes_nothing(stack: Stack) -> None:
    refused = await stack.http.post(
        "/console/outbound/endpoint/disable", data={"name": stack.spare, "note": "x"}
    )
    unknown = await stack.http.post(
        "/console/outbound/endpoint/disable", data={"csrf": stack.csrf, "name": "nobody"}
    )

    assert refused.status_code == 403
    assert await endpoint_state(stack, stack.spare) is None  # never started: enabled
    assert unknown.status_code == 404


async def test_deliveries_are_listed_by_endpoint_and_outcome_with_their_attempts(
    stack: Stack,
) -> None:
    kind = f"order.k{uuid.uuid4().hex[:6]}"
    workflow_id = await deliver(stack, "/ok", stack.endpoint, kind)
    await stack.client.get_workflow_handle(workflow_id).result()

    listed = await eventually(
        lambda: stack.http.get(
            "/console/outbound", params={"endpoint": stack.endpoint, "outcome": "delivered"}
        ),
        lambda r: workflow_id in r.text,
    )
    failed = await stack.http.get(
        "/console/outbound", params={"endpoint": stack.endpoint, "outcome": "failed"}
    )
    by_type = await stack.http.get("/console/outbound", params={"event_type": kind})
    bad = await stack.http.get("/console/outbound", params={"outcome": "lost"})
    detail = await stack.http.get("/console/outbound/delivery", params={"workflow_id": workflow_id})

    assert workflow_id in listed.text and workflow_id not in failed.text
    assert workflow_id in by_type.text
    assert "Unknown outcome" in bad.text
    assert detail.status_code == 200
    attempts = detail.text.split("<h2>Attempts</h2>")[1]
    assert re.search(r'<td class="num">200</td>\s*<td class="num">\d+ ms</td>', attempts)
    assert "REDACTED" in attempts and QUERY_SECRET not in detail.text
    assert f"/workflows/{workflow_id}/" in detail.text  # the Web UI link
    assert "Redrive this delivery" not in detail.text  # delivered: nothing to redrive
    missing = await stack.http.get("/console/outbound/delivery", params={"workflow_id": "nope"})
    assert missing.status_code == 404


async def test_a_stopped_delivery_is_redriven_from_its_page_and_delivers(stack: Stack) -> None:
    path = f"/down-{uuid.uuid4().hex[:6]}"
    stack.peer.script(path, Reply(503))
    workflow_id = await deliver(stack, path, stack.endpoint, "order.failed")
    await stopped_after_a_failed_attempt(stack, path, workflow_id)
    before = await stack.client.get_workflow_handle(workflow_id).describe()
    detail = await stack.http.get("/console/outbound/delivery", params={"workflow_id": workflow_id})
    assert "Redrive this delivery" in detail.text and "503" in detail.text
    stack.peer.script(path, Reply(200))

    redriven = await stack.http.post(
        "/console/outbound/delivery/redrive", data={"csrf": stack.csrf, "workflow_id": workflow_id}
    )

    assert redriven.status_code == 303, redriven.text
    result = await stack.client.get_workflow_handle(workflow_id).result()
    assert result["outcome"] == "delivered"
    after = await stack.http.get(redriven.headers["location"])
    assert "Redriven" in after.text and f"{workflow_id}/{before.run_id}" in after.text
    again = await stack.http.post(
        "/console/outbound/delivery/redrive", data={"csrf": stack.csrf, "workflow_id": workflow_id}
    )
    assert again.status_code == 409


async def test_a_bulk_redrive_previews_the_count_and_redrives_only_on_confirmation(
    stack: Stack,
) -> None:
    sub = f"bulk-{uuid.uuid4().hex[:6]}"
    path = f"/bulk-{uuid.uuid4().hex[:6]}"
    stack.peer.script(path, Reply(503))
    ids = [await deliver(stack, path, sub, "order.failed") for _ in range(2)]
    await stopped_after_a_failed_attempt(stack, path, *ids)
    url = "/console/outbound/redrive"

    def count(page: httpx.Response) -> int:
        found = COUNT.search(page.text)
        return int(found.group(1)) if found else -1

    preview = await eventually(
        lambda: stack.http.get(url, params={"endpoint": sub, "outcome": "any"}),
        lambda r: count(r) == 2,
    )
    gave_up = await stack.http.get(url, params={"endpoint": sub})  # default: outcome failed
    stack.peer.script(path, Reply(200))
    form = {"csrf": stack.csrf, "endpoint": sub, "outcome": "any"}
    runs = [await run_of(stack, i) for i in ids]
    stale = await stack.http.post(url, data=form | {"expected": "1"})

    assert count(preview) == 2 and all(i in preview.text for i in ids)
    assert count(gave_up) == 0
    assert "changed since the preview" in stale.text and count(stale) == 2
    assert [await run_of(stack, i) for i in ids] == runs  # nothing started

    done = await stack.http.post(url, data=form | {"expected": "2"})

    assert done.status_code == 200 and "2 deliveries redriven" in done.text
    for workflow_id in ids:
        result = await stack.client.get_workflow_handle(workflow_id).result()
        assert result["outcome"] == "delivered"


async def test_the_deliveries_list_pages_with_visibility_tokens(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = f"order.p{uuid.uuid4().hex[:6]}"
    ids = [await deliver(stack, "/ok", stack.endpoint, kind) for _ in range(3)]
    for workflow_id in ids:
        await stack.client.get_workflow_handle(workflow_id).result()
    await eventually(
        lambda: stack.http.get("/console/outbound", params={"event_type": kind}),
        lambda r: all(i in r.text for i in ids),
    )
    monkeypatch.setattr(outbound_page, "PAGE_SIZE", 2)

    first = await stack.http.get("/console/outbound", params={"event_type": kind})
    following = NEXT.search(first.text)
    assert following, first.text
    second = await stack.http.get(html.unescape(following.group(1)))

    shown = [[i for i in ids if i in page.text] for page in (first, second)]
    assert [len(s) for s in shown] == [2, 1]
    assert sorted(shown[0] + shown[1]) == sorted(ids)
    assert NEXT.search(second.text) is None and "First page" in second.text
    for token in ("%%%", "AAAA"):  # not base64; not a token Temporal made
        bad = await stack.http.get("/console/outbound", params={"page": token})
        assert "page token is not valid" in bad.text, token
