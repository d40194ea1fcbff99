"""`on_failure` on the real dev server. Ordered, the key's 2nd event fails: the key blocks
(the `queue` query shows it, HooktideStatus says `blocked`, the rest wait) until the
operator releases it: `skip` goes on with the 3rd; `redrive`, after the cause is fixed and
the failed workflow reset (operator/lookup.py, as `hooktide deliveries redrive` does), waits
for its new run, then goes on. With `on_failure: continue` a failure holds nothing up (on
the time-skipping server, whose timers fire on time)."""

from __future__ import annotations

import itertools
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from tests.flow.support import Flow, completed_on, ended, flow_gateway, spans
from tests.support.flow_flows import FAIL, LOG
from tests.support.polling import eventually
from webhook_gateway.contracts import search_attributes as sa
from webhook_gateway.contracts.flow import RELEASE_SIGNAL, ReleaseInput, SequencerView
from webhook_gateway.operator import lookup

ORDERED = {"key": "body.customer", "by": "body.seq"}


async def four(flow: Flow) -> list[str]:
    """Seq 1-4 of one key (body `n` = seq), sent before the worker runs."""
    return [await flow.accepted({"customer": "c", "seq": n, "n": n, "ms": 1}) for n in range(1, 5)]


async def blocked_on_the_second(flow: Flow, ids: list[str]) -> SequencerView:
    view: SequencerView = await eventually(lambda: flow.view("c"), lambda v: v.blocked is not None)
    assert view.blocked is not None, view
    assert (view.blocked.workflow_id, view.blocked.status) == (ids[1], "failed")
    waiting = [i.split("-", 1)[1] for i in ids[2:]]  # delivery ids of 3 and 4
    assert (view.waiting, view.running, view.next_up) == (2, [], waiting)
    assert LOG.order == ids[:2]  # 3 and 4 wait
    status = (await flow.sequencer("c").describe()).typed_search_attributes.get(sa.STATUS)
    assert status == "blocked"
    return view


def one_at_a_time(workflow_ids: list[str]) -> None:
    for before, after in itertools.pairwise(spans(workflow_ids)):
        assert before[1] <= after[0], "two of the key's workflows overlapped"


async def release(flow: Flow, action: Any, workflow_id: str) -> None:
    await flow.sequencer("c").signal(
        RELEASE_SIGNAL, ReleaseInput(action=action, workflow_id=workflow_id, by="test")
    )


async def test_a_failed_workflow_blocks_its_key_until_released_with_skip(client: Client) -> None:
    async with flow_gateway(client, ordered=ORDERED) as flow:
        FAIL.add(2)
        ids = await four(flow)
        async with flow.worker():
            await blocked_on_the_second(flow, ids)
            await release(flow, "skip", ids[2])  # not the blocked one: ignored
            await release(flow, "skip", ids[1])
            assert await eventually(lambda: ended(ids), bool), LOG.spans
            view = await eventually(lambda: flow.view("c"), lambda v: not v.running)
            status = (await flow.sequencer("c").describe()).typed_search_attributes.get(sa.STATUS)

    assert LOG.order == ids  # 2 ran once, failed, and was skipped
    one_at_a_time(ids)
    assert (view.blocked, view.waiting, view.started) == (None, 0, 4)
    assert status == "open"


async def test_a_released_redrive_waits_for_the_reset_run_then_goes_on(client: Client) -> None:
    async with flow_gateway(client, ordered=ORDERED) as flow:
        FAIL.add(2)
        ids = await four(flow)
        async with flow.worker():
            await blocked_on_the_second(flow, ids)
            FAIL.clear()  # the cause is fixed
            failed = await client.get_workflow_handle(ids[1]).describe()
            [step] = await lookup.plan(client, [failed])
            assert step.action == "reset"
            redriven = await lookup.execute(client, step)
            await release(flow, "redrive", ids[1])
            assert await eventually(lambda: LOG.order[-1:] == ids[-1:] and ended(ids), bool), LOG
            view = await eventually(lambda: flow.view("c"), lambda v: not v.running)
            second = await client.get_workflow_handle(ids[1]).describe()

    assert LOG.order == [ids[0], ids[1], *ids[1:]]  # 2 again, then 3 and 4
    one_at_a_time(ids)  # spans of 2 are its new run's: 3 began after it ended
    assert (second.run_id, second.status) == (redriven.run_id, WorkflowExecutionStatus.COMPLETED)
    assert (view.blocked, view.waiting, view.started) == (None, 0, 4)  # the redrive: not its own


async def test_with_on_failure_continue_a_failure_holds_nothing_up(
    time_skipping: WorkflowEnvironment,
) -> None:
    client = time_skipping.client
    async with flow_gateway(client, ordered=ORDERED, on_failure="continue") as flow:
        FAIL.add(2)
        ids = await four(flow)
        async with flow.worker(), completed_on(time_skipping, flow.sequencer("c")):
            assert await eventually(lambda: ended(ids), bool), LOG.spans
            view = await eventually(lambda: flow.view("c"), lambda v: not v.running)
        failed = await client.get_workflow_handle(ids[1]).describe()

    assert LOG.order == ids
    one_at_a_time(ids)
    assert failed.status == WorkflowExecutionStatus.FAILED
    assert (view.blocked, view.waiting, view.started) == (None, 0, 4)
