"""The console in headless Chromium, through its real pages, on a real gateway (payload
encryption on), dev server and worker: sign-in and where it leads, a signed webhook in the
list, its detail decoded while Temporal holds ciphertext, redrive with the button, bulk
redrive previewed, a form without its CSRF token refused, markup shown as text, sign-out.
The last test opens every page (no browser error on any) and, with
HOOKTIDE_DOC_SCREENSHOTS=1, writes docs/console/*.png from a gateway holding a handful of
deliveries."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.async_api import Dialog, ViewportSize, expect
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.worker import Worker

from tests.support.browser import Page, save_doc_screenshot
from tests.support.console_flows import CRM, ConsoleProbeWorkflow, sync_to_crm
from tests.support.console_session import OPERATOR_TOKEN
from tests.support.gateway import GatewayClient, serve_gateway
from tests.support.polling import eventually
from tests.support.routes import ORDERS_VERIFIER
from tests.support.signing import ORDERS_SECRET, signed
from webhook_gateway.config.routes import HooktideConfig, parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.console.session import COOKIE
from webhook_gateway.contracts.codec import ENCODING, new_key
from webhook_gateway.dispatch.temporal_client import converter

OPERATOR = "Ada Operator"
FAILED, COMPLETED = WorkflowExecutionStatus.FAILED, WorkflowExecutionStatus.COMPLETED
SUBSCRIPTION_SECRET_ENV = "TEST_CONSOLE_BROWSER_WHSEC"
#: Docs screenshots: about a laptop screen's width, each page whole.
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}


@dataclass
class Stack:
    http: GatewayClient  # the gateway, to send webhooks to
    sealed: Client  # the gateway's and the worker's client: the payload codec on
    raw: Client  # the same server without the codec: what Temporal holds
    route: str
    queue: str

    @property
    def url(self) -> str:
        return self.http.url


def probe_config(queue: str, route: str) -> HooktideConfig:
    return parse_config(
        {
            "routes": {
                route: {
                    "path": f"/webhooks/{route}",
                    "workflow": "ConsoleProbeWorkflow",
                    "task_queue": queue,
                    "delivery_id": {"header": "webhook-id"},
                    "workflow_id": {"prefix": f"{route}-"},
                    "verifier": ORDERS_VERIFIER,
                }
            }
        }
    )


def sealed_settings(*, approval_secret: str | None = None) -> Settings:
    values: dict[str, Any] = {
        "HOOKTIDE_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "HOOKTIDE_PAYLOAD_KEYS": new_key("browser-test"),  # as `hooktide keys new` prints it
    }
    if approval_secret is not None:  # the order example's page, /console/approvals
        values["HOOKTIDE_APPROVAL_SECRET"] = approval_secret
    return Settings(**values)


@pytest.fixture(scope="module")
async def stack(client: Client) -> AsyncIterator[Stack]:
    queue = f"console-browser-{uuid.uuid4().hex[:8]}"
    route = f"probe-{uuid.uuid4().hex[:6]}"
    settings = sealed_settings()
    # The process's own data converter for these settings (HOOKTIDE_PAYLOAD_KEYS), on the
    # session's connection: the gateway and the worker both encrypt and decrypt with it.
    config = client.config()
    config["data_converter"] = converter(settings)
    sealed = Client(**config)
    async with (
        Worker(
            sealed, task_queue=queue, workflows=[ConsoleProbeWorkflow], activities=[sync_to_crm]
        ),
        serve_gateway(probe_config(queue, route), settings, client=sealed) as http,
    ):
        yield Stack(http, sealed, client, route, queue)


@pytest.fixture(autouse=True)
def crm_up() -> Iterator[None]:
    CRM.up = True
    yield
    CRM.up = True


async def send(
    http: GatewayClient, route: str, body: dict[str, Any], *, msg_id: str | None = None
) -> str:
    raw, headers = signed(body, msg_id=msg_id)
    answer = await http.post(f"/webhooks/{route}", content=raw, headers=headers)
    assert answer.status_code == 202, answer.text
    ack = answer.json()
    return str(ack["workflow_id"] if "workflow_id" in ack else ack["targets"][0]["workflow_id"])


async def settled(handle: WorkflowHandle[Any, Any], status: WorkflowExecutionStatus) -> str:
    """Waits until the workflow's latest run has `status`; its run id."""
    described: WorkflowExecutionDescription = await eventually(
        lambda: handle.describe(), lambda d: d.status == status
    )
    assert described.status == status, f"{handle.id} is {described.status}, not {status}"
    return described.run_id


async def sign_in(page: Page, url: str, wanted: str = "/console/") -> None:
    """Through the sign-in form, as a person does; lands on `wanted`."""
    await page.goto(f"{url}/console/sign-in?next={quote(wanted, safe='')}")
    await page.raw.get_by_label("Your name").fill(OPERATOR)
    await page.raw.get_by_label("Operator token").fill(OPERATOR_TOKEN)
    await page.click("Sign in")
    await page.raw.wait_for_url(f"{url}{wanted}")


async def reload_until(page: Page, url: str, ready: Callable[[], Awaitable[bool]]) -> None:
    """Loads `url` again until `ready()` (Temporal's visibility lags the workflows a little)."""

    async def probe() -> bool:
        await page.goto(url)
        return await ready()

    assert await eventually(probe, bool), f"{url} never showed what the test waits for"


def showing(page: Page, *texts: str) -> Callable[[], Awaitable[bool]]:
    async def ready() -> bool:
        seen = await page.text()
        return all(t in seen for t in texts)

    return ready


def at(fragment: str) -> Callable[[str], bool]:
    """For `wait_for_url`: the page's URL holds `fragment`."""
    return lambda url: fragment in url


async def test_a_signed_out_visitor_signs_in_and_lands_on_the_page_they_wanted(
    page: Page, stack: Stack
) -> None:
    assert await page.goto(f"{stack.url}/console/inbound?status=failed") == 200

    where = urlsplit(page.url)
    assert where.path == "/console/sign-in"
    assert parse_qs(where.query) == {"next": ["/console/inbound?status=failed"]}
    assert await page.cookie(COOKIE) is None
    await page.raw.get_by_label("Your name").fill(OPERATOR)
    await page.raw.get_by_label("Operator token").fill(OPERATOR_TOKEN)
    await page.click("Sign in")

    await page.raw.wait_for_url(f"{stack.url}/console/inbound?status=failed")
    await expect(page.raw.get_by_role("heading", name="Inbound deliveries")).to_be_visible()
    await expect(page.raw.locator("select[name=status]")).to_have_value("failed")
    assert OPERATOR in await page.text()
    cookie = await page.cookie(COOKIE)
    assert cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict"
    assert page.errors == []


async def test_a_signed_webhook_appears_in_the_inbound_list(page: Page, stack: Stack) -> None:
    kind = f"order.created.{uuid.uuid4().hex[:6]}"
    workflow_id = await send(stack.http, stack.route, {"type": kind, "id": "A-1"})
    await sign_in(page, stack.url, "/console/inbound")

    # The filter form, as an operator narrows the list to this route and event type.
    await page.raw.locator("select[name=route]").select_option(stack.route)
    await page.fill("Event type", kind)
    await page.click("Filter")
    await page.raw.wait_for_url(at(f"event_type={kind}"))
    await reload_until(page, page.url, showing(page, workflow_id))

    row = page.raw.locator("tbody tr", has=page.raw.get_by_role("link", name=workflow_id))
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(kind)
    await expect(row).to_contain_text(stack.route)
    assert page.errors == []


async def test_the_detail_shows_the_decoded_body_while_temporal_holds_ciphertext(
    page: Page, stack: Stack
) -> None:
    email = f"grace-{uuid.uuid4().hex[:6]}@example.com"
    body = {"type": "order.created", "id": "A-7", "customer": {"email": email}}
    workflow_id = await send(stack.http, stack.route, body)
    await settled(stack.sealed.get_workflow_handle(workflow_id), COMPLETED)

    history = await stack.raw.get_workflow_handle(workflow_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert [p.metadata["encoding"] for p in started.input.payloads] == [ENCODING]
    assert email not in history.to_json()

    await sign_in(page, stack.url, f"/console/inbound?route={stack.route}")
    await reload_until(page, page.url, showing(page, workflow_id))
    await page.click(workflow_id)
    await page.raw.wait_for_url(at("/console/inbound/delivery?workflow_id="))

    shown = await page.raw.locator("pre.body").inner_text()
    assert json.loads(shown) == body
    text = await page.text()
    assert email in text and "cannot be decoded" not in text
    assert "sync_to_crm" in text and "completed" in text
    assert page.errors == []


async def test_a_failed_delivery_is_redriven_with_the_button_and_the_new_run_completes(
    page: Page, stack: Stack
) -> None:
    CRM.up = False
    workflow_id = await send(stack.http, stack.route, {"type": "order.created", "id": "A-9"})
    handle = stack.sealed.get_workflow_handle(workflow_id)
    failed_run = await settled(handle, FAILED)

    await sign_in(page, stack.url, f"/console/inbound/delivery?workflow_id={workflow_id}")
    await expect(page.raw.locator("h1 .badge")).to_have_text("failed")
    assert "CRM answered 503" in await page.text()

    CRM.up = True
    await page.click("Redrive this delivery")
    await page.raw.wait_for_url(at("flash=redriven"))
    await expect(page.raw.locator(".flash")).to_contain_text("Redriven")

    new_run = await settled(handle, COMPLETED)
    assert new_run != failed_run
    assert await stack.sealed.get_workflow_handle(workflow_id, run_id=new_run).result() == (
        "synced"
    )
    assert failed_run in await page.text()  # "Redrive of run <the failed one>"
    assert page.errors == []


async def test_bulk_redrive_previews_three_and_redrives_them_all(page: Page, stack: Stack) -> None:
    kind = f"bulk.{uuid.uuid4().hex[:6]}"
    CRM.up = False
    failed = [await send(stack.http, stack.route, {"type": kind, "n": n}) for n in range(3)]
    for workflow_id in failed:
        await settled(stack.sealed.get_workflow_handle(workflow_id), FAILED)
    CRM.up = True

    listing = f"/console/inbound?event_type={kind}&status=failed"
    await sign_in(page, stack.url, listing)
    await reload_until(page, f"{stack.url}{listing}", showing(page, *failed))
    await page.click("Preview a redrive of the failed deliveries this filter matches")
    await page.raw.wait_for_url(at("/console/inbound/redrive?"))

    await expect(page.raw.locator("#redrive-count")).to_have_text("3")
    assert "3 deliveries will be redriven" in await page.text()
    await page.click("Redrive 3 deliveries")
    await expect(page.raw.get_by_role("status")).to_have_text("3 deliveries redriven.")

    for workflow_id in failed:
        await settled(stack.sealed.get_workflow_handle(workflow_id), COMPLETED)
    assert page.errors == []


async def test_a_form_without_its_csrf_token_is_refused_and_the_session_goes_on(
    page: Page, stack: Stack
) -> None:
    await sign_in(page, stack.url)
    token = page.raw.locator("form.sign-out input[name=csrf]")
    await expect(token).to_have_count(1)
    # The driver's evaluate runs over DevTools, outside the page's CSP (which forbids script).
    await token.evaluate("input => input.remove()")
    await expect(token).to_have_count(0)

    async with page.raw.expect_response(f"{stack.url}/console/sign-out") as refused:
        await page.click("Sign out")
    assert (await refused.value).status == 403
    await expect(page.raw.get_by_role("alert")).to_contain_text("no valid CSRF token")

    await page.goto(f"{stack.url}/console/")
    forged = page.raw.locator("form.sign-out input[name=csrf]")
    await forged.evaluate("input => { input.value = 'forged' + input.value }")
    async with page.raw.expect_response(f"{stack.url}/console/sign-out") as refused:
        await page.click("Sign out")
    assert (await refused.value).status == 403

    # Nothing was done: still signed in.
    assert await page.goto(f"{stack.url}/console/") == 200
    assert urlsplit(page.url).path == "/console/"
    await expect(page.raw.get_by_role("heading", name="Overview")).to_be_visible()
    assert OPERATOR in await page.text()


async def test_a_body_with_markup_renders_as_text_and_runs_nothing(
    page: Page, stack: Stack
) -> None:
    dialogs: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.raw.on("dialog", dismiss)
    script, image = "<script>alert(1)</script>", "<img src=x onerror=alert(2)>"
    body = {"type": "note.added", "note": script, "avatar": image}
    workflow_id = await send(stack.http, stack.route, body)
    await settled(stack.sealed.get_workflow_handle(workflow_id), COMPLETED)

    await sign_in(page, stack.url, f"/console/inbound/delivery?workflow_id={workflow_id}")
    text = await page.text()
    assert script in text and image in text
    assert json.loads(await page.raw.locator("pre.body").inner_text()) == body
    assert await page.raw.locator("img[src=x]").count() == 0
    assert await page.raw.locator("script").count() == 0
    assert dialogs == []
    assert page.errors == []  # not even a script the CSP had to refuse


async def test_after_sign_out_the_console_sends_to_sign_in(page: Page, stack: Stack) -> None:
    await sign_in(page, stack.url)
    await page.click("Sign out")
    await page.raw.wait_for_url(f"{stack.url}/console/sign-in")
    assert await page.cookie(COOKIE) is None

    await page.goto(f"{stack.url}/console/")
    where = urlsplit(page.url)
    assert where.path == "/console/sign-in"
    assert parse_qs(where.query) == {"next": ["/console/"]}
    await expect(page.raw.get_by_role("button", name="Sign in")).to_be_visible()


# Every page, in a gateway that looks like one in use, and the docs' screenshots of it.


def docs_config(queue: str) -> HooktideConfig:
    common = {"task_queue": queue, "delivery_id": {"header": "webhook-id"}}
    return parse_config(
        {
            "routes": {
                "orders": {
                    **common,
                    "path": "/webhooks/orders",
                    "workflow": "ConsoleProbeWorkflow",
                    "workflow_id": {"prefix": "order-"},
                    "verifier": ORDERS_VERIFIER,
                },
                "billing": {
                    "path": "/webhooks/billing",
                    "delivery_id": {"header": "webhook-id"},
                    "verifier": ORDERS_VERIFIER,
                    "event_type": {"jmespath": "type"},
                    "rules": [
                        {
                            "name": "invoice-paid",
                            "events": ["invoice.paid"],
                            "workflow": "ConsoleProbeWorkflow",
                            "task_queue": queue,
                            "workflow_id": {"jmespath": "data.invoice", "prefix": "invoice-"},
                        }
                    ],
                },
            },
            "subscriptions": {
                "crm-sync": {
                    "url": "http://127.0.0.1:9/hooks/hooktide",
                    "events": ["order.*"],
                    "secret": {"env": SUBSCRIPTION_SECRET_ENV},
                }
            },
        }
    )


def order(n: int) -> dict[str, Any]:
    return {
        "type": "order.created",
        "id": f"A-{1000 + n}",
        "customer": {"id": f"c-{40 + n}", "email": f"customer{n}@example.com"},
        "lines": [{"sku": f"SKU-{n}", "quantity": n, "unit_price": "19.90"}],
    }


@pytest.fixture
def subscription_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SUBSCRIPTION_SECRET_ENV, ORDERS_SECRET)


async def a_day_of_traffic(http: GatewayClient, stack: Stack) -> list[str]:
    """Orders completed, one sent twice, one badly signed, an invoice taken by its rule,
    an event no rule takes, and three orders failed while the CRM was down (their ids).
    None redriven: a reset leaves the failed run it replaced in visibility, and the list,
    the overview and the bulk preview count that run as well, so a picture would show a
    redriven delivery as failed too."""
    completed = [await send(http, "orders", order(n)) for n in (1, 2, 3)]
    msg = f"msg_{uuid.uuid4().hex[:12]}"
    completed.append(await send(http, "orders", order(4), msg_id=msg))
    await send(http, "orders", order(4), msg_id=msg)  # the sender retried: a duplicate
    raw, headers = signed(order(5))
    headers["webhook-signature"] = "v1,bm90IHRoZSBzaWduYXR1cmU="
    assert (await http.post("/webhooks/orders", content=raw, headers=headers)).status_code == 401
    invoice = {"type": "invoice.paid", "data": {"invoice": "in_1042", "amount": 4200}}
    completed.append(await send(http, "billing", invoice))
    raw, headers = signed({"type": "customer.updated", "data": {"id": "c-41"}})
    assert (await http.post("/webhooks/billing", content=raw, headers=headers)).status_code == 200
    for workflow_id in completed:
        await settled(stack.sealed.get_workflow_handle(workflow_id), COMPLETED)
    CRM.up = False
    failed = [await send(http, "orders", order(n)) for n in (6, 7, 8)]
    for workflow_id in failed:
        await settled(stack.sealed.get_workflow_handle(workflow_id), FAILED)
    CRM.up = True
    return failed


@pytest.mark.usefixtures("subscription_secret")
async def test_every_page_renders_without_a_browser_error_and_is_pictured_for_the_docs(
    page: Page, stack: Stack
) -> None:
    settings = sealed_settings(approval_secret="browser-test-approval-secret")
    async with serve_gateway(docs_config(stack.queue), settings, client=stack.sealed) as http:
        failed = await a_day_of_traffic(http, stack)
        await page.raw.set_viewport_size(VIEWPORT)
        assert await page.goto(f"{http.url}/console/sign-in") == 200
        await save_doc_screenshot(page, "sign-in")
        await sign_in(page, http.url, "/console/inbound?route=orders")
        badges = page.raw.locator("tbody .badge")

        async def all_listed() -> bool:
            shown = await badges.all_inner_texts()
            return shown.count("completed") == 4 and shown.count("failed") == 3

        await reload_until(page, page.url, all_listed)
        shots = [
            ("overview", "/console/", "Overview"),
            ("inbound", "/console/inbound?route=orders", "Inbound deliveries"),
            ("delivery", f"/console/inbound/delivery?workflow_id={failed[0]}", "Delivery"),
            ("redrive", "/console/inbound/redrive?route=orders", "Redrive deliveries"),
            ("outbound", "/console/outbound", "Outbound webhooks"),
            ("routes", "/console/routes", "Routes"),
            ("approvals", "/console/approvals", "Pending approvals"),
        ]
        for name, path, heading in shots:
            assert await page.goto(f"{http.url}{path}") == 200, path
            await expect(page.raw.locator("h1")).to_contain_text(heading)
            await save_doc_screenshot(page, name)
        assert page.errors == []
