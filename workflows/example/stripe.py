"""Stripe examples for a route with `fan_out: all` (see the route file's `stripe` route).

    checkout.session.completed ─▶ CheckoutWorkflow   (rule `checkout`)
    invoice.paid               ─▶ InvoiceWorkflow    (rule `invoice-paid`)
    invoice.*                  ─▶ LedgerWorkflow     (rule `ledger`: invoice.paid starts both)

Each reads the whole Stripe event (give these rules no `input`) through a strict model of the
few fields it needs. A field that is missing or of the wrong type fails the workflow with
`InvalidStripeEvent`, non-retryable: the same event fails the same way on every attempt, and
the failure names the field's path. A real integration would fulfil the order, send the
receipt or write the ledger in activities where these return.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, JsonValue
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from webhook_gateway.contracts.events import WebhookEvent
    from workflows.example.payloads import Strict, read

INVALID_STRIPE_EVENT = "InvalidStripeEvent"
#: Paid, or nothing to pay: what may be fulfilled. A delayed method (a bank debit) completes
#: the session "unpaid" and pays later, in `checkout.session.async_payment_succeeded`.
FULFILLABLE = ("paid", "no_payment_required")


M = TypeVar("M", bound=BaseModel)


class StripeEventData(Strict):
    object: dict[str, JsonValue]


class StripeEvent(Strict):
    id: str
    type: str
    data: StripeEventData


def _read(event: WebhookEvent, model: type[M]) -> tuple[StripeEvent, M]:
    """The Stripe event in `event.body`, and its `data.object` read as `model`."""
    envelope = _validate(StripeEvent, event.body, event)
    return envelope, _validate(model, envelope.data.object, event, "data.object.")


def _validate(model: type[M], data: object, event: WebhookEvent, where: str = "") -> M:
    return read(
        model,
        data,
        delivery_id=event.delivery_id,
        kind=INVALID_STRIPE_EVENT,
        what="a Stripe event this workflow can read",
        where=where,
    )


class SessionFields(Strict):
    id: str
    amount_total: int
    currency: str
    payment_status: str
    customer: str | None = None  # a guest checkout has none
    client_reference_id: str | None = None


class InvoiceFields(Strict):
    id: str
    amount_due: int
    amount_paid: int
    currency: str
    customer: str | None = None
    number: str | None = None  # a draft has none


class Checkout(BaseModel):
    event_id: str
    session: str
    client_reference_id: str | None
    customer: str | None
    amount_total: int
    currency: str
    payment_status: str
    fulfil: bool


class PaidInvoice(BaseModel):
    event_id: str
    invoice: str
    number: str | None
    customer: str | None
    amount_paid: int
    currency: str


class LedgerEntry(BaseModel):
    """One invoice event in the ledger; `amount` is the invoice's amount due, in the
    currency's smallest unit (cents), as Stripe sends it."""

    event_id: str
    invoice: str
    event_type: str
    amount: int
    currency: str


@workflow.defn
class CheckoutWorkflow:
    @workflow.run
    async def run(self, event: WebhookEvent) -> Checkout:
        stripe_event, session = _read(event, SessionFields)
        return Checkout(
            event_id=stripe_event.id,
            session=session.id,
            client_reference_id=session.client_reference_id,
            customer=session.customer,
            amount_total=session.amount_total,
            currency=session.currency,
            payment_status=session.payment_status,
            fulfil=session.payment_status in FULFILLABLE,
        )


@workflow.defn
class InvoiceWorkflow:
    @workflow.run
    async def run(self, event: WebhookEvent) -> PaidInvoice:
        stripe_event, invoice = _read(event, InvoiceFields)
        return PaidInvoice(
            event_id=stripe_event.id,
            invoice=invoice.id,
            number=invoice.number,
            customer=invoice.customer,
            amount_paid=invoice.amount_paid,
            currency=invoice.currency,
        )


@workflow.defn
class LedgerWorkflow:
    @workflow.run
    async def run(self, event: WebhookEvent) -> LedgerEntry:
        stripe_event, invoice = _read(event, InvoiceFields)
        return LedgerEntry(
            event_id=stripe_event.id,
            invoice=invoice.id,
            event_type=stripe_event.type,
            amount=invoice.amount_due,
            currency=invoice.currency,
        )
