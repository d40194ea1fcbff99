"""Order activities: validation (with this deployment's setup), customer email, approval
requests. Inventory and CRM are plain HTTP steps (`workflows.http.http_call`)."""

from __future__ import annotations

import time

from pydantic import ValidationError
from temporalio import activity
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities.email import EMAIL_NOT_CONFIGURED, build_message, send_message
from activities.settings import OrderSettings
from webhook_gateway.contracts import search_attributes
from webhook_gateway.contracts.approval_tokens import approval_link, make_token
from webhook_gateway.contracts.order import (
    ApprovalRequestInput,
    CustomerEmailInput,
    Order,
    OrderCheck,
    OrderSetup,
    ValidateOrderInput,
)

INVALID_ORDER = "InvalidOrder"
APPROVAL_NOT_CONFIGURED = "ApprovalNotConfigured"
SEARCH_ATTRIBUTES_TTL = 300.0
_registered: dict[str, tuple[float, list[str]]] = {}


async def _registered_search_attributes(namespace: str) -> list[str]:
    """Hooktide's search attributes this namespace knows (cached a few minutes): upserting
    one it does not know would fail the workflow task, so the workflow only sets these."""
    client = activity.client()
    where = f"{client.service_client.config.target_host}/{namespace}"
    cached = _registered.get(where)
    if cached and time.monotonic() - cached[0] < SEARCH_ATTRIBUTES_TTL:
        return cached[1]
    try:
        known = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        names = sorted(k.name for k in search_attributes.ALL if k.name in known.custom_attributes)
    except RPCError as exc:
        activity.logger.info("search attributes not listed (%s); not setting them", exc.status)
        names = []
    _registered[where] = (time.monotonic(), names)
    return names


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'order'}: {err['msg']}" for err in exc.errors()
    )


def check_order(body: object) -> tuple[Order | None, str | None]:
    """The typed model, then the business rules."""
    try:
        order = Order.model_validate(body)
    except ValidationError as exc:
        return None, f"Invalid order: {_problems(exc)}"
    skus = [line.sku for line in order.lines]
    if len(set(skus)) != len(skus):
        return None, "Invalid order: a SKU appears on more than one line."
    if order.total <= 0:
        return None, "Invalid order: the total must be more than zero."
    return order, None


def _lines(order: Order) -> str:
    rows = [f"  {line.quantity} x {line.sku} at {line.unit_price}" for line in order.lines]
    return "\n".join([*rows, f"  total {order.total} {order.currency}"])


class OrderActivities:
    """The order example's activities, built once by the worker with its settings."""

    def __init__(self, settings: OrderSettings) -> None:
        self._settings = settings

    @activity.defn
    async def validate_order(self, data: ValidateOrderInput) -> OrderCheck:
        """Check an order and say how to run it here. Never fails for an invalid order: that is
        a verdict (`problems`), which the workflow turns into a typed rejection."""
        settings = self._settings
        setup = OrderSetup(
            inventory_url=settings.inventory_url.rstrip("/") if settings.inventory_url else None,
            crm_url=settings.crm_url.rstrip("/") if settings.crm_url else None,
            email=bool(settings.smtp_host),
            events=settings.order_events,
            ui_url=settings.ui_url.rstrip("/"),
            search_attributes=await _registered_search_attributes(
                activity.info().workflow_namespace or activity.info().namespace
            ),
        )
        order, problems = check_order(data.body)
        if order is None:
            return OrderCheck(problems=problems, setup=setup)
        threshold = settings.approval_threshold
        needs = order.total > threshold
        problem = None
        if needs and not (settings.approval_secret and settings.smtp_host):
            problem = (
                f"order total {order.total} is over the approval threshold {threshold}, but "
                "approvals need HOOKTIDE_APPROVAL_SECRET and HOOKTIDE_SMTP_HOST"
            )
        return OrderCheck(
            order=order,
            needs_approval=needs,
            approval_threshold=threshold,
            approval_problem=problem,
            setup=setup,
        )

    @activity.defn
    async def send_customer_email(self, data: CustomerEmailInput) -> None:
        """Confirmation or cancellation to the customer."""
        settings = self._settings
        order = data.order
        name = order.customer.name or "customer"
        if data.kind == "confirmation":
            subject = f"Order {order.id} confirmed"
            text = (
                f"Hello {name},\n\nthank you: order {order.id} is confirmed.\n\n{_lines(order)}\n"
            )
        else:
            subject = f"Order {order.id} cancelled"
            text = (
                f"Hello {name},\n\nwe are sorry: order {order.id} was cancelled"
                f"{f' ({data.reason})' if data.reason else ''}. You will not be charged.\n\n"
                f"{_lines(order)}\n"
            )
        message = build_message(
            settings,
            to=[order.customer.email],
            subject=subject,
            text=text,
            key=f"{data.workflow_id}/{data.kind}",
        )
        await send_message(settings, message)

    @activity.defn
    async def request_approval(self, data: ApprovalRequestInput) -> None:
        """Email the approver a signed, expiring link (made here, so it never enters history);
        the reminder goes to the approver again with operations in copy."""
        settings = self._settings
        approver = settings.approver_email or settings.ops_email
        if settings.approval_secret is None or not approver:
            raise ApplicationError(
                "Approvals need HOOKTIDE_APPROVAL_SECRET and HOOKTIDE_APPROVER_EMAIL (or "
                "HOOKTIDE_OPS_EMAIL).",
                type=APPROVAL_NOT_CONFIGURED,
                non_retryable=True,
            )
        token = make_token(
            settings.approval_secret.get_secret_value(),
            data.workflow_id,
            data.nonce,
            data.expires_at,
        )
        link = approval_link(settings.gateway_url, token)
        order = data.order
        what = "Reminder: approval still needed" if data.reminder else "Approval needed"
        text = (
            f"Order {order.id} from {order.customer.name or order.customer.id} "
            f"<{order.customer.email}> totals {order.total} {order.currency}"
            f"{f', over the approval threshold of {data.threshold}' if data.threshold else ''}.\n\n"
            f"{_lines(order)}\n\nApprove or reject it here (the link works once, until "
            f"{data.expires_at:%Y-%m-%d %H:%M} UTC; without a decision the order is rejected "
            f"then):\n\n{link}\n"
        )
        cc = [settings.ops_email] if data.reminder and settings.ops_email else []
        step = "reminder" if data.reminder else "ask"
        message = build_message(
            settings,
            to=[approver],
            cc=cc,
            subject=f"{what}: order {order.id} ({order.total} {order.currency})",
            text=text,
            key=f"{data.workflow_id}/approval/{data.nonce}/{step}",
        )
        await send_message(settings, message)


__all__ = [
    "APPROVAL_NOT_CONFIGURED",
    "EMAIL_NOT_CONFIGURED",
    "INVALID_ORDER",
    "OrderActivities",
]
