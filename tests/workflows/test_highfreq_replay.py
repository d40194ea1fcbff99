"""The high-frequency workflows replay their recorded histories with the current code."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.support.repo import HISTORIES
from worker import WORKFLOWS
from workflows.example import plugin as examples

RECORDED = [
    "inbox_continued_as_new",
    "inbox_paced_continued_as_new",
    "inbox_paced_carried",
    "batch_collector",
    "batch_collector_by_bytes",
    "batch_collector_carried",
    "batch_collector_sized",
    "batch_collector_sized_carried",
    "batch_collector_local_start",
    "debounce_collector",
    "event_batch",
]


@pytest.mark.parametrize("name", RECORDED)
async def test_high_frequency_history_replays_with_current_code(name: str) -> None:
    text = (HISTORIES / f"{name}.json").read_text(encoding="utf-8")
    replayer = Replayer(
        workflows=[*WORKFLOWS, *examples.WORKFLOWS], data_converter=pydantic_data_converter
    )

    result = await replayer.replay_workflow(WorkflowHistory.from_json(name, text))

    assert result.replay_failure is None
