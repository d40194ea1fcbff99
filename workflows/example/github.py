"""GitHub examples for a route with routing rules (see the route file's `github` route).

- `DeployWorkflow`, rule `deploy-main` (mode `start`): one run per commit pushed to main,
  id `deploy-<sha>`, so a redelivered push starts nothing new. The rule's `input` projects
  the push to `{sha, repo, pusher}`; that projection is the event's body here.
- `PullRequestWorkflow`, rule `pull-requests` (mode `signal_with_start`): one run per pull
  request, id `pr-<node id>`, fed every `pull_request.*` event on the signal `webhook`. It
  records what happened to the pull request and ends when it is closed, or after 30 days
  without an event. An event arriving after the close starts a new run under the same id.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ValidationError
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from webhook_gateway.contracts.events import WebhookEvent
    from workflows.dedupe import DeliveryLog
    from workflows.example.payloads import Strict, problems, read

#: A body that is not the projected push: the workflow fails, and retrying cannot help.
INVALID_DEPLOY_REQUEST = "InvalidDeployRequest"
#: Stands in for the rollout; a real deploy would call its activities here.
ROLLOUT = timedelta(seconds=1)
IDLE_TIMEOUT = timedelta(days=30)
CLOSED = "pull_request.closed"


class DeployRequest(Strict):
    """The body the `deploy-main` rule projects from a push."""

    sha: str
    repo: str
    pusher: str


class Deployment(BaseModel):
    sha: str
    repo: str
    pusher: str
    started_at: datetime
    finished_at: datetime


@workflow.defn
class DeployWorkflow:
    @workflow.run
    async def run(self, event: WebhookEvent) -> Deployment:
        request = read(
            DeployRequest,
            event.body,
            delivery_id=event.delivery_id,
            kind=INVALID_DEPLOY_REQUEST,
            what="a deploy request (the rule's input should project {sha, repo, pusher})",
        )
        started = workflow.now()
        workflow.logger.info("deploying %s of %s", request.sha, request.repo)
        await workflow.sleep(ROLLOUT)
        return Deployment(
            sha=request.sha,
            repo=request.repo,
            pusher=request.pusher,
            started_at=started,
            finished_at=workflow.now(),
        )


class PullRequestEvent(BaseModel):
    """One event, and the pull request as it was then (a title can be edited, and each
    push moves the head)."""

    delivery_id: str
    event_type: str
    action: str
    number: int
    title: str
    head_sha: str
    at: datetime


class PullRequestState(BaseModel):
    workflow_id: str
    repo: str | None = None
    number: int | None = None
    title: str | None = None
    head_sha: str | None = None
    merged: bool = False
    status: Literal["open", "closed", "idle"] = "open"
    events: list[PullRequestEvent]
    #: Deliveries that were not a pull request event (logged, otherwise ignored).
    ignored: list[str]


class HeadFields(Strict):
    sha: str


class PullRequestFields(Strict):
    number: int
    title: str
    head: HeadFields
    merged: bool | None = None


class RepositoryFields(Strict):
    full_name: str


class PullRequestBody(Strict):
    action: str
    pull_request: PullRequestFields
    repository: RepositoryFields


@workflow.defn
class PullRequestWorkflow:
    def __init__(self) -> None:
        self._state = PullRequestState(
            workflow_id=workflow.info().workflow_id, events=[], ignored=[]
        )
        self._seen = DeliveryLog()

    @workflow.run
    async def run(self) -> PullRequestState:
        while self._state.status == "open":
            if not await self._news_within(IDLE_TIMEOUT):
                self._state.status = "idle"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    async def _news_within(self, timeout: timedelta) -> bool:
        """True once an event is recorded or the pull request is closed; False if neither
        happens within `timeout` (so every event restarts the idle clock)."""
        count = len(self._state.events)
        try:
            await workflow.wait_condition(
                lambda: self._state.status != "open" or len(self._state.events) != count,
                timeout=timeout,
            )
        except TimeoutError:
            return False
        return True

    @workflow.signal(name="webhook")
    def on_event(self, event: WebhookEvent) -> None:
        if not self._seen.first_time(event.delivery_id):
            return
        try:
            body = PullRequestBody.model_validate(event.body)
        except ValidationError as err:
            # A signal handler that raised would fail the whole pull request's workflow.
            workflow.logger.warning(
                "delivery %s ignored, not a pull request event: %s",
                event.delivery_id,
                "; ".join(problems(err)),
            )
            self._state.ignored.append(event.delivery_id)
            return
        pr = body.pull_request
        event_type = event.event_type or f"pull_request.{body.action}"
        state = self._state
        state.repo, state.number, state.title = body.repository.full_name, pr.number, pr.title
        state.head_sha = pr.head.sha
        state.merged = bool(pr.merged)
        state.events.append(
            PullRequestEvent(
                delivery_id=event.delivery_id,
                event_type=event_type,
                action=body.action,
                number=pr.number,
                title=pr.title,
                head_sha=pr.head.sha,
                at=workflow.now(),
            )
        )
        if event_type == CLOSED and state.status == "open":
            state.status = "closed"

    @workflow.query
    def state(self) -> PullRequestState:
        return self._state
