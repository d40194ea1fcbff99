"""`concurrency` through the gateway: at most `limit` of a key's workflows run at once and
all of them run; `limit: 1` without `ordered` is a singleton, in arrival order; one key's
queue does not hold up another key's.

On the time-skipping server, whose timers fire on time (the dev server's fire on a
one-second tick), so that each probe workflow lasts the `ms` it is given."""

from __future__ import annotations

import asyncio
import itertools

from temporalio.testing import WorkflowEnvironment

from tests.flow.support import completed_on, ended, flow_gateway, peak_overlap, spans
from tests.support.flow_flows import LOG
from tests.support.polling import eventually


async def test_at_most_limit_of_a_keys_workflows_overlap_and_all_run(
    time_skipping: WorkflowEnvironment,
) -> None:
    concurrency = {"key": "body.account", "limit": 3}
    async with flow_gateway(time_skipping.client, concurrency=concurrency) as flow:
        ids = await asyncio.gather(
            *(flow.accepted({"account": "acct-1", "n": n, "ms": 250}) for n in range(30))
        )
        sequencer = flow.sequencer("acct-1")
        async with flow.worker(), completed_on(time_skipping, sequencer):
            assert await eventually(lambda: ended(ids), bool, timeout=60), LOG.spans
            view = await flow.view("acct-1")

    assert sorted(LOG.order) == sorted(ids)  # each ran, once
    peak = peak_overlap(spans(ids))
    assert 1 < peak <= 3, peak
    assert (view.started, view.waiting) == (30, 0)


async def test_limit_one_is_a_singleton_in_arrival_order_and_other_keys_go_on(
    time_skipping: WorkflowEnvironment,
) -> None:
    concurrency = {"key": "body.account", "limit": 1}
    async with flow_gateway(time_skipping.client, concurrency=concurrency) as flow:
        # a's first event is long; b's short ones must not wait for it.
        a = [await flow.accepted({"account": "a", "n": n, "ms": 2000 if n == 0 else 1})
             for n in range(4)]  # fmt: skip
        b = [await flow.accepted({"account": "b", "n": n, "ms": 1}) for n in range(3)]
        async with flow.worker(), completed_on(time_skipping, *map(flow.sequencer, "ab")):
            assert await eventually(lambda: ended([*a, *b]), bool, timeout=60), LOG.spans

    assert [w for w in LOG.order if w in a] == a
    assert [w for w in LOG.order if w in b] == b
    for key in (a, b):
        for before, after in itertools.pairwise(spans(key)):
            assert before[1] <= after[0], "a singleton key ran two at once"
    assert LOG.spans[b[-1]][1] < LOG.spans[a[0]][1], "key b waited for key a"
