"""The hostile-input campaign, full size: 10,000 hand-made hostile requests plus schemathesis
against the OpenAPI document, against a real gateway process and Temporal dev server."""

from __future__ import annotations

import pytest

from faults.hostile import campaign, report

#: The full campaign takes about two minutes.
pytestmark = pytest.mark.slow


async def test_hostile_input_gets_precise_4xx_starts_nothing_and_keeps_memory_flat() -> None:
    result = await campaign(10_000, schemathesis_examples=100)
    print(report(result))

    assert result.requests == 10_000
    assert result.server_errors == 0, result.statuses
    assert result.mismatches == []
    assert result.not_problem_json == 0
    # Only the valid deliveries in the corpus started workflows: none of the rejected ones.
    assert result.workflows_started == result.accepted
    assert result.slow_408 == result.slow_bodies > 0
    assert result.schemathesis_exit == 0
    assert result.schemathesis_requests >= 100
    assert result.rss_end_kib - result.rss_start_kib < 32 * 1024
