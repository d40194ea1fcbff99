"""The fault-injection harness in a shortened form: each part of the stack is killed -9 under
load, and every acknowledged delivery must still become exactly one completed workflow."""

from __future__ import annotations

import pytest

from faults.harness import TARGETS, run_scenario


@pytest.mark.parametrize("target", TARGETS)
async def test_kill_under_load_loses_and_duplicates_nothing(target: str) -> None:
    result = await run_scenario(target, deliveries=150, concurrency=8, down=1.5, budget=240)

    assert result.sent == 150
    assert result.acked == 150, result
    assert result.lost == 0
    assert result.duplicated == 0
    assert result.not_completed == 0
    assert result.unexpected_5xx == 0, result.statuses
    assert result.time_to_recover_s is not None
