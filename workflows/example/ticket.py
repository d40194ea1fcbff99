"""TicketWorkflow: a long-lived conversation fed by webhooks.

Shows the three modes that address an existing workflow: `signal_with_start` opens or
appends, `signal` appends to an open ticket (404 at the gateway if there is none), and
`update` appends and answers the HTTP request with the ticket's state.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from webhook_gateway.contracts.events import WebhookEvent, WebhookReply
    from workflows.dedupe import DeliveryLog

IDLE_TIMEOUT = timedelta(days=30)


class TicketState(BaseModel):
    ticket_id: str
    status: str
    comments: list[str]


@workflow.defn
class TicketWorkflow:
    def __init__(self) -> None:
        self._comments: list[str] = []
        self._closed = False
        self._seen = DeliveryLog()

    def _apply(self, event: WebhookEvent) -> bool:
        if not self._seen.first_time(event.delivery_id):
            return False
        body = event.body if isinstance(event.body, dict) else {}
        comment = body.get("comment")
        if isinstance(comment, str):
            self._comments.append(comment)
        if body.get("action") == "close":
            self._closed = True
        return True

    def _state(self) -> TicketState:
        return TicketState(
            ticket_id=workflow.info().workflow_id,
            status="closed" if self._closed else "open",
            comments=list(self._comments),
        )

    @workflow.run
    async def run(self) -> TicketState:
        try:
            await workflow.wait_condition(
                lambda: self._closed and workflow.all_handlers_finished(), timeout=IDLE_TIMEOUT
            )
        except TimeoutError:
            self._closed = True
        return self._state()

    @workflow.signal(name="webhook")
    def on_event(self, event: WebhookEvent) -> None:
        self._apply(event)

    @workflow.update(name="webhook")
    def on_update(self, event: WebhookEvent) -> WebhookReply:
        self._apply(event)
        return WebhookReply(status=200, body=self._state().model_dump(mode="json"))

    @on_update.validator
    def _validate(self, event: WebhookEvent) -> None:
        if self._closed:
            raise ValueError("The ticket is closed.")

    @workflow.query
    def state(self) -> TicketState:
        return self._state()
