"""Where a verified event becomes a Temporal call: one method per route mode.

High-frequency routes go through `group_commit.py` (start mode with `group_commit`) or a
per-key collector workflow (modes batch and debounce); see `highfreq.py`.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import ValidationError
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import Priority, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from webhook_gateway.config.id_rule import IdRule
from webhook_gateway.config.ids import extract_id
from webhook_gateway.config.target import Target
from webhook_gateway.contracts.events import WebhookEvent, WebhookReply
from webhook_gateway.contracts.flow import FlowValues
from webhook_gateway.contracts.highfreq import (
    BATCH_WORKFLOW,
    COLLECT_SIGNAL,
    DEBOUNCE_WORKFLOW,
    CollectorInput,
    collected,
    collector_workflow_id,
)
from webhook_gateway.dispatch.collect_commit import CollectCommitter
from webhook_gateway.dispatch.group_commit import CommitStats, GroupCommitter
from webhook_gateway.dispatch.indexing import DeliveryIndex
from webhook_gateway.dispatch.sequencing import signal_sequencer
from webhook_gateway.dispatch.temporal_errors import temporal_errors
from webhook_gateway.errors import BadWorkflowReply, TemporalUnavailable

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Ack:
    """Temporal holds the event. `run_id` is None where Temporal does not report it (signal);
    `run_id` and `duplicate` are None where the workflow is started later (group commit)."""

    delivery_id: str
    workflow_id: str
    run_id: str | None
    duplicate: bool | None


@dataclass(frozen=True, kw_only=True)
class Reply:
    """An update-mode answer: the workflow's reply, or None while it is still pending."""

    ack: Ack
    reply: WebhookReply | None


class Dispatcher:
    def __init__(self, client: Client, *, rpc_timeout: float, retry_after: int) -> None:
        self.client = client
        self._rpc_timeout = rpc_timeout
        self._retry_after = retry_after
        self._committers: dict[str, GroupCommitter] = {}
        self._collects = CollectCommitter(client, rpc_timeout=rpc_timeout, retry_after=retry_after)
        self._index = DeliveryIndex(client, timeout=rpc_timeout)

    async def _call(self, make: Callable[[], Awaitable[T]], limit: float | None = None) -> T:
        limit = limit or self._rpc_timeout
        # The SDK retries UNAVAILABLE internally; the outer bound keeps our answer prompt.
        # Bounded in this task: `wait_for` starts a task per call before Python 3.12.
        async with asyncio.timeout(limit + 0.5):
            return await make()

    @functools.cached_property
    def _rpc(self) -> timedelta:
        return timedelta(seconds=self._rpc_timeout)

    async def dispatch(
        self, target: Target, event: WebhookEvent, workflow_id: str, flow: FlowValues | None = None
    ) -> Ack | Reply:
        if flow is not None and flow.key is not None:
            return await self.sequence(target, event, workflow_id, flow)
        if target.mode == "start" and target.group_commit is not None:
            return await self.group_commit(target, event, workflow_id)
        if target.mode == "start":
            return await self.start(target, event, workflow_id, flow)
        if target.mode in ("batch", "debounce"):
            return await self.collect(target, event)
        if target.mode == "signal":
            return await self.signal(target, event, workflow_id)
        if target.mode == "signal_with_start":
            return await self.signal_with_start(target, event, workflow_id)
        return await self.update(target, event, workflow_id)

    async def sequence(
        self, target: Target, event: WebhookEvent, workflow_id: str, flow: FlowValues
    ) -> Ack:
        """Flow control: acked once the key's sequencer holds the event; it starts the
        event's workflow (this `workflow_id`) in its turn, so run id and duplicate are
        unknown here."""
        await signal_sequencer(self._collects, self._index, target, event, workflow_id, flow)
        return Ack(
            delivery_id=event.delivery_id, workflow_id=workflow_id, run_id=None, duplicate=None
        )

    async def start(
        self, target: Target, event: WebhookEvent, workflow_id: str, flow: FlowValues | None = None
    ) -> Ack:
        """One workflow per delivery: a second start of the same id, open or closed, is refused
        by Temporal and answered as a duplicate with the first run's id."""
        try:
            priority = flow.priority.temporal() if flow and flow.priority else Priority.default
            with temporal_errors(retry_after=self._retry_after):
                indexed = await self._index.attributes(event)
                handle = await self._call(
                    lambda: self.client.start_workflow(
                        target.workflow,
                        event,
                        id=workflow_id,
                        task_queue=target.task_queue,
                        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        search_attributes=indexed,
                        priority=priority,
                        rpc_timeout=self._rpc,
                    )
                )
        except WorkflowAlreadyStartedError as exc:
            return Ack(
                delivery_id=event.delivery_id,
                workflow_id=workflow_id,
                run_id=exc.run_id,
                duplicate=True,
            )
        return Ack(
            delivery_id=event.delivery_id,
            workflow_id=workflow_id,
            run_id=handle.result_run_id,
            duplicate=False,
        )

    async def group_commit(self, target: Target, event: WebhookEvent, workflow_id: str) -> Ack:
        """Acked once the inbox workflow holding the event has it; its own workflow (same id
        as in plain start mode) is started by the inbox, so run id and duplicate are unknown."""
        await self._committer(target).submit(event, workflow_id)
        return Ack(
            delivery_id=event.delivery_id, workflow_id=workflow_id, run_id=None, duplicate=None
        )

    def _committer(self, target: Target) -> GroupCommitter:
        # Created on first use, so inside the app's running loop; closed by `aclose`.
        committer = self._committers.get(target.name)
        if committer is None:
            assert target.group_commit is not None
            committer = GroupCommitter(
                self.client,
                route=target.name,
                workflow=target.workflow,
                task_queue=target.task_queue,
                config=target.group_commit,
                rpc_timeout=self._rpc_timeout,
                retry_after=self._retry_after,
            )
            self._committers[target.name] = committer
        return committer

    def group_commit_stats(self) -> dict[str, CommitStats]:
        """Per group-commit route: batch sizes and estimated backlog (for metrics)."""
        return {name: c.stats() for name, c in self._committers.items()}

    async def aclose(self) -> None:
        """Commit or fail what group commit still holds; call from the lifespan shutdown."""
        committers, self._committers = list(self._committers.values()), {}
        await asyncio.gather(*(c.aclose() for c in committers))

    async def collect(self, target: Target, event: WebhookEvent) -> Ack:
        """Batch and debounce routes: signal-with-start the key's collector workflow (batch
        routes coalesce concurrent requests for a key into one call, `collect_commit.py`)."""
        settings = target.batch or target.debounce
        assert settings is not None
        key = extract_id(
            IdRule(jmespath=settings.key),
            what=f"{target.mode} key",
            headers=event.headers,
            path_params=event.path_params,
            body=event.body,
        )
        collector_id = collector_workflow_id(target.mode, target.name, key)
        prefix = target.workflow_id.prefix
        start = CollectorInput(
            route=target.name,
            key=key,
            workflow=target.workflow,
            task_queue=target.task_queue,
            workflow_id_prefix=prefix,
            idle_seconds=settings.idle_seconds,
        )
        if target.batch is not None:
            start = start.model_copy(
                update={
                    "max_size": target.batch.max_size,
                    "max_wait_seconds": target.batch.max_wait_seconds,
                    "max_bytes": target.batch.max_bytes,
                }
            )
        elif target.debounce is not None:
            start = start.model_copy(
                update={
                    "period_seconds": target.debounce.period_seconds,
                    "burst_max_seconds": target.debounce.max_wait_seconds,
                }
            )
        kind = BATCH_WORKFLOW if target.mode == "batch" else DEBOUNCE_WORKFLOW
        if target.batch is not None and target.batch.coalesce:
            run_id = await self._collects.submit(
                collector_id, event, workflow=kind, task_queue=target.task_queue,
                start=start, linger_ms=target.batch.coalesce_wait_ms,
            )  # fmt: skip
            return Ack(
                delivery_id=event.delivery_id, workflow_id=collector_id, run_id=run_id,
                duplicate=None,
            )  # fmt: skip
        signalled = collected(event) if target.mode == "batch" else event
        with temporal_errors(retry_after=self._retry_after):
            handle = await self._call(
                lambda: self.client.start_workflow(
                    kind,
                    start,
                    id=collector_id,
                    task_queue=target.task_queue,
                    start_signal=COLLECT_SIGNAL,
                    start_signal_args=[signalled],
                    rpc_timeout=self._rpc,
                )
            )
        return Ack(
            delivery_id=event.delivery_id,
            workflow_id=collector_id,
            run_id=handle.result_run_id,
            duplicate=None,
        )

    async def signal(self, target: Target, event: WebhookEvent, workflow_id: str) -> Ack:
        handle = self.client.get_workflow_handle(workflow_id)
        with temporal_errors(
            retry_after=self._retry_after, workflow_id=workflow_id, missing_is_404=True
        ):
            await self._call(lambda: handle.signal(target.signal, event, rpc_timeout=self._rpc))
        return Ack(
            delivery_id=event.delivery_id, workflow_id=workflow_id, run_id=None, duplicate=False
        )

    async def signal_with_start(self, target: Target, event: WebhookEvent, workflow_id: str) -> Ack:
        with temporal_errors(retry_after=self._retry_after):
            handle = await self._call(
                lambda: self.client.start_workflow(
                    target.workflow,
                    id=workflow_id,
                    task_queue=target.task_queue,
                    start_signal=target.signal,
                    start_signal_args=[event],
                    rpc_timeout=self._rpc,
                )
            )
        return Ack(
            delivery_id=event.delivery_id,
            workflow_id=workflow_id,
            run_id=handle.result_run_id,
            duplicate=False,
        )

    async def update(self, target: Target, event: WebhookEvent, workflow_id: str) -> Reply:
        """Update-with-start, with the delivery id as update id (Temporal dedupes on it).

        The event is durable once the update is *accepted*: until then it is refused with 503.
        After acceptance the reply is awaited for what is left of the route's reply timeout;
        if it is not ready the caller answers 202 and the sender polls the status URL.
        """
        deadline = time.monotonic() + target.reply_timeout_seconds
        operation: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            target.workflow,
            id=workflow_id,
            task_queue=target.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        try:
            with temporal_errors(retry_after=self._retry_after):
                handle = await self._call(
                    lambda: self.client.start_update_with_start_workflow(
                        target.update,
                        event,
                        start_workflow_operation=operation,
                        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                        id=event.delivery_id,
                        rpc_timeout=timedelta(seconds=target.reply_timeout_seconds),
                    ),
                    limit=target.reply_timeout_seconds,
                )
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
            raise TemporalUnavailable(
                "The workflow did not accept the event in time (is a worker running?); "
                "retry later.",
                retry_after=self._retry_after,
            ) from exc
        run_id = (await operation.workflow_handle()).result_run_id
        ack = Ack(
            delivery_id=event.delivery_id, workflow_id=workflow_id, run_id=run_id, duplicate=False
        )
        remaining = max(deadline - time.monotonic(), 0.05)
        try:
            with temporal_errors(retry_after=self._retry_after):
                result = await self._call(
                    lambda: handle.result(rpc_timeout=timedelta(seconds=remaining)),
                    limit=remaining,
                )
        except (WorkflowUpdateRPCTimeoutOrCancelledError, TemporalUnavailable):
            return Reply(ack=ack, reply=None)
        return Reply(ack=ack, reply=_as_reply(result))


def _as_reply(result: object) -> WebhookReply:
    if isinstance(result, WebhookReply):
        return result
    try:
        return WebhookReply.model_validate(result)
    except ValidationError as exc:
        raise BadWorkflowReply(
            "The workflow's update returned something other than a WebhookReply."
        ) from exc
