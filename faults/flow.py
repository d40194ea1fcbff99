"""Flow control under kill -9: an ordered route (`ordered: {key: body.customer.id, by:
body.id, late: fail}`) takes each customer's orders one after another while the gateway or
the worker is killed and restarted. Every acknowledged delivery must become exactly one
completed workflow, and each customer's workflows must have run in the order sent, never two
at once (a late one would be kept as failed and never complete, so it shows as not completed)."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter

from faults.harness import SECRET, _describe
from faults.sender import SenderStats, send_keyed
from faults.stack import Stack

ORDERED = {"ordered": {"key": "body.customer.id", "by": "body.id", "late": "fail"}}


@dataclass(frozen=True)
class FlowResult:
    target: str
    sent: int
    acked: int
    lost: int
    not_completed: int
    duplicated: int
    out_of_order: int
    overlapping: int
    elapsed_s: float


async def run_flow_scenario(
    target: str, *, keys: int, per_key: int, down: float, budget: float = 600.0
) -> FlowResult:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"hooktide-flow-{target}-") as tmp:
        queue = f"flow-{target}-{uuid.uuid4().hex[:6]}"
        stack = Stack(Path(tmp), secret=SECRET, task_queue=queue, route=ORDERED)
        await stack.start()
        try:
            run = uuid.uuid4().hex[:6]
            lanes = {f"c-{k}": [f"{run}-k{k}-{n:04d}" for n in range(per_key)] for k in range(keys)}
            total = keys * per_key
            stats = SenderStats()
            sending = asyncio.create_task(
                send_keyed(
                    stack.url + "/webhooks/orders", SECRET, lanes, stats,
                    deadline=started + budget,
                )
            )  # fmt: skip
            while len(stats.acked) < total // 3 and not sending.done():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            stack.kill(target)
            await asyncio.sleep(down)
            await stack.restart(target)
            await sending
            client = await Client.connect(
                stack.temporal.address, data_converter=pydantic_data_converter
            )
            spans, lost, pending = await _settle(client, stats.acked, stall_seconds=120)
            duplicated = await _duplicates(client, queue)
        finally:
            stack.stop()
    out_of_order = overlapping = 0
    for ids in lanes.values():
        ran = [spans[i] for i in ids if i in spans]
        for (before_start, before_end), (after_start, _) in itertools.pairwise(ran):
            out_of_order += after_start < before_start
            overlapping += after_start < before_end
    return FlowResult(
        target=target,
        sent=stats.sent,
        acked=len(stats.acked),
        lost=lost,
        not_completed=pending,
        duplicated=duplicated,
        out_of_order=out_of_order,
        overlapping=overlapping,
        elapsed_s=round(time.monotonic() - started, 1),
    )


async def _settle(
    client: Client, acked: set[str], *, stall_seconds: float
) -> tuple[dict[str, tuple[float, float]], int, int]:
    """(start, close) of each acked delivery's completed workflow, how many have none, and
    how many never completed (waiting as long as some keep completing)."""
    pending = set(acked)
    spans: dict[str, tuple[float, float]] = {}
    missing: set[str] = set()
    sem = asyncio.Semaphore(16)

    async def one(delivery: str) -> None:
        async with sem:
            desc = await _describe(client, f"order-{delivery}")
        if desc is None:
            missing.add(delivery)
        elif desc.status == WorkflowExecutionStatus.COMPLETED and desc.close_time:
            spans[delivery] = (desc.start_time.timestamp(), desc.close_time.timestamp())
            missing.discard(delivery)

    last_progress = time.monotonic()
    while pending and time.monotonic() - last_progress < stall_seconds:
        before = len(pending)
        await asyncio.gather(*(one(d) for d in pending))
        pending -= set(spans)
        if len(pending) < before:
            last_progress = time.monotonic()
        if pending:
            await asyncio.sleep(1.0)
    return spans, len(missing & pending), len(pending - missing)


async def _duplicates(client: Client, task_queue: str) -> int:
    """Order workflows with more than one run (sequencers continue as new: not counted)."""
    runs: dict[str, set[str]] = {}
    query = f"TaskQueue = '{task_queue}' AND WorkflowType = 'OrderWorkflow'"
    async for wf in client.list_workflows(query):
        runs.setdefault(wf.id, set()).add(wf.run_id)
    return sum(1 for ids in runs.values() if len(ids) > 1)
