"""The one place where Temporal's exceptions become gateway errors (and so HTTP answers)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.api.errordetails.v1 import NamespaceNotFoundFailure
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from webhook_gateway.errors import (
    GatewayError,
    TemporalUnavailable,
    UpdateRejected,
    WorkflowNotFound,
)

log = logging.getLogger("hooktide.temporal")

#: Statuses that mean "Temporal could not take it now"; anything else is logged as unexpected.
TRANSIENT = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
    }
)


def workflow_missing(exc: RPCError) -> bool:
    """NOT_FOUND for the workflow itself, which is an answer. A missing namespace is
    NOT_FOUND too, and means the gateway is misconfigured."""
    if exc.status != RPCStatusCode.NOT_FOUND:
        return False
    details = exc.grpc_status.details if exc.grpc_status else []
    return not any(d.Is(NamespaceNotFoundFailure.DESCRIPTOR) for d in details)


@contextmanager
def temporal_errors(
    *, retry_after: int, workflow_id: str | None = None, missing_is_404: bool = False
) -> Iterator[None]:
    """Translate what a Temporal call raised.

    Anything Temporal did not confirm becomes 503 + Retry-After: the sender retries, and
    because workflow ids (and update ids) are derived from the delivery id, the retry can
    never start a second workflow. `WorkflowAlreadyStartedError` and
    `WorkflowUpdateRPCTimeoutOrCancelledError` pass through: callers treat them as answers.
    """
    try:
        yield
    except (GatewayError, WorkflowAlreadyStartedError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise UpdateRejected(f"The workflow refused the event: {message}") from exc
    except RPCError as exc:
        if missing_is_404 and workflow_missing(exc):
            raise WorkflowNotFound(
                f"No open workflow '{workflow_id}' to deliver this event to."
            ) from exc
        if exc.status not in TRANSIENT:
            log.error("Temporal refused a call: %s (%s)", exc.message, exc.status.name)
        raise TemporalUnavailable(
            f"Temporal did not accept the event ({exc.status.name}); retry later.",
            retry_after=retry_after,
        ) from exc
    except TimeoutError as exc:
        raise TemporalUnavailable(
            "Temporal did not answer in time; retry later.", retry_after=retry_after
        ) from exc
    except Exception as exc:
        # Connection failures surface from the core client as plain exceptions.
        log.warning("Temporal call failed: %s: %s", type(exc).__name__, exc)
        raise TemporalUnavailable(
            "Temporal cannot be reached; retry later.", retry_after=retry_after
        ) from exc
