"""Route files the tests share: the end-to-end set, one Standard Webhooks order route, and a
uniquely named route for the high-frequency modes."""

from __future__ import annotations

import uuid
from typing import Any

from webhook_gateway.config.routes import HooktideConfig, parse_config

#: Routes signed with tests.support.signing.ORDERS_SECRET (tests/conftest.py sets the variable).
SECRET = {"env": "TEST_ORDERS_SECRET"}
ORDERS_VERIFIER = {"type": "standard_webhooks", "secret": SECRET}


def orders_route(task_queue: str, prefix: str, **extra: Any) -> dict[str, Any]:
    """POST /webhooks/orders starts OrderWorkflow `<prefix><delivery id>` on `task_queue`."""
    return {
        "path": "/webhooks/orders",
        "workflow": "OrderWorkflow",
        "task_queue": task_queue,
        "workflow_id": {"prefix": prefix},
        "verifier": ORDERS_VERIFIER,
        **extra,
    }


def route_config(task_queue: str, **route: Any) -> tuple[HooktideConfig, str]:
    """One route, named uniquely so inbox and collector ids never meet another test's."""
    name = f"hf-{uuid.uuid4().hex[:8]}"
    body: dict[str, Any] = {
        "path": "/webhooks/hf",
        "workflow": "OrderWorkflow",
        "task_queue": task_queue,
        "delivery_id": {"header": "webhook-id"},
        "verifier": ORDERS_VERIFIER,
        **route,
    }
    return parse_config({"routes": {name: body}}), name


def e2e_config(task_queue: str) -> HooktideConfig:
    common: dict[str, Any] = {
        "task_queue": task_queue,
        "delivery_id": {"header": "webhook-id"},
        "verifier": ORDERS_VERIFIER,
    }
    ticket = {**common, "workflow": "TicketWorkflow"}
    ticket_id = {"path_param": "ticket", "prefix": "ticket-"}
    return parse_config(
        {
            "routes": {
                "orders": {
                    **common,
                    "path": "/webhooks/orders",
                    "workflow": "OrderWorkflow",
                    "workflow_id": {"prefix": "order-"},
                    "max_body_bytes": 4096,
                },
                "orders-unserved": {
                    **common,
                    "path": "/webhooks/unserved",
                    "workflow": "OrderWorkflow",
                    "task_queue": f"nobody-polls-{uuid.uuid4().hex[:6]}",
                },
                "orders-by-body": {
                    **common,
                    "path": "/webhooks/by-body",
                    "workflow": "OrderWorkflow",
                    "delivery_id": {"jmespath": "event.id"},
                },
                "tickets": {
                    **ticket,
                    "path": "/tickets/{ticket}",
                    "mode": "signal_with_start",
                    "workflow_id": ticket_id,
                },
                "comments": {
                    **ticket,
                    "path": "/tickets/{ticket}/comments",
                    "mode": "signal",
                    "workflow_id": ticket_id,
                },
                "replies": {
                    **ticket,
                    "path": "/tickets/{ticket}/reply",
                    "mode": "update",
                    "workflow_id": ticket_id,
                    "reply_timeout_seconds": 5,
                },
            }
        }
    )
