"""A workflow's steps in a webhook operator's words, read from its history: each activity
(what it was, how many attempts, how it ended, its last failure), each child workflow,
the signals and updates it took, and the run's own failure. Temporal's Web UI shows the
full history; this is the summary beside a delivery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import WorkflowHistory
from temporalio.converter import PayloadCodec


@dataclass
class Step:
    kind: str  # "activity" | "child" | "local activity"
    name: str
    status: str = "scheduled"  # scheduled, running, completed, failed, timed-out, canceled
    attempts: int = 1
    last_failure: str | None = None
    next_attempt_in: str | None = None


@dataclass
class Summary:
    steps: list[Step] = field(default_factory=list)
    signals: dict[str, int] = field(default_factory=dict)
    updates: dict[str, int] = field(default_factory=dict)
    failure: str | None = None
    events: int = 0
    #: The run this one was reset from (a redrive by reset), and the reset's reason.
    reset_from: str | None = None
    reset_reason: str | None = None


def _message(failure: Failure) -> str:
    """The message, from the encoded attributes where the failure converter moved it there
    (HOOKTIDE_ENCRYPT_FAILURES) and they have been decoded (`decode_failures`)."""
    encoded = failure.encoded_attributes
    if failure.HasField("encoded_attributes") and encoded.metadata.get("encoding") == b"json/plain":
        try:
            return str(json.loads(encoded.data).get("message", failure.message))
        except (ValueError, AttributeError):
            return failure.message
    return failure.message


def failure_text(failure: Failure) -> str:
    """The failure and its causes, outermost first (`activity error: CRM answered 503`)."""
    parts = [_message(failure)]
    while failure.HasField("cause"):
        failure = failure.cause
        parts.append(_message(failure))
    return ": ".join(p for p in parts if p)


def _failures(event: HistoryEvent) -> Iterator[Failure]:
    for name in FAILURE_FIELDS:
        attributes, _, field_name = name.partition(".")
        if event.HasField(attributes):  # type: ignore[arg-type]
            holder = getattr(event, attributes)
            if holder.HasField(field_name):
                yield getattr(holder, field_name)


FAILURE_FIELDS = (
    "activity_task_started_event_attributes.last_failure",
    "activity_task_failed_event_attributes.failure",
    "activity_task_timed_out_event_attributes.failure",
    "child_workflow_execution_failed_event_attributes.failure",
    "marker_recorded_event_attributes.failure",
    "workflow_task_failed_event_attributes.failure",
    "workflow_execution_failed_event_attributes.failure",
)


async def decode_failures(
    history: WorkflowHistory, pending: list[PendingActivityInfo], codec: PayloadCodec | None
) -> None:
    """Decode, in place, the failures `summarize` reads, through the payload codec (a no-op
    without one)."""
    if codec is None:
        return
    for event in history.events:
        for failure in _failures(event):
            await codec.decode_failure(failure)
    for info in pending:
        if info.HasField("last_failure"):
            await codec.decode_failure(info.last_failure)


def summarize(
    history: WorkflowHistory, pending: list[PendingActivityInfo] | None = None
) -> Summary:
    summary = Summary(events=len(history.events))
    by_event: dict[int, Step] = {}
    for event in history.events:
        _take(event, summary, by_event)
    for info in pending or []:
        step = next(
            (
                s
                for s in summary.steps
                if s.kind == "activity"
                and s.name == info.activity_type.name
                and s.status in ("scheduled", "running")
            ),
            None,
        )
        if step is None:
            continue
        step.attempts = max(step.attempts, info.attempt)
        if info.HasField("last_failure"):
            step.last_failure = failure_text(info.last_failure)
            step.status = "retrying"
        if info.HasField("next_attempt_schedule_time") and info.HasField("last_started_time"):
            step.next_attempt_in = info.next_attempt_schedule_time.ToJsonString()
    return summary


def _take(event: HistoryEvent, summary: Summary, by_event: dict[int, Step]) -> None:
    t = event.event_type
    if t == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        step = Step("activity", event.activity_task_scheduled_event_attributes.activity_type.name)
        summary.steps.append(step)
        by_event[event.event_id] = step
    elif t == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        began = event.activity_task_started_event_attributes
        last = began.last_failure if began.HasField("last_failure") else None
        _set(by_event, began.scheduled_event_id, "running", attempts=began.attempt, failure=last)
    elif t == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        done = event.activity_task_completed_event_attributes
        _set(by_event, done.scheduled_event_id, "completed")
    elif t == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        failed = event.activity_task_failed_event_attributes
        _set(by_event, failed.scheduled_event_id, "failed", failure=failed.failure)
    elif t == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        timed_out = event.activity_task_timed_out_event_attributes
        _set(by_event, timed_out.scheduled_event_id, "timed-out", failure=timed_out.failure)
    elif t == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        canceled = event.activity_task_canceled_event_attributes
        _set(by_event, canceled.scheduled_event_id, "canceled")
    elif t == EventType.EVENT_TYPE_MARKER_RECORDED:
        marker = event.marker_recorded_event_attributes
        if marker.marker_name == "core_local_activity":
            step = Step("local activity", "local activity", status="completed")
            if marker.HasField("failure"):
                step.status, step.last_failure = "failed", failure_text(marker.failure)
            summary.steps.append(step)
    elif t == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        child = event.start_child_workflow_execution_initiated_event_attributes
        step = Step("child", f"{child.workflow_type.name} {child.workflow_id}")
        summary.steps.append(step)
        by_event[event.event_id] = step
    elif t == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
        child_began = event.child_workflow_execution_started_event_attributes
        _set(by_event, child_began.initiated_event_id, "running")
    elif t == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
        child_done = event.child_workflow_execution_completed_event_attributes
        _set(by_event, child_done.initiated_event_id, "completed")
    elif t == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
        child_failed = event.child_workflow_execution_failed_event_attributes
        _set(by_event, child_failed.initiated_event_id, "failed", failure=child_failed.failure)
    elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        task = event.workflow_task_failed_event_attributes
        if task.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW:
            summary.reset_from = task.base_run_id
            summary.reset_reason = task.failure.message or None
    elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        name = event.workflow_execution_signaled_event_attributes.signal_name
        summary.signals[name] = summary.signals.get(name, 0) + 1
    elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        accepted = event.workflow_execution_update_accepted_event_attributes
        name = accepted.accepted_request.input.name
        summary.updates[name] = summary.updates.get(name, 0) + 1
    elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        summary.failure = failure_text(event.workflow_execution_failed_event_attributes.failure)
    elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
        summary.failure = "The workflow timed out."
    elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        reason = event.workflow_execution_terminated_event_attributes.reason
        summary.failure = f"Terminated: {reason}" if reason else "Terminated."


def _set(
    by_event: dict[int, Step],
    event_id: int,
    status: str,
    *,
    attempts: int | None = None,
    failure: Failure | None = None,
) -> None:
    step = by_event.get(event_id)
    if step is None:
        return
    step.status = status
    if attempts is not None:
        step.attempts = attempts
    if failure is not None:
        step.last_failure = failure_text(failure)
