"""High-frequency routes: their route-file settings and the types they send to Temporal.

    group_commit (mode start)  requests coalesced into signal-with-start calls to sharded
                               inbox workflows (`workflows/inbox.py`), which start one
                               workflow per event at the pace Temporal sustains
    mode batch                 events grouped by a key, delivered as a list (`workflows/batch.py`)
    mode debounce              the last event of a burst per key (`workflows/debounce.py`)

Gateway and workflows share these types, as they share `WebhookEvent`.
"""

from __future__ import annotations

import zlib

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from webhook_gateway.event import WebhookEvent
from webhook_gateway.id_rule import IdRule

#: Temporal refuses payloads above 2 MB; batches and carried state stay well below.
PAYLOAD_BUDGET = 1_000_000
INBOX_WORKFLOW = "HooktideInbox"
INBOX_SIGNAL = "events"
BATCH_WORKFLOW = "HooktideBatchCollector"
DEBOUNCE_WORKFLOW = "HooktideDebounceCollector"
COLLECT_SIGNAL = "event"


class GroupCommitConfig(BaseModel):
    """`group_commit: {max_batch: 50, max_wait_ms: 5, shards: 4, max_backlog: 20000}`.

    Keep `max_backlog` times the typical event size under ~20 MB: that much can wait in one
    inbox's history (Temporal's hard limit is 50 MB) while it drains before continue-as-new.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_batch: int = Field(default=50, ge=1, le=1000)
    max_wait_ms: float = Field(default=5.0, ge=0, le=1000)
    max_batch_bytes: int = Field(default=PAYLOAD_BUDGET, ge=1024, le=1_500_000)
    shards: int = Field(default=4, ge=1, le=64)
    max_backlog: int = Field(default=20_000, ge=1, le=1_000_000)
    #: How often the gateway asks each inbox for its backlog.
    backlog_refresh_ms: float = Field(default=500.0, ge=10, le=60_000)
    #: An inbox continues-as-new past this many history events or bytes (or when Temporal
    #: suggests it, whichever comes first).
    inbox_history_events: int = Field(default=10_000, ge=10, le=40_000)
    inbox_history_bytes: int = Field(default=10_000_000, ge=10_000, le=30_000_000)
    #: Workflow starts per inbox activity, and how many of them run concurrently.
    start_chunk: int = Field(default=100, ge=1, le=1000)
    start_concurrency: int = Field(default=8, ge=1, le=256)
    #: Workflow starts per second per inbox (none: as fast as Temporal takes them). Acks and
    #: the downstream workflows share one Temporal; pacing the starts keeps acks fast during a
    #: burst while the backlog drains behind them.
    start_rate: float | None = Field(default=None, gt=0, le=100_000)


class BatchConfig(BaseModel):
    """`batch: {key: "customer.id", max_size: 100, max_wait_seconds: 5}` (mode batch)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(description="JMESPath over the JSON body; events with one key share batches")
    max_size: int = Field(default=100, ge=1, le=100_000)
    max_wait_seconds: float = Field(default=5.0, gt=0, le=30 * 86_400)
    max_bytes: int = Field(default=PAYLOAD_BUDGET, ge=1024, le=1_500_000)
    idle_seconds: float = Field(default=60.0, gt=0, le=30 * 86_400)

    @field_validator("key")
    @classmethod
    def _compiles(cls, value: str) -> str:
        IdRule(jmespath=value)
        return value


class DebounceConfig(BaseModel):
    """`debounce: {key: "ticket.id", period_seconds: 2}` (mode debounce): the workflow gets
    the last event once `period_seconds` pass without another one for the key (or once
    `max_wait_seconds` pass since the burst began, if set)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    period_seconds: float = Field(gt=0, le=30 * 86_400)
    max_wait_seconds: float | None = Field(default=None, gt=0, le=30 * 86_400)
    idle_seconds: float = Field(default=60.0, gt=0, le=30 * 86_400)

    @field_validator("key")
    @classmethod
    def _compiles(cls, value: str) -> str:
        IdRule(jmespath=value)
        return value


def shard_of(delivery_id: str, shards: int) -> int:
    """Stable across processes and restarts (unlike `hash`), so a redelivery meets its twin."""
    return zlib.crc32(delivery_id.encode()) % shards


def inbox_workflow_id(route: str, shard: int) -> str:
    return f"hooktide-inbox-{route}-{shard}"


def collector_workflow_id(mode: str, route: str, key: str) -> str:
    return f"hooktide-{mode}-{route}-{key}"


# ---- inbox (group commit) ---------------------------------------------------------------


class PendingStart(BaseModel):
    """One event waiting for its own workflow; `size` is its approximate encoded size."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    event: WebhookEvent
    size: int = 0


class InboxBatch(BaseModel):
    """What one group-commit RPC carries to an inbox."""

    workflow: str
    task_queue: str
    items: list[PendingStart]


class InboxInput(BaseModel):
    route: str
    shard: int
    history_events: int = 10_000
    history_bytes: int = 10_000_000
    start_chunk: int = 100
    start_concurrency: int = 8
    start_rate: float | None = None
    #: Carried through continue-as-new: (workflow type, task queue) per item.
    backlog: list[InboxBatch] = Field(default_factory=list)
    started: int = 0
    duplicates: int = 0
    failed: int = 0


class InboxStatus(BaseModel):
    backlog: int
    received: int
    started: int
    duplicates: int
    failed: int


class StartEventsInput(BaseModel):
    batches: list[InboxBatch]
    concurrency: int = 32
    rate: float | None = None


class StartEventsResult(BaseModel):
    started: int = 0
    duplicates: int = 0
    failed: list[str] = Field(default_factory=list)


# ---- batch and debounce collectors ------------------------------------------------------


class CollectedEvent(WebhookEvent):
    """What a batch route's gateway signals to the key's collector: the event and its size
    (the length of its JSON), measured here so that workflow code never serializes to
    measure. Older gateways sent the bare event: `size` is None then."""

    size: int | None = Field(default=None, ge=0)


def collected(event: WebhookEvent) -> CollectedEvent:
    return CollectedEvent(**dict(event), size=len(event.model_dump_json()))


class CollectorInput(BaseModel):
    route: str
    key: str
    workflow: str
    task_queue: str
    workflow_id_prefix: str
    max_size: int = 100
    max_wait_seconds: float = 5.0
    max_bytes: int = PAYLOAD_BUDGET
    period_seconds: float = 1.0
    burst_max_seconds: float | None = None
    idle_seconds: float = 60.0
    history_events: int = 10_000
    # Carried through continue-as-new.
    sequence: int = 0
    buffer: list[WebhookEvent] = Field(default_factory=list)
    #: The sizes of `buffer` as the batch collector counted them (empty from older runs).
    buffer_sizes: list[int] = Field(default_factory=list)
    seen: list[str] = Field(default_factory=list)
    burst_started: float | None = None
    delivered: list[str] = Field(default_factory=list)


class EventBatch(BaseModel):
    """What a batch route's workflow receives: the events of one key, oldest first."""

    model_config = ConfigDict(frozen=True)

    route: str
    key: str
    sequence: int
    events: list[WebhookEvent]


class CollectorStatus(BaseModel):
    buffered: int
    sequence: int
    delivered: list[str]


class BatchSummary(BaseModel):
    route: str
    key: str
    sequence: int
    count: int
    delivery_ids: list[str]
    bodies: list[JsonValue] = Field(default_factory=list)
