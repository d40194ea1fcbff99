"""The wire contract between the gateway and a key's sequencer (workflows/flow/sequencer.py):
the workflow that runs one target's events for one key in order, a bounded number at a time,
at a bounded pace (config/flow.py says how a route asks for it).

The gateway signal-with-starts `hooktide-flow-<target>-<key>` with `FlowEvents` (the events
of concurrent requests for the key, coalesced), or signals it once it knows it runs; each
request's ack is sent once Temporal holds the signal that carried it. The sequencer starts
each event's own workflow, with the id the target would have without flow control, so a
delivery runs once however often it is sent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from temporalio.common import Priority

from webhook_gateway.contracts.events import WebhookEvent

SEQUENCER_WORKFLOW = "HooktideSequencer"
EVENT_SIGNAL = "flow_event"
EVENTS_SIGNAL = "flow_events"
RELEASE_SIGNAL = "release"
SETTINGS_SIGNAL = "settings"
QUEUE_QUERY = "queue"
STATUSES_ACTIVITY = "hooktide_flow_statuses"
#: Longer keys are shortened to a prefix and a digest in the sequencer's workflow id.
MAX_KEY_IN_ID = 200


def sequencer_workflow_id(target: str, key: str) -> str:
    """`hooktide-flow-<target>-<key>` (a key over 200 characters: its first 160 and a hash)."""
    if len(key) > MAX_KEY_IN_ID:
        key = f"{key[:160]}~{hashlib.sha256(key.encode()).hexdigest()[:32]}"
    return f"hooktide-flow-{target}-{key}"


@dataclass(frozen=True)
class FlowValues:
    """What the gateway read from one delivery for its target's flow control."""

    key: str | None  # None: no sequencer (priority only)
    order: float | str | None
    priority: FlowPriority | None


class FlowPriority(BaseModel):
    """Temporal task priority and fairness for the event's workflow (`Priority`)."""

    model_config = ConfigDict(frozen=True)

    priority_key: int | None = None
    fairness_key: str | None = None
    fairness_weight: float | None = None

    def temporal(self) -> Priority:
        return Priority(
            priority_key=self.priority_key,
            fairness_key=self.fairness_key,
            fairness_weight=self.fairness_weight,
        )


class FlowSettingsWire(BaseModel):
    """The target's flow-control settings, sent with every event so edits of the route file
    reach running sequencers."""

    model_config = ConfigDict(frozen=True)

    limit: int | None = 1  # None: unbounded
    ordered_by: bool = False  # events carry `order` and are run in it
    late: Literal["run", "skip", "fail"] = "run"
    settle_seconds: float = 0.0
    per_second: float | None = None
    burst: int = 1
    on_failure: Literal["block", "continue"] = "block"


class FlowEvent(BaseModel):
    """One event for the key's sequencer: what to start, and where it falls in the order."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    workflow: str
    workflow_id: str
    task_queue: str
    event: WebhookEvent
    #: The sender's order (`ordered.by`): a number or a string; None: arrival only.
    order: float | str | None = None
    priority: FlowPriority | None = None
    settings: FlowSettingsWire = Field(default_factory=FlowSettingsWire)


class FlowEvents(BaseModel):
    """The events of concurrent requests for one key, in the order the gateway took them
    (one signal: the sequencer's history takes one write for them all)."""

    model_config = ConfigDict(frozen=True)

    events: list[FlowEvent] = Field(min_length=1)


class Queued(BaseModel):
    """An event waiting in a sequencer (or running, or kept as late)."""

    delivery_id: str
    workflow: str
    workflow_id: str
    task_queue: str
    event: WebhookEvent
    order: float | str | None = None
    priority: FlowPriority | None = None
    arrival: int  # the sequencer's own arrival count: ties and "arrival order"
    arrived_at: datetime


class Running(BaseModel):
    delivery_id: str
    workflow_id: str
    started_at: datetime
    order: float | str | None = None


class Blocked(BaseModel):
    """The key's last workflow failed and the key waits for an operator (`on_failure:
    block`): `release` with `skip` (go on with the next) or `redrive` (run it again)."""

    delivery_id: str
    workflow_id: str
    status: str  # failed, timed-out, terminated, canceled
    since: datetime


class ReleaseInput(BaseModel):
    action: Literal["skip", "redrive"]
    #: The blocked workflow the operator saw; a release for another one is ignored.
    workflow_id: str
    by: str = "operator"


class SequencerInput(BaseModel):
    """The sequencer's start (and continue-as-new) input: its settings and everything it
    carries from run to run."""

    target: str
    key: str
    route: str
    settings: FlowSettingsWire = Field(default_factory=FlowSettingsWire)
    queue: list[Queued] = Field(default_factory=list)
    running: list[Running] = Field(default_factory=list)
    blocked: Blocked | None = None
    late: list[Queued] = Field(default_factory=list)  # `late: fail`, kept to be seen
    last_order: float | str | None = None
    arrivals: int = 0
    seen: list[str] = Field(default_factory=list)
    tokens: float | None = None  # throttle bucket, None: full
    tokens_at: datetime | None = None
    started: int = 0
    #: Continue as new after this many history events (Temporal also suggests it).
    history_events: int = 5_000
    idle_seconds: float = 3600.0


class SequencerView(BaseModel):
    """The `queue` query: what the key is doing."""

    target: str
    key: str
    waiting: int
    oldest_waiting_at: datetime | None
    next_up: list[str]  # delivery ids, the first few
    running: list[Running]
    blocked: Blocked | None
    late: list[str]  # delivery ids kept as late (`late: fail`)
    last_order: float | str | None
    started: int
    settings: FlowSettingsWire
    extra: dict[str, JsonValue] = Field(default_factory=dict)
