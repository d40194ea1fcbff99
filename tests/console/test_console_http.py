"""The console over plain HTTP (the browser tests drive the same pages in Chromium): access,
sessions and CSRF, the inbound list, detail and redrive, on a real gateway, dev server and
worker."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from tests.support.console_flows import CRM, ConsoleProbeWorkflow, sync_to_crm
from tests.support.console_session import OPERATOR_TOKEN, csrf_of, signed_in
from tests.support.gateway import serve_gateway
from tests.support.polling import eventually
from tests.support.routes import ORDERS_VERIFIER
from tests.support.signing import signed
from webhook_gateway.config.routes import HooktideConfig, parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.console.session import COOKIE, Session, SessionCodec


@dataclass
class Stack:
    http: httpx.AsyncClient
    client: Client
    route: str
    prefix: str


def console_config(task_queue: str, route: str) -> HooktideConfig:
    return parse_config(
        {
            "routes": {
                route: {
                    "path": f"/webhooks/{route}",
                    "workflow": "ConsoleProbeWorkflow",
                    "task_queue": task_queue,
                    "delivery_id": {"header": "webhook-id"},
                    "workflow_id": {"prefix": f"{route}-"},
                    "verifier": ORDERS_VERIFIER,
                }
            }
        }
    )


@pytest.fixture(scope="module")
async def stack(client: Client) -> AsyncIterator[Stack]:
    queue = f"console-{uuid.uuid4().hex[:8]}"
    route = f"c{uuid.uuid4().hex[:6]}"
    settings = Settings(HOOKTIDE_OPERATOR_TOKEN=OPERATOR_TOKEN)
    async with (
        Worker(
            client, task_queue=queue, workflows=[ConsoleProbeWorkflow], activities=[sync_to_crm]
        ),
        serve_gateway(console_config(queue, route), settings, client=client) as http,
    ):
        yield Stack(http, client, route, f"{route}-")


async def send(stack: Stack, body: dict[str, Any]) -> str:
    raw, headers = signed(body)
    answer = await stack.http.post(f"/webhooks/{stack.route}", content=raw, headers=headers)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["workflow_id"])


async def test_a_signed_out_visitor_is_sent_to_sign_in_with_the_page_kept(stack: Stack) -> None:
    stack.http.cookies.clear()
    answer = await stack.http.get("/console/inbound?status=failed")
    assert answer.status_code == 303
    assert (
        answer.headers["location"] == "/console/sign-in?next=%2Fconsole%2Finbound%3Fstatus%3Dfailed"
    )


async def test_sign_in_sets_a_strict_http_only_cookie_and_a_wrong_token_is_refused(
    stack: Stack,
) -> None:
    stack.http.cookies.clear()
    wrong = await stack.http.post("/console/sign-in", data={"name": "Eve", "token": "guess"})
    assert wrong.status_code == 401
    assert "not the operator token" in wrong.text
    assert COOKIE not in wrong.headers.get("set-cookie", "")

    right = await stack.http.post(
        "/console/sign-in", data={"name": "Ada", "token": OPERATOR_TOKEN, "next": "/console/routes"}
    )
    assert right.status_code == 303
    assert right.headers["location"] == "/console/routes"
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert "secure" not in cookie  # plain http on loopback; behind https it is set
    assert OPERATOR_TOKEN not in right.headers["set-cookie"]


async def test_sign_in_never_sends_on_to_another_site(stack: Stack) -> None:
    stack.http.cookies.clear()
    answer = await stack.http.post(
        "/console/sign-in", data={"name": "Ada", "token": OPERATOR_TOKEN, "next": "//evil.test/"}
    )
    assert answer.headers["location"] == "/console/"


async def test_pages_carry_a_csp_without_script(stack: Stack) -> None:
    await signed_in(stack.http)
    for path in (
        "/console/",
        "/console/inbound",
        "/console/sign-in",
        "/console/static/console.css",
    ):
        answer = await stack.http.get(path, follow_redirects=True)
        assert answer.status_code == 200, path
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe" not in csp
        assert answer.headers["x-frame-options"] == "DENY"
    assert "<script" not in (await stack.http.get("/console/")).text


async def test_a_form_without_its_csrf_token_is_refused(stack: Stack) -> None:
    csrf = await signed_in(stack.http)
    for sent in ({}, {"csrf": "forged"}, {"csrf": csrf + "x"}):
        answer = await stack.http.post("/console/sign-out", data=sent)
        assert answer.status_code == 403, sent
        assert "CSRF" in answer.text
    # ... while the same form with it signs out, and the session is gone.
    assert (await stack.http.post("/console/sign-out", data={"csrf": csrf})).status_code == 303
    assert (await stack.http.get("/console/")).status_code == 303


def test_a_session_expires_after_the_idle_timeout_and_a_forged_one_is_refused() -> None:
    codec = SessionCodec("token", idle_seconds=60)
    cookie = codec.dumps(Session(who="Ada", csrf="c", seen=1000.0))
    assert codec.loads(cookie, now=1059.0) == Session(who="Ada", csrf="c", seen=1000.0)
    assert codec.loads(cookie, now=1061.0) is None
    body, mac = cookie.split(".")
    assert codec.loads(body[:-2] + "xx." + mac, now=1001.0) is None
    assert SessionCodec("other token", idle_seconds=60).loads(cookie, now=1001.0) is None
    for junk in ("", ".", "a.b.c", "%%%.%%%", "e30.AAAA"):
        assert codec.loads(junk, now=1001.0) is None


async def test_the_console_is_not_mounted_without_an_operator_token(client: Client) -> None:
    async with serve_gateway(console_config("unused", "off"), Settings(), client=client) as http:
        assert (await http.get("/console/")).status_code == 404
        assert (await http.get("/console/sign-in")).status_code == 404


async def test_a_delivery_appears_in_the_list_and_its_detail_shows_the_body_as_text(
    stack: Stack,
) -> None:
    CRM.up = True
    await signed_in(stack.http)
    marker = f"<script>alert('{uuid.uuid4().hex[:6]}')</script>"
    workflow_id = await send(stack, {"type": "order.created", "note": marker})
    await stack.client.get_workflow_handle(workflow_id).result()

    listing = await eventually(
        lambda: stack.http.get("/console/inbound", params={"route": stack.route}),
        lambda r: workflow_id in r.text,
    )
    assert workflow_id in listing.text
    assert "order.created" in listing.text  # HooktideEventType, set by the gateway at start
    detail = await stack.http.get("/console/inbound/delivery", params={"workflow_id": workflow_id})
    assert detail.status_code == 200
    assert marker not in detail.text
    assert "&lt;script&gt;alert(" in detail.text
    assert "sync_to_crm" in detail.text and "completed" in detail.text
    assert f"/workflows/{workflow_id}/" in detail.text  # the Web UI link


async def test_the_list_filters_by_event_type_and_pages_with_tokens(stack: Stack) -> None:
    CRM.up = True
    await signed_in(stack.http)
    kind = f"kind.{uuid.uuid4().hex[:6]}"
    ids = [await send(stack, {"type": kind, "n": n}) for n in range(3)]
    other = await send(stack, {"type": "something.else"})
    # Visibility orders open runs before closed ones: page once they have all closed.
    for workflow_id in ids:
        await stack.client.get_workflow_handle(workflow_id).result()
    await eventually(
        lambda: stack.http.get("/console/inbound", params={"event_type": kind}),
        lambda r: all(i in r.text for i in ids),
    )
    page = await stack.http.get("/console/inbound", params={"event_type": kind})
    assert all(i in page.text for i in ids) and other not in page.text

    import webhook_gateway.console.inbound as inbound

    size, inbound.PAGE_SIZE = inbound.PAGE_SIZE, 2
    try:
        first = await stack.http.get("/console/inbound", params={"event_type": kind})
        link = re.search(r'href="([^"]+)" rel="next"', first.text)
        assert link, "no next page link"
        second = await stack.http.get(link.group(1).replace("&amp;", "&"))
    finally:
        inbound.PAGE_SIZE = size
    shown = [i for i in ids if i in first.text] + [i for i in ids if i in second.text]
    assert sorted(shown) == sorted(ids)


async def test_a_bad_filter_is_named_on_the_page(stack: Stack) -> None:
    await signed_in(stack.http)
    answer = await stack.http.get("/console/inbound", params={"since": "yesterday-ish"})
    assert answer.status_code == 200
    assert "neither a duration" in answer.text


async def test_a_failed_delivery_is_redriven_and_the_new_run_completes(stack: Stack) -> None:
    csrf = await signed_in(stack.http)
    CRM.up = False
    workflow_id = await send(stack, {"type": "order.created"})
    handle = stack.client.get_workflow_handle(workflow_id)
    await eventually(handle.describe, lambda d: d.status == WorkflowExecutionStatus.FAILED)
    detail = await stack.http.get("/console/inbound/delivery", params={"workflow_id": workflow_id})
    assert "CRM answered 503" in detail.text and "Redrive this delivery" in detail.text

    CRM.up = True
    answer = await stack.http.post(
        "/console/inbound/delivery/redrive", data={"csrf": csrf, "workflow_id": workflow_id}
    )
    assert answer.status_code == 303, answer.text
    assert await stack.client.get_workflow_handle(workflow_id).result() == "synced"
    page = await stack.http.get(answer.headers["location"])
    assert "Redriven" in page.text and "Redrive of" in page.text


async def test_bulk_redrive_previews_the_count_and_redrives_exactly_those(stack: Stack) -> None:
    csrf = await signed_in(stack.http)
    kind = f"bulk.{uuid.uuid4().hex[:6]}"
    CRM.up = False
    failed = [await send(stack, {"type": kind}) for _ in range(3)]
    for workflow_id in failed:
        handle = stack.client.get_workflow_handle(workflow_id)
        await eventually(handle.describe, lambda d: d.status == WorkflowExecutionStatus.FAILED)
    CRM.up = True
    fine = await send(stack, {"type": kind})
    await stack.client.get_workflow_handle(fine).result()

    preview = await eventually(
        lambda: stack.http.get("/console/inbound/redrive", params={"event_type": kind}),
        lambda r: '<strong id="redrive-count">3</strong>' in r.text,
    )
    assert '<strong id="redrive-count">3</strong> deliveries will be redriven' in preview.text
    assert fine not in preview.text

    stale = await stack.http.post(
        "/console/inbound/redrive", data={"csrf": csrf, "event_type": kind, "expected": "2"}
    )
    assert "changed since the preview" in stale.text  # nothing was done on a stale count
    assert (await stack.client.get_workflow_handle(failed[0]).describe()).status == (
        WorkflowExecutionStatus.FAILED
    )
    done = await stack.http.post(
        "/console/inbound/redrive",
        data={"csrf": csrf_of(preview.text), "event_type": kind, "expected": "3"},
    )
    assert "3 deliveries redriven" in done.text
    for workflow_id in failed:
        assert await stack.client.get_workflow_handle(workflow_id).result() == "synced"


async def test_the_overview_counts_this_replicas_answers_and_temporals_workflows(
    stack: Stack,
) -> None:
    await signed_in(stack.http)
    CRM.up = True
    await send(stack, {"type": "order.created"})
    raw, headers = signed({"type": "x"})
    headers["webhook-signature"] = "v1,AAAA"
    bad = await stack.http.post(f"/webhooks/{stack.route}", content=raw, headers=headers)
    assert bad.status_code == 401
    page = await stack.http.get("/console/")
    row = page.text[page.text.index(f"/console/inbound?route={stack.route}") :]
    row = row[: row.index("</tr>")]
    assert "verification-failed" in row
    assert "completed" in row  # from Temporal's visibility
    assert "<svg" in page.text and "this gateway replica" in page.text


async def test_behind_a_trusted_https_proxy_the_cookie_is_secure(client: Client) -> None:
    settings = Settings(
        HOOKTIDE_OPERATOR_TOKEN=OPERATOR_TOKEN, HOOKTIDE_TRUSTED_PROXIES="127.0.0.1/32"
    )
    async with serve_gateway(console_config("unused", "tls"), settings, client=client) as http:
        answer = await http.post(
            "/console/sign-in",
            data={"name": "Ada", "token": OPERATOR_TOKEN},
            headers={"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9"},
        )
    assert answer.status_code == 303
    assert "; secure" in answer.headers["set-cookie"].lower()


async def test_every_action_is_logged_with_who_and_what(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    csrf = await signed_in(stack.http, name="Grace Hopper")
    CRM.up = False
    workflow_id = await send(stack, {"type": "order.created"})
    handle = stack.client.get_workflow_handle(workflow_id)
    await eventually(handle.describe, lambda d: d.status == WorkflowExecutionStatus.FAILED)
    CRM.up = True
    with caplog.at_level("INFO", logger="hooktide.console.audit"):
        answer = await stack.http.post(
            "/console/inbound/delivery/redrive", data={"csrf": csrf, "workflow_id": workflow_id}
        )
    assert answer.status_code == 303
    [line] = [r for r in caplog.records if r.name == "hooktide.console.audit"]
    assert (line.action, line.who, line.workflow_id) == ("redrive", "Grace Hopper", workflow_id)  # type: ignore[attr-defined]
    assert line.client_ip == "127.0.0.1"  # type: ignore[attr-defined]
    assert OPERATOR_TOKEN not in line.getMessage()
    await handle.result()


async def test_a_forged_page_token_is_refused_before_temporal_sees_it(stack: Stack) -> None:
    await signed_in(stack.http)
    answer = await stack.http.get(
        "/console/inbound", params={"page": "AAAAAAAAAAAAAAAAAAAAAAAAAAA"}
    )
    assert answer.status_code == 200
    assert "The page token is not valid" in answer.text


async def test_a_redriven_delivery_is_never_redriven_again(stack: Stack) -> None:
    csrf = await signed_in(stack.http)
    kind = f"again.{uuid.uuid4().hex[:6]}"
    CRM.up = False
    first, second = await send(stack, {"type": kind}), await send(stack, {"type": kind})
    for workflow_id in (first, second):
        handle = stack.client.get_workflow_handle(workflow_id)
        await eventually(handle.describe, lambda d: d.status == WorkflowExecutionStatus.FAILED)
    old_run = (await stack.client.get_workflow_handle(first).describe()).run_id
    CRM.up = True
    answer = await stack.http.post(
        "/console/inbound/delivery/redrive", data={"csrf": csrf, "workflow_id": first}
    )
    assert answer.status_code == 303
    assert await stack.client.get_workflow_handle(first).result() == "synced"

    # The earlier run stays failed in visibility, but the preview counts only the other one,
    preview = await eventually(
        lambda: stack.http.get("/console/inbound/redrive", params={"event_type": kind}),
        lambda r: second in r.text,
    )
    assert '<strong id="redrive-count">1</strong> delivery will be redriven' in preview.text
    assert first not in preview.text
    # its page offers no second redrive and names the latest run, and the list marks it.
    old = await stack.http.get(
        "/console/inbound/delivery", params={"workflow_id": first, "run_id": old_run}
    )
    assert "Redrive this delivery" not in old.text and "This run was redriven" in old.text
    again = await stack.http.post(
        "/console/inbound/delivery/redrive",
        data={"csrf": csrf, "workflow_id": first, "run_id": old_run},
    )
    assert again.status_code == 409
    listing = await stack.http.get("/console/inbound", params={"event_type": kind})
    assert listing.text.count("redriven since") == 1
    runs = [e async for e in stack.client.list_workflows(f"WorkflowId = '{first}'")]
    assert len(runs) == 2
