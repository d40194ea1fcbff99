"""Reading a webhook body into a typed model inside an example workflow.

A field of the wrong type is an error, not a conversion; unknown fields pass (senders add
fields). A body that does not fit fails the workflow non-retryably: the same event would
fail the same way on every retry.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from temporalio.exceptions import ApplicationError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(strict=True)


def problems(err: ValidationError, where: str = "") -> list[str]:
    """`pull_request.head.sha: Field required`: the body's path, then what is wrong."""
    return [f"{where}{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in err.errors()]


def read(
    model: type[M], data: object, *, delivery_id: str, kind: str, what: str, where: str = ""
) -> M:
    """`data` as `model`, or a non-retryable `ApplicationError` of type `kind` naming each
    wrong field (`what` says what the body should have been)."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        found = problems(err, where)
        raise ApplicationError(
            f"Delivery {delivery_id} is not {what}: " + "; ".join(found),
            {"delivery_id": delivery_id, "problems": found},
            type=kind,
            non_retryable=True,
        ) from None
