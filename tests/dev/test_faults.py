"""The fault-injection harness in a shortened form: each part of the stack is killed -9 under
load, and every acknowledged delivery must still become exactly one completed workflow."""

from __future__ import annotations

import pytest

from faults.harness import TARGETS, around_outage, run_scenario

CONCURRENCY = 8


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
async def test_kill_under_load_loses_and_duplicates_nothing(target: str) -> None:
    result = await run_scenario(
        target, deliveries=150, concurrency=CONCURRENCY, down=1.5, budget=240
    )

    assert result.sent == 150
    assert result.acked == 150, result
    assert result.lost == 0
    assert result.duplicated == 0
    assert result.not_completed == 0
    assert result.unexpected_5xx == 0, result.statuses
    # Workflows ran again once the part was back (for the gateway and Temporal, those of the
    # deliveries still being sent; for the worker, those acknowledged while it was down).
    assert result.completions_resumed_s is not None, result
    if target == "worker":
        # The gateway needs only Temporal to acknowledge: acks go on without a worker.
        assert result.acked_while_down > 0, result
    else:
        # Without the part nothing new is acknowledged (at most the answers already on their
        # way, one per sender), so deliveries are still waiting at the restart: acks resume.
        assert result.acked_while_down <= CONCURRENCY, result
        assert result.time_to_recover_s is not None, result


def test_acks_that_go_on_through_the_outage_and_end_before_the_restart() -> None:
    # A worker kill on a fast machine: every delivery is acknowledged before the restart.
    acks = around_outage([1.0, 1.1, 2.05, 2.1, 2.3], killed_at=2.0, restarted_at=3.5)

    assert acks.while_down == 3
    assert acks.longest_pause_s == 0.95
    assert acks.first_after_restart_s is None


def test_acks_that_stop_with_the_part_and_resume_after_the_restart() -> None:
    # A gateway kill: one answer already on its way arrives after the kill, then nothing
    # until the restarted gateway answers the senders' retries.
    acks = around_outage([1.0, 1.9, 2.01, 4.2, 4.3], killed_at=2.0, restarted_at=3.5)

    assert acks.while_down == 1
    assert acks.longest_pause_s == 2.19
    assert acks.first_after_restart_s == 0.7
