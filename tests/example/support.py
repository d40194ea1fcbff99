"""The order example's real peers for tests, all on 127.0.0.1 free ports: the inventory and
CRM services (uvicorn), the SMTP sink (aiosmtpd) and the webhook subscriber."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx

from examples import crm, inventory, smtp_sink, subscriber
from tests.support.gateway import serve
from tests.support.net import LOOPBACK, free_port

T = TypeVar("T")
LINK = re.compile(r"http://\S+/approvals/(\S+)")
APPROVAL_SECRET = "test-approval-secret-0123456789"
SUBSCRIBER_SECRET = "whsec_dGVzdC1zdWJzY3JpYmVyLXNlY3JldC0wMTIzNDU2Nzg5"


@dataclass
class Service:
    base: str

    async def get(self, path: str) -> Any:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(f"{self.base}{path}")
        return response.json() if response.status_code == 200 else None

    async def faults(self, **faults: Any) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            (await http.post(f"{self.base}/admin/faults", json=faults)).raise_for_status()


@dataclass
class Mailbox:
    directory: Path
    port: int

    def messages(self) -> list[EmailMessage]:
        return list(smtp_sink.read_mail(self.directory))

    def subjects(self) -> list[str]:
        return [str(m["Subject"]).strip() for m in self.messages()]

    def approval_token(self) -> str:
        for message in self.messages():
            body = message.get_body(("plain",))
            match = LINK.search(body.get_content() if body else "")
            if match:
                return match.group(1)
        raise AssertionError(f"no approval link in {self.subjects()}")


@asynccontextmanager
async def mailbox(directory: Path) -> AsyncIterator[Mailbox]:
    port = free_port()
    server = await smtp_sink.serve(directory, LOOPBACK, port, echo=False)
    try:
        yield Mailbox(directory, port)
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def peers(tmp: Path) -> AsyncIterator[tuple[Service, Service, Mailbox]]:
    """Inventory, CRM and SMTP sink, each with its state under `tmp`."""
    async with (
        serve(inventory.create_app(tmp / "inventory.json")) as inventory_url,
        serve(crm.create_app(tmp / "crm.json")) as crm_url,
        mailbox(tmp / "mail") as mail,
    ):
        yield Service(inventory_url), Service(crm_url), mail


@asynccontextmanager
async def subscriber_service(tmp: Path) -> AsyncIterator[Service]:
    async with serve(subscriber.create_app(SUBSCRIBER_SECRET, tmp / "events.jsonl")) as url:
        yield Service(url)


def order_env(inv: Service, crm_service: Service, mail: Mailbox) -> dict[str, str]:
    return {
        "HOOKTIDE_INVENTORY_URL": inv.base,
        "HOOKTIDE_CRM_URL": crm_service.base,
        "HOOKTIDE_SMTP_HOST": LOOPBACK,
        "HOOKTIDE_SMTP_PORT": str(mail.port),
        "HOOKTIDE_OPS_EMAIL": "ops@example.test",
        "HOOKTIDE_APPROVER_EMAIL": "approver@example.test",
        "HOOKTIDE_APPROVAL_SECRET": APPROVAL_SECRET,
        "HOOKTIDE_APPROVAL_THRESHOLD": "1000",
        "HOOKTIDE_OUTBOUND_ALLOW": "127.0.0.0/8",
    }


def large_order(order_id: str) -> dict[str, Any]:
    return {
        "id": order_id,
        "customer": {"id": f"cus-{order_id}", "email": "grace@example.com", "name": "Grace"},
        "lines": [{"sku": "WORKSTATION", "quantity": 3, "unit_price": "1499.00"}],
    }


def small_order(order_id: str) -> dict[str, Any]:
    return {
        "id": order_id,
        "customer": {"id": f"cus-{order_id}", "email": "ada@example.com", "name": "Ada"},
        "lines": [{"sku": "BOOK", "quantity": 2, "unit_price": "21.00"}],
    }


async def register_search_attributes(client: Any) -> None:
    """Hooktide's search attributes on a test server (the dev server gets them at start)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
    from temporalio.service import RPCError

    from webhook_gateway.contracts import search_attributes

    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    for key in search_attributes.ALL:
        with contextlib.suppress(RPCError):  # already there
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace="default", search_attributes={key.name: keyword}
                )
            )
