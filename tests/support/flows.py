"""Workflows the outbound tests drive: one HTTP step, and an event emitter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, JsonValue
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.http.models import HttpRequest, HttpResponse
    from workflows.http import http_call
    from workflows.outbound.events import emit_event


class ProbeInput(BaseModel):
    request: HttpRequest
    step: str | None = None
    max_attempts: int = 5
    continue_once: bool = False


class ProbeResult(BaseModel):
    response: HttpResponse | None = None
    error_type: str | None = None
    error_status: int | None = None
    non_retryable: bool | None = None


@workflow.defn
class HttpProbeWorkflow:
    @workflow.run
    async def run(self, data: ProbeInput) -> ProbeResult:
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=1), maximum_attempts=data.max_attempts
        )
        try:
            response = await http_call(data.request, step=data.step, retry=retry)
        except ActivityError as err:
            cause = err.cause
            if not isinstance(cause, ApplicationError):
                raise
            details: dict[str, Any] = cause.details[0] if cause.details else {}
            return ProbeResult(
                error_type=cause.type,
                error_status=details.get("status"),
                non_retryable=cause.non_retryable,
            )
        if data.continue_once:
            workflow.continue_as_new(data.model_copy(update={"continue_once": False}))
        return ProbeResult(response=response)


class EmitInput(BaseModel):
    event_type: str
    data: JsonValue = None
    key: str | None = None
    times: int = 1


@workflow.defn
class EmitterWorkflow:
    @workflow.run
    async def run(self, data: EmitInput) -> list[str]:
        ids: list[str] = []
        for _ in range(data.times):
            ids += await emit_event(data.event_type, data.data, key=data.key)
        return ids


@workflow.defn
class BadReplyWorkflow:
    """Answers an update with something that is not a WebhookReply (a status of 99)."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done and workflow.all_handlers_finished())

    @workflow.update(name="webhook")
    def on_update(self, event: Any) -> dict[str, Any]:
        self._done = True
        return {"status": 99, "body": "not a reply"}


TEST_WORKFLOWS = [HttpProbeWorkflow, EmitterWorkflow, BadReplyWorkflow]
