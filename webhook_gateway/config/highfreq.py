"""High-frequency routes' settings in the route file: `group_commit`, `batch`, `debounce`."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from webhook_gateway.config.id_rule import IdRule
from webhook_gateway.contracts.highfreq import PAYLOAD_BUDGET


def _compiles(value: str) -> str:
    IdRule(jmespath=value)
    return value


#: A JMESPath over the JSON body, compiled when the route file is read.
JmesPathKey = Annotated[str, AfterValidator(_compiles)]


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

    key: JmesPathKey = Field(description="JMESPath over the JSON body; one key shares batches")
    max_size: int = Field(default=100, ge=1, le=100_000)
    max_wait_seconds: float = Field(default=5.0, gt=0, le=30 * 86_400)
    max_bytes: int = Field(default=PAYLOAD_BUDGET, ge=1024, le=1_500_000)
    idle_seconds: float = Field(default=60.0, gt=0, le=30 * 86_400)
    #: Concurrent requests for one key share one signal (`events`). Workers older than the
    #: gateway lack that signal's handler: upgrade them first, or set false until then.
    coalesce: bool = True
    #: How long a key's next signal waits for more requests to join it (it leaves at once
    #: when full). Concurrent requests join the signal in flight's successor regardless.
    coalesce_wait_ms: float = Field(default=5.0, ge=0, le=1000)


class DebounceConfig(BaseModel):
    """`debounce: {key: "ticket.id", period_seconds: 2}` (mode debounce): the workflow gets
    the last event once `period_seconds` pass without another one for the key (or once
    `max_wait_seconds` pass since the burst began, if set)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: JmesPathKey
    period_seconds: float = Field(gt=0, le=30 * 86_400)
    max_wait_seconds: float | None = Field(default=None, gt=0, le=30 * 86_400)
    idle_seconds: float = Field(default=60.0, gt=0, le=30 * 86_400)
