"""`http_call`: one line for a workflow step that talks HTTP.

    response = await http_call(HttpRequest(method="POST", url=..., body=JsonBody(data=...)),
                               step="charge-card")

Defaults: start-to-close = the request's total timeout + 10 s; retries with exponential
backoff from 1 s to 5 min, 10 attempts (Retry-After overrides the interval). Pass `timeout=`
or `retry=` to change either for one call. On an unsafe method the Idempotency-Key is
`uuid5(workflow id + step)`: the same on every retry and, for a given `step`, in every run
after continue-as-new. Without `step` a fresh deterministic one is drawn (replay-safe, and
new after continue-as-new, so no two calls share a key).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.http.models import HttpRequest, HttpResponse
    from activities.http.request import HttpActivities, idempotency_key_for

DEFAULT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
)
TIMEOUT_MARGIN = timedelta(seconds=10)


def default_timeout(request: HttpRequest) -> timedelta:
    return timedelta(seconds=request.timeouts.total) + TIMEOUT_MARGIN


async def http_call(
    request: HttpRequest,
    *,
    step: str | None = None,
    timeout: timedelta | None = None,
    retry: RetryPolicy | None = None,
) -> HttpResponse:
    """Run the `http_request` activity; failures arrive as `ActivityError` whose `cause` is
    an `ApplicationError` typed as listed in `activities.http_errors`."""
    if request.unsafe and request.idempotency_key is None:
        key = idempotency_key_for(workflow.info().workflow_id, step or str(workflow.uuid4()))
        request = request.model_copy(update={"idempotency_key": key})
    return await workflow.execute_activity_method(
        HttpActivities.http_request,
        request,
        start_to_close_timeout=timeout or default_timeout(request),
        retry_policy=retry or DEFAULT_RETRY,
    )
