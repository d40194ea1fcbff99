"""The sequencer replays its recorded histories (tests/flow/record_sequencer.py) with the
current code: a change that would break running sequencers fails here."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.support.repo import HISTORIES
from worker import WORKFLOWS

RECORDED = {
    "sequencer_ordered_late": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    "sequencer_concurrency_throttle": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    "sequencer_blocked_released": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    "sequencer_continued_as_new": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    "sequencer_carried": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
}


def history(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text("utf-8"))


def test_every_sequencer_history_is_recorded() -> None:
    assert {p.stem for p in HISTORIES.glob("sequencer_*.json")} >= set(RECORDED)


@pytest.mark.parametrize("name", sorted(RECORDED))
async def test_a_recorded_sequencer_history_replays_with_current_code(name: str) -> None:
    recorded = history(name)
    assert recorded.events[-1].event_type == RECORDED[name]  # it ran to its end
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)

    result = await replayer.replay_workflow(recorded, raise_on_replay_failure=False)

    assert result.replay_failure is None


def test_the_recorded_histories_took_the_paths_they_are_named_for() -> None:
    """So that a re-recording that missed its point (no block, no wait) shows."""

    def count(name: str, kind: int) -> int:
        return sum(1 for e in history(name).events if e.event_type == kind)

    started = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    assert count("sequencer_ordered_late", started) == 3
    assert count("sequencer_concurrency_throttle", EventType.EVENT_TYPE_TIMER_FIRED) >= 2
    failed = EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED
    assert count("sequencer_blocked_released", failed) == 2
    watched = EventType.EVENT_TYPE_MARKER_RECORDED  # flow_statuses, a local activity
    assert count("sequencer_blocked_released", watched) >= 1
    assert count("sequencer_carried", watched) >= 1
