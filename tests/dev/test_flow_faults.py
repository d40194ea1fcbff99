"""Flow control when parts die: an ordered route's deliveries under kill -9 of the gateway
and of the worker are each run once, in each customer's order, never two at once."""

from __future__ import annotations

import pytest

from faults.flow import run_flow_scenario


@pytest.mark.slow
@pytest.mark.parametrize("target", ["gateway", "worker"])
async def test_kill_keeps_order_and_loses_and_repeats_nothing(target: str) -> None:
    result = await run_flow_scenario(target, keys=6, per_key=12, down=1.5, budget=240)

    assert result.acked == result.sent == 72, result
    assert (result.lost, result.not_completed, result.duplicated) == (0, 0, 0), result
    assert (result.out_of_order, result.overlapping) == (0, 0), result
