"""The order example's types, shared by its workflow and activities."""

from __future__ import annotations

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


class OrderResult(BaseModel):
    order_id: str | None
    delivery_id: str
    status: Literal["accepted", "rejected"]
    total: Decimal | None = None
    reason: str | None = None


class OrderStatus(BaseModel):
    delivery_id: str
    step: str
    history: list[str]
