"""Where a verified event goes: a workflow, in one of the route modes.

A route without rules is one target; a route with rules has one per rule (`Dispatch` holds
the fields both share). The dispatcher sees only `Target`, so every mode works the same way
for a route and for a rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, Field

from webhook_gateway.config.flow import FlowControl, FlowSettings, PriorityConfig
from webhook_gateway.config.highfreq import BatchConfig, DebounceConfig, GroupCommitConfig
from webhook_gateway.config.id_rule import IdRule

Mode = Literal["start", "signal", "signal_with_start", "update", "batch", "debounce"]
ADDRESSED_MODES = ("signal", "signal_with_start", "update")


class Dispatch(FlowControl):
    """The route file's fields that say how an event reaches its workflow (flow control's
    among them: config/flow.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = "start"
    task_queue: str = "hooktide"
    workflow_id: IdRule | None = None
    signal: str = "webhook"
    update: str = "webhook"
    reply_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    group_commit: GroupCommitConfig | None = None  # start mode only
    batch: BatchConfig | None = None  # mode batch
    debounce: DebounceConfig | None = None  # mode debounce

    def _check_dispatch(self, owner: str) -> None:
        """Mode-specific fields; `owner` names the route (and rule) in the message."""
        for field_name, mode in (("batch", "batch"), ("debounce", "debounce")):
            if self.mode == mode and getattr(self, field_name) is None:
                raise ValueError(
                    f"{owner}: field {field_name} is missing; mode '{mode}' needs "
                    f"{field_name}: {{key: <JMESPath over the body>, ...}}"
                )
            if self.mode != mode and getattr(self, field_name) is not None:
                raise ValueError(
                    f"{owner}: field {field_name} is only for mode '{mode}' "
                    f"(the mode here is '{self.mode}')"
                )
        flow = [f for f in ("ordered", "concurrency", "throttle", "priority") if getattr(self, f)]
        if flow and self.mode != "start":
            raise ValueError(
                f"{owner}: field {flow[0]} is only for mode 'start', where each event is a "
                f"workflow of its own (the mode here is '{self.mode}')"
            )
        if self.sequenced is not None and self.group_commit is not None:
            raise ValueError(
                f"{owner}: group_commit and {flow[0]} do not combine: the key's sequencer "
                "already holds the events durably; drop one"
            )
        if self.group_commit is not None and self.mode != "start":
            raise ValueError(
                f"{owner}: field group_commit is only for mode 'start' "
                f"(the mode here is '{self.mode}')"
            )
        if self.mode in ADDRESSED_MODES and (
            self.workflow_id is None or not self.workflow_id.sources()
        ):
            raise ValueError(
                f"{owner}: mode '{self.mode}' needs workflow_id with a 'header', 'jmespath' or "
                "'path_param': it names the workflow that receives the event"
            )

    @property
    def dedupes_on_workflow_id(self) -> bool:
        """A start's workflow id read from the request is what Temporal dedupes on."""
        return (
            self.mode == "start"
            and self.workflow_id is not None
            and bool(self.workflow_id.sources())
        )


@dataclass(frozen=True, kw_only=True)
class Target:
    """One workflow an event is sent to. `name` is unique per gateway: the route's name, or
    `route.rule` for a rule (it names group-commit inboxes and batch/debounce collectors)."""

    route: str
    rule: str | None
    workflow: str
    workflow_id: IdRule
    mode: Mode
    task_queue: str
    signal: str
    update: str
    reply_timeout_seconds: float
    group_commit: GroupCommitConfig | None
    batch: BatchConfig | None
    debounce: DebounceConfig | None
    #: The key's sequencer (ordered, concurrency, throttle); None: started directly.
    flow: FlowSettings | None = None
    priority: PriorityConfig | None = None

    @property
    def name(self) -> str:
        return self.route if self.rule is None else f"{self.route}.{self.rule}"

    @classmethod
    def of(
        cls, dispatch: Dispatch, *, route: str, rule: str | None, workflow: str, workflow_id: IdRule
    ) -> Target:
        return cls(
            route=route,
            rule=rule,
            workflow=workflow,
            workflow_id=workflow_id,
            mode=dispatch.mode,
            task_queue=dispatch.task_queue,
            signal=dispatch.signal,
            update=dispatch.update,
            reply_timeout_seconds=dispatch.reply_timeout_seconds,
            group_commit=dispatch.group_commit,
            batch=dispatch.batch,
            debounce=dispatch.debounce,
            flow=dispatch.sequenced,
            priority=dispatch.priority,
        )
