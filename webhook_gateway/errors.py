"""Every error the gateway answers with, and the HTTP status each one means.

    GatewayError                      500  (never raised directly)
    ├── RequestRejected               4xx  something the sender can fix
    │   ├── RouteNotFound             404
    │   ├── MethodNotAllowed          405
    │   ├── BodyTooLarge              413
    │   ├── UnsupportedMediaType      415
    │   ├── MalformedBody             400
    │   ├── UnprocessableEvent        422
    │   │   ├── SchemaMismatch        422  + `errors`: [{pointer, message}]
    │   │   └── NoMatchingRule        422  (`otherwise: reject`)
    │   ├── VerificationFailed        401
    │   ├── Forbidden                 403
    │   ├── TooManyRequests           429 + Retry-After
    │   ├── WorkflowNotFound          404
    │   └── UpdateRejected            422
    │   └── BodyTimeout               408
    ├── BadWorkflowReply              502
    └── TemporalUnavailable           503 + Retry-After

Each class sets the problem `type` slug and status; the message is the problem `detail`
and is written for the sender: it says what was wrong and never echoes a secret or an
expected signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webhook_gateway.contracts.errors import ConfigError as ConfigError  # re-exported


class GatewayError(Exception):
    """Base class of every error the gateway maps to an HTTP answer."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})

    def extra(self) -> dict[str, Any]:
        """Members added to the problem body besides type, title, status and detail."""
        return {}


class RequestRejected(GatewayError):
    """The request itself is wrong; retrying it unchanged will fail again."""

    status = 400
    slug = "bad-request"
    title = "Bad request"


class RouteNotFound(RequestRejected):
    """No webhook route is declared at this path."""

    status = 404
    slug = "route-not-found"
    title = "No such webhook route"


class MethodNotAllowed(RequestRejected):
    """The route exists but does not accept this HTTP method."""

    status = 405
    slug = "method-not-allowed"
    title = "Method not allowed"


class BodyTooLarge(RequestRejected):
    """The body is larger than the route's limit."""

    status = 413
    slug = "body-too-large"
    title = "Request body too large"


class BodyTimeout(RequestRejected):
    """The body did not arrive in time (a stalled or deliberately slow sender)."""

    status = 408
    slug = "body-timeout"
    title = "Request body timeout"


class UnsupportedMediaType(RequestRejected):
    """The Content-Type is not one the route accepts."""

    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported content type"


class MalformedBody(RequestRejected):
    """The body could not be parsed as its content type says."""

    status = 400
    slug = "malformed-body"
    title = "Malformed body"


class UnprocessableEvent(RequestRejected):
    """The body parsed, but lacks what the route needs (a delivery id, a workflow id)."""

    status = 422
    slug = "unprocessable-event"
    title = "Unprocessable event"


class SchemaMismatch(UnprocessableEvent):
    """The body does not match the route's (or rule's) JSON Schema."""

    slug = "schema-mismatch"
    title = "The body does not match the schema"

    def __init__(self, detail: str, *, errors: list[dict[str, str]]) -> None:
        super().__init__(detail)
        self.errors = errors

    def extra(self) -> dict[str, Any]:
        return {"errors": self.errors}


class NoMatchingRule(UnprocessableEvent):
    """No routing rule takes this event and the route rejects such events."""

    slug = "no-matching-rule"
    title = "No rule takes this event"


class VerificationFailed(RequestRejected):
    """The request's authentication is missing, malformed or wrong."""

    status = 401
    title = "Verification failed"

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail, headers=None)
        self.slug = f"verification-failed/{reason}"
        self.reason = reason


class Forbidden(RequestRejected):
    """The caller is authenticated but not allowed here."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class TooManyRequests(RequestRejected):
    """The route's rate limit is spent; the sender should retry after `Retry-After`."""

    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class WorkflowNotFound(RequestRejected):
    """A signal route named a workflow that does not exist or has closed."""

    status = 404
    slug = "workflow-not-found"
    title = "Workflow not found"


class UpdateRejected(RequestRejected):
    """The workflow's update validator or handler refused the event."""

    status = 422
    slug = "update-rejected"
    title = "Rejected by the workflow"


class BadWorkflowReply(GatewayError):
    """An update-mode workflow answered with something that is not a `WebhookReply`."""

    status = 502
    slug = "bad-workflow-reply"
    title = "The workflow's reply could not be sent"


class TemporalUnavailable(GatewayError):
    """Temporal did not accept the event in time; the sender should retry later."""

    status = 503
    slug = "temporal-unavailable"
    title = "Temporal is unavailable"

    def __init__(self, detail: str, *, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after
