"""High-frequency routes: the workflow names and types the gateway sends to Temporal.

    group_commit (mode start)  requests coalesced into signal-with-start calls to sharded
                               inbox workflows (`workflows/inbox.py`), which start one
                               workflow per event at the pace Temporal sustains
    mode batch                 events grouped by a key, delivered as a list (`workflows/batch.py`)
    mode debounce              the last event of a burst per key (`workflows/debounce.py`)

Gateway and workflows share these types, as they share `WebhookEvent`.
"""

from __future__ import annotations

import zlib

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from webhook_gateway.contracts.events import WebhookEvent

#: Temporal refuses payloads above 2 MB; batches and carried state stay well below.
PAYLOAD_BUDGET = 1_000_000
INBOX_WORKFLOW = "HooktideInbox"
INBOX_SIGNAL = "events"
BATCH_WORKFLOW = "HooktideBatchCollector"
DEBOUNCE_WORKFLOW = "HooktideDebounceCollector"
COLLECT_SIGNAL = "event"


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


class StartEventsPacing(BaseModel):
    """How an inbox paces its starts: additive increase while starts are quick, multiplicative
    decrease when they are slow or Temporal pushes back (`activities/pacing.py`)."""

    initial_rate: float = 10.0
    min_rate: float = 1.0
    #: None: no ceiling but the concurrency.
    max_rate: float | None = None
    target_latency_ms: float = 500.0
    #: Starts per second gained per second of quick, rate-bound starts.
    increase: float = 5.0
    #: What the rate is multiplied by on a slow start or a refusal.
    decrease: float = 0.5
    #: The started workflows' task queue may hold a workflow task this long before the pace
    #: falls (the workers are behind: more starts would only wait there). None: not asked.
    max_queue_seconds: float | None = 10.0


class InboxBatch(BaseModel):
    """What one group-commit RPC carries to an inbox."""

    workflow: str
    task_queue: str
    items: list[PendingStart]
    #: The route's pacing now (under its `start_rate`), which a running inbox adopts;
    #: None from older gateways.
    pacing: StartEventsPacing | None = None


class InboxInput(BaseModel):
    route: str
    shard: int
    history_events: int = 10_000
    history_bytes: int = 10_000_000
    start_chunk: int = 100
    start_concurrency: int = 8
    #: A ceiling on the adaptive pace (the fixed pace of inboxes before it adapted).
    start_rate: float | None = None
    #: None from gateways older than adaptive pacing: the defaults, under `start_rate`.
    pacing: StartEventsPacing | None = None
    #: Carried through continue-as-new: the pace reached, and (workflow type, task queue)
    #: per item.
    rate: float | None = None
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
    #: The pace of its starts (per second) and their smoothed latency, once it paced some.
    rate: float | None = None
    latency_ms: float | None = None


class StartEventsInput(BaseModel):
    batches: list[InboxBatch]
    concurrency: int = 32
    #: The pace to begin with; with `pacing` None (older inboxes) a fixed pace, or none.
    rate: float | None = None
    pacing: StartEventsPacing | None = None


class StartEventsResult(BaseModel):
    started: int = 0
    duplicates: int = 0
    failed: list[str] = Field(default_factory=list)
    #: The pace it ended with and its starts' smoothed latency (None: not paced adaptively).
    rate: float | None = None
    latency_ms: float | None = None


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
