"""The order example's types, shared by its workflow, its activities and the approval page.

Everything here travels through workflow history: no secret, no link token, only names.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    name: str | None = None


class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0, le=10_000)
    unit_price: Decimal = Field(ge=0)


class Order(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    customer: Customer
    lines: list[OrderLine] = Field(min_length=1)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")

    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal(0))


class ValidateOrderInput(BaseModel):
    body: object


class OrderSetup(BaseModel):
    """How this deployment runs an order, read from the worker's settings by `validate_order`
    (workflow code never reads the environment). None / False leaves a step out."""

    inventory_url: str | None = None
    crm_url: str | None = None
    email: bool = False
    events: bool = False
    ui_url: str = "http://127.0.0.1:8233"
    search_attributes: list[str] = Field(default_factory=list)


class OrderCheck(BaseModel):
    """`validate_order`'s verdict: the order, or why it is invalid; and whether it needs a
    human's approval (`approval_problem` says why that cannot be asked for)."""

    order: Order | None = None
    problems: str | None = None
    needs_approval: bool = False
    approval_threshold: Decimal | None = None
    approval_problem: str | None = None
    setup: OrderSetup = Field(default_factory=OrderSetup)


CustomerEmailKind = Literal["confirmation", "cancellation"]


class CustomerEmailInput(BaseModel):
    kind: CustomerEmailKind
    workflow_id: str
    order: Order
    reason: str | None = None


class ApprovalRequestInput(BaseModel):
    """Ask the approver (again, with `reminder`). The link is made by the activity."""

    workflow_id: str
    nonce: str
    expires_at: datetime
    order: Order
    threshold: Decimal | None = None
    reminder: bool = False


class ApprovalDecision(BaseModel):
    """A decision for the pending approval `nonce` (the update `decide`, or the signal)."""

    nonce: str
    approved: bool
    by: str = "approval link"
    note: str | None = None


class ApprovalState(BaseModel):
    status: Literal["pending", "approved", "rejected", "expired"]
    nonce: str
    requested_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    note: str | None = None


class OrderResult(BaseModel):
    order_id: str | None
    delivery_id: str
    status: Literal["accepted", "rejected"]  # accepted: every step done
    total: Decimal | None = None
    reason: str | None = None
    rejection_type: str | None = None


class StepRecord(BaseModel):
    step: str
    at: datetime
    detail: str | None = None


class OrderStatus(BaseModel):
    delivery_id: str
    order_id: str | None = None
    customer_id: str | None = None
    total: Decimal | None = None
    currency: str | None = None
    step: str
    history: list[StepRecord]
    approval: ApprovalState | None = None

    @property
    def steps(self) -> list[str]:
        return [record.step for record in self.history]
