"""Flow control, as a rule (or a route without rules) declares it, for `mode: start`:

    ordered:     {key: body.data.object.customer, by: body.created, late: run}
    concurrency: {key: body.account, limit: 3}
    throttle:    {key: body.account, per_second: 2, burst: 5}
    priority:    {priority_key: 2, fairness_key: body.account, fairness_weight: 1.0}

`ordered`, `concurrency` and `throttle` are properties of one per-key sequencer (a workflow
per target and key, workflows/flow/sequencer.py), so where a rule has more than one they
share their key. Keys and `by` are JMESPath over what rule conditions read: `{headers,
query, path_params, body, event_type}`. `priority` needs no sequencer: it is the Temporal
task priority and fairness key of the workflow each event starts.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from jmespath.parser import ParsedResult
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from webhook_gateway.config.event_type import compile_jmespath


def _compiles(value: str) -> str:
    compile_jmespath(value)
    return value


#: A JMESPath over `{headers, query, path_params, body, event_type}`, checked at load.
ContextExpression = Annotated[str, AfterValidator(_compiles)]
LatePolicy = Literal["run", "skip", "fail"]
FailurePolicy = Literal["block", "continue"]


class OrderedConfig(BaseModel):
    """Events with the same key run one after another, each as its own workflow, the next
    only once the previous has closed; in the sender's order (`by`, arrival breaking ties)
    or else in arrival order. An event older than one already started is `late`: `run` it
    anyway (next), `skip` it, or `fail` it (kept, never run, shown as late)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: ContextExpression
    by: ContextExpression | None = None
    late: LatePolicy = "run"
    #: Each event waits this long before it may start, so that an earlier one delayed on
    #: the way still comes first (0: start at once).
    settle_seconds: float = Field(default=0.0, ge=0, le=3600)


class ConcurrencyConfig(BaseModel):
    """At most `limit` of the key's workflows run at once; the rest wait, in arrival order.
    `limit: 1` without `ordered` is a singleton per key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: ContextExpression
    limit: int = Field(ge=1, le=1000)


class ThrottleConfig(BaseModel):
    """Starts for a key are spread out to `per_second`, with bursts of up to `burst`; nothing
    is dropped: events wait, durably, in the key's sequencer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: ContextExpression
    per_second: float = Field(gt=0, le=10_000)
    burst: int = Field(default=1, ge=1, le=10_000)


class PriorityConfig(BaseModel):
    """Temporal's task priority (1 runs first, 5 last; unset: the server's default, 3) and
    fairness: tasks of different `fairness_key`s (a JMESPath, e.g. the tenant) are
    dispatched in proportion to their `fairness_weight`, so one busy sender cannot starve
    the others on a shared task queue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    priority_key: int | None = Field(default=None, ge=1, le=5)
    fairness_key: ContextExpression | None = None
    fairness_weight: float | None = Field(default=None, gt=0, le=1000)

    @cached_property
    def fairness(self) -> ParsedResult | None:
        return compile_jmespath(self.fairness_key) if self.fairness_key else None


class FlowControl(BaseModel):
    """The flow-control fields a route or rule may carry (a mixin of `Dispatch`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ordered: OrderedConfig | None = None
    concurrency: ConcurrencyConfig | None = None
    throttle: ThrottleConfig | None = None
    priority: PriorityConfig | None = None
    #: When a key's workflow fails: `block` the key until an operator releases it (skip or
    #: redrive the failed one: `hooktide flow release`), or `continue` with the next.
    #: Default: block when ordered, else continue.
    on_failure: FailurePolicy | None = None

    @model_validator(mode="after")
    def _one_key(self) -> FlowControl:
        keys = {c.key for c in (self.ordered, self.concurrency, self.throttle) if c is not None}
        if len(keys) > 1:
            raise ValueError(
                "ordered, concurrency and throttle share one sequencer per key: give them "
                f"the same key (here {sorted(keys)})"
            )
        if self.ordered and self.concurrency and self.concurrency.limit != 1:
            raise ValueError(
                "ordered runs one workflow per key at a time: drop concurrency, or set "
                "its limit to 1"
            )
        if self.on_failure is not None and self.sequenced is None:
            raise ValueError("on_failure needs ordered, concurrency or throttle")
        return self

    @property
    def sequenced(self) -> FlowSettings | None:
        """What the key's sequencer enforces; None when no field asks for one."""
        if self.ordered is None and self.concurrency is None and self.throttle is None:
            return None
        key = next(c.key for c in (self.ordered, self.concurrency, self.throttle) if c)
        return FlowSettings(
            key=key,
            limit=1 if self.ordered else (self.concurrency.limit if self.concurrency else None),
            by=self.ordered.by if self.ordered else None,
            late=self.ordered.late if self.ordered else "run",
            settle_seconds=self.ordered.settle_seconds if self.ordered else 0.0,
            per_second=self.throttle.per_second if self.throttle else None,
            burst=self.throttle.burst if self.throttle else 1,
            on_failure=self.on_failure or ("block" if self.ordered else "continue"),
        )


class FlowSettings(BaseModel):
    """One target's sequencer settings, resolved from its flow-control fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    limit: int | None  # None: no bound on running workflows
    by: str | None
    late: LatePolicy
    settle_seconds: float
    per_second: float | None
    burst: int
    on_failure: FailurePolicy

    @cached_property
    def key_expression(self) -> ParsedResult:
        return compile_jmespath(self.key)

    @cached_property
    def by_expression(self) -> ParsedResult | None:
        return compile_jmespath(self.by) if self.by else None
