"""Order activities: validation (more steps come with the full order example)."""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows.order_types import Order, ValidateOrderInput

INVALID_ORDER = "InvalidOrder"


@activity.defn
async def validate_order(data: ValidateOrderInput) -> Order:
    """Parse and check an order; an invalid one is a non-retryable `InvalidOrder` failure."""
    try:
        order = Order.model_validate(data.body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'order'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ApplicationError(
            f"Invalid order: {problems}", type=INVALID_ORDER, non_retryable=True
        ) from None
    skus = [line.sku for line in order.lines]
    if len(set(skus)) != len(skus):
        raise ApplicationError(
            "Invalid order: a SKU appears on more than one line.",
            type=INVALID_ORDER,
            non_retryable=True,
        )
    return order
