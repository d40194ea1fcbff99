"""Workflows the kit's tests register with `workflows=[...]`, as a user's test would."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.http.models import HttpRequest, JsonBody
    from webhook_gateway.contracts.events import WebhookEvent
    from workflows.http import http_call


class Seen(BaseModel):
    """What a workflow was handed: enough to tell which rule sent which event."""

    workflow: str
    rule: str | None
    event_type: str | None
    body: dict[str, object]


def seen(name: str, event: WebhookEvent) -> Seen:
    body = event.body if isinstance(event.body, dict) else {}
    return Seen(workflow=name, rule=event.rule, event_type=event.event_type, body=body)


@workflow.defn
class ReleaseWorkflow:
    @workflow.run
    async def run(self, event: WebhookEvent) -> Seen:
        return seen("ReleaseWorkflow", event)


@workflow.defn
class AuditWorkflow:
    @workflow.run
    async def run(self, event: WebhookEvent) -> Seen:
        return seen("AuditWorkflow", event)


@workflow.defn
class EchoWorkflow:
    """Returns the body as the gateway parsed it (JSON, or a form's fields)."""

    @workflow.run
    async def run(self, event: WebhookEvent) -> object:
        return event.body


@workflow.defn
class CallbackWorkflow:
    """Posts `{"order": ...}` to the body's `callback` URL with Hooktide's HTTP step."""

    @workflow.run
    async def run(self, event: WebhookEvent) -> int:
        assert isinstance(event.body, dict)
        request = HttpRequest(
            method="POST",
            url=str(event.body["callback"]),
            body=JsonBody(data={"order": event.body["order"]}),
        )
        return (await http_call(request, step="callback")).status
