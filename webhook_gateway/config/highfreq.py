"""High-frequency routes' settings in the route file: `group_commit`, `batch`, `debounce`."""

from __future__ import annotations

from math import inf
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from webhook_gateway.config.id_rule import IdRule
from webhook_gateway.contracts.highfreq import PAYLOAD_BUDGET


def _compiles(value: str) -> str:
    IdRule(jmespath=value)
    return value


#: A JMESPath over the JSON body, compiled when the route file is read.
JmesPathKey = Annotated[str, AfterValidator(_compiles)]


class PacingConfig(BaseModel):
    """`pacing: {target_latency_ms: 500, min_rate: 1, max_rate: 200, increase: 5}`: how each
    inbox finds the pace of its starts. It begins at `initial_rate` starts per second, adds
    `increase` per second while its starts answer within `target_latency_ms`, and multiplies
    the pace by `decrease` when they take longer or Temporal refuses them (RESOURCE_EXHAUSTED,
    UNAVAILABLE, deadline), never leaving [`min_rate`, `max_rate`]. While the started
    workflows' first tasks have waited more than `max_queue_seconds` on their task queue (the
    workers are behind; null: not asked) it does not rise, and falls while that wait grows.
    A fixed pace: `min_rate` = `max_rate`.

    The acks share Temporal with these starts: a target well under the gateway's own RPC
    timeout (HOOKTIDE_TEMPORAL_RPC_TIMEOUT, 2 s) lets the inboxes back off before acks time
    out, and one well above an unloaded start (~15 ms) lets them use what Temporal has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    initial_rate: float = Field(default=10.0, gt=0, le=100_000)
    min_rate: float = Field(default=1.0, ge=0.1, le=100_000)
    max_rate: float | None = Field(default=None, gt=0, le=100_000)
    target_latency_ms: float = Field(default=500.0, ge=1, le=60_000)
    increase: float = Field(default=5.0, gt=0, le=100_000)
    decrease: float = Field(default=0.5, gt=0, lt=1)
    max_queue_seconds: float | None = Field(default=10.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _rates_in_order(self) -> PacingConfig:
        given = self.model_fields_set
        top = self.max_rate
        if top is not None and self.min_rate > top:
            raise ValueError(
                f"min_rate ({self.min_rate:g}) is above max_rate ({top:g}): lower min_rate or "
                "raise max_rate"
            )
        if "initial_rate" in given and not self.min_rate <= self.initial_rate <= (top or inf):
            raise ValueError(
                f"initial_rate ({self.initial_rate:g}) is outside [min_rate, max_rate] "
                f"([{self.min_rate:g}, {'none' if top is None else f'{top:g}'}]): set it "
                "between them"
            )
        return self

    def capped(self, start_rate: float | None) -> PacingConfig:
        """These settings under the route's `start_rate` ceiling, if it has one."""
        if start_rate is None or (self.max_rate is not None and self.max_rate <= start_rate):
            return self
        return self.model_copy(update={"max_rate": start_rate})


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
    #: Workflow starts per inbox activity, and how many of them may be in flight at once
    #: (the pace needs about pace x latency).
    start_chunk: int = Field(default=100, ge=1, le=1000)
    start_concurrency: int = Field(default=8, ge=1, le=256)
    #: A ceiling on each inbox's starts per second (none: only `pacing.max_rate`). It was a
    #: fixed pace; now the pace adapts below it (`pacing`), so a route that set it never
    #: starts faster than it did, and slows down when Temporal is slow.
    start_rate: float | None = Field(default=None, gt=0, le=100_000)
    pacing: PacingConfig = Field(default_factory=PacingConfig)

    @model_validator(mode="after")
    def _ceiling_above_floor(self) -> GroupCommitConfig:
        # An older route's start_rate under the default floor: the floor follows it down.
        floor, ceiling = self.pacing.min_rate, self.start_rate
        if ceiling is not None and ceiling < floor and "min_rate" in self.pacing.model_fields_set:
            raise ValueError(
                f"start_rate ({ceiling:g}) is below pacing.min_rate ({floor:g}): raise "
                "start_rate or lower pacing.min_rate"
            )
        return self


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
