"""`make faults`: bounded load against the real local stack while one part is killed -9.

For each scenario (gateway, worker, Temporal dev server) a fresh stack is started, N signed
webhooks with unique delivery ids are sent by C concurrent senders that retry on 503 and
connection errors, the part is killed once about a third of them are acknowledged, left down,
restarted, and afterwards every acknowledged delivery is checked against Temporal.

What a kill interrupts depends on the part: without the gateway or Temporal nothing is
acknowledged, while without a worker acknowledgements go on and workflows wait. So both flows
are measured around the outage: acknowledgements (`acked_while_down`, `ack_pause_s`,
`time_to_recover_s`) and workflow completions (`completed_while_down`,
`completions_resumed_s`).

    .venv/bin/python -m faults.harness [--deliveries 5000] [--concurrency 16] [--down 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from faults.sender import SenderStats, send_all
from faults.stack import Stack

SECRET = "whsec_ZmF1bHQtaW5qZWN0aW9uLWhhcm5lc3Mtc2VjcmV0"  # noqa: S105 (a test-only secret)
TARGETS = ("gateway", "worker", "temporal")
RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results" / "faults.json"


@dataclass
class ScenarioResult:
    scenario: str
    sent: int
    acked: int
    duplicate_answers: int
    retried: int
    lost: int
    duplicated: int
    not_completed: int
    never_acked: int
    unexpected_5xx: int
    statuses: dict[str, int]
    transport_errors: dict[str, int]
    down_seconds: float
    #: From the restart to the first acknowledgement after it; None when none came after it
    #: (a worker kill: acknowledgements never waited for it, and sending may end before).
    time_to_recover_s: float | None
    drain_s: float
    elapsed_s: float
    #: Acknowledgements received between the kill and the restart.
    acked_while_down: int
    #: The longest wait between two acknowledgements around the outage (one of them after
    #: the kill, the wait overlapping the time the part was down).
    ack_pause_s: float | None
    #: Acknowledged deliveries whose workflow completed between the kill and the restart.
    completed_while_down: int
    #: From the restart to the first acknowledged delivery's workflow completing after it.
    completions_resumed_s: float | None


@dataclass(frozen=True)
class AroundOutage:
    """What one stream of events (acknowledgements, completions) did around an outage."""

    while_down: int
    longest_pause_s: float | None
    first_after_restart_s: float | None


def around_outage(times: Iterable[float], *, killed_at: float, restarted_at: float) -> AroundOutage:
    """Counts the events between the kill and the restart, the longest gap between two
    consecutive events that overlaps that time, and how soon the first event came after the
    restart (all on one clock)."""
    ordered = sorted(times)
    while_down = sum(1 for t in ordered if killed_at <= t < restarted_at)
    gaps = [
        later - earlier
        for earlier, later in itertools.pairwise(ordered)
        if later >= killed_at and earlier < restarted_at
    ]
    after = [t for t in ordered if t >= restarted_at]
    return AroundOutage(
        while_down=while_down,
        longest_pause_s=round(max(gaps), 3) if gaps else None,
        first_after_restart_s=round(after[0] - restarted_at, 3) if after else None,
    )


async def _describe(client: Client, workflow_id: str) -> WorkflowExecutionDescription | None:
    try:
        return await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


@dataclass(frozen=True)
class Checked:
    lost: int
    not_completed: int
    #: When each completed workflow closed, on this process's monotonic clock.
    completed_at: list[float]


async def _check(client: Client, acked: set[str], *, stall_seconds: float) -> Checked:
    """Every acked delivery must have a workflow that completes.

    Waits as long as workflows keep completing; gives up after `stall_seconds` without
    progress (a loaded machine completes slowly, but it completes)."""
    pending = {f"order-{d}" for d in acked}
    lost: set[str] = set()
    completed_at: dict[str, float] = {}
    sem = asyncio.Semaphore(16)
    # Temporal stamps close times with the wall clock of this same machine.
    wall_to_monotonic = time.monotonic() - time.time()

    async def one(wid: str) -> tuple[str, WorkflowExecutionDescription | None]:
        async with sem:
            return wid, await _describe(client, wid)

    last_progress = time.monotonic()
    while pending and time.monotonic() - last_progress < stall_seconds:
        results = await asyncio.gather(*(one(w) for w in pending))
        lost = {wid for wid, desc in results if desc is None}
        for wid, desc in results:
            if desc is not None and desc.status == WorkflowExecutionStatus.COMPLETED:
                assert desc.close_time is not None
                completed_at[wid] = desc.close_time.timestamp() + wall_to_monotonic
        still = pending - lost - set(completed_at)
        if len(still) < len(pending):
            last_progress = time.monotonic()
        pending = still
        if pending:
            await asyncio.sleep(1.0)
    return Checked(len(lost), len(pending), list(completed_at.values()))


async def _duplicates(client: Client, task_queue: str) -> int:
    """Workflow ids with more than one run. Distinct run ids are counted: a listing taken
    while runs change state may show the same run twice."""
    runs: dict[str, set[str]] = {}
    async for wf in client.list_workflows(f"TaskQueue = '{task_queue}'"):
        runs.setdefault(wf.id, set()).add(wf.run_id)
    return sum(1 for ids in runs.values() if len(ids) > 1)


async def run_scenario(
    target: str, *, deliveries: int, concurrency: int, down: float, budget: float = 900.0
) -> ScenarioResult:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"hooktide-faults-{target}-") as tmp:
        queue = f"faults-{target}-{uuid.uuid4().hex[:6]}"
        stack = Stack(Path(tmp), secret=SECRET, task_queue=queue)
        await stack.start()
        try:
            ids = [f"{target}-{uuid.uuid4().hex[:12]}-{i}" for i in range(deliveries)]
            stats = SenderStats()
            sending = asyncio.create_task(
                send_all(
                    stack.url + "/webhooks/orders", SECRET, ids, stats,
                    concurrency=concurrency, deadline=started + budget,
                )
            )  # fmt: skip
            while len(stats.acked) < deliveries // 3 and not sending.done():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            stack.kill(target)
            killed_at = time.monotonic()
            await asyncio.sleep(down)
            restarted_at = time.monotonic()
            await stack.restart(target)
            await sending
            drain_started = time.monotonic()
            client = await Client.connect(
                stack.temporal.address, data_converter=pydantic_data_converter
            )
            checked = await _check(client, stats.acked, stall_seconds=120)
            drain = time.monotonic() - drain_started
            duplicated = await _duplicates(client, queue)
        finally:
            stack.stop()
    five_xx = sum(n for code, n in stats.statuses.items() if code >= 500 and code != 503)
    acks = around_outage(stats.ack_times, killed_at=killed_at, restarted_at=restarted_at)
    completions = around_outage(
        checked.completed_at, killed_at=killed_at, restarted_at=restarted_at
    )
    return ScenarioResult(
        scenario=f"kill -9 {target}",
        sent=stats.sent,
        acked=len(stats.acked),
        duplicate_answers=stats.duplicate_acks,
        retried=stats.retries,
        lost=checked.lost,
        duplicated=duplicated,
        not_completed=checked.not_completed,
        never_acked=len(stats.gave_up),
        unexpected_5xx=five_xx,
        statuses={str(k): v for k, v in sorted(stats.statuses.items())},
        transport_errors=dict(stats.transport_errors),
        down_seconds=down,
        time_to_recover_s=acks.first_after_restart_s,
        drain_s=round(drain, 2),
        elapsed_s=round(time.monotonic() - started, 1),
        acked_while_down=acks.while_down,
        ack_pause_s=acks.longest_pause_s,
        completed_while_down=completions.while_down,
        completions_resumed_s=completions.first_after_restart_s,
    )


def _figure(value: float | None) -> str:
    return "-" if value is None else str(value)


def table(results: list[ScenarioResult]) -> str:
    """The figures per scenario. While the part is down: what was acknowledged and completed.
    Ack pause: the longest wait between two acknowledgements around the outage. Time to
    recover: restart to the first acknowledgement after it ("-": none came after it, as
    when acknowledgements never stopped and the load ended first). Completions resumed:
    restart to the first workflow completing after it."""
    head = (
        "| scenario | sent | acked | retried | lost | duplicated | not completed | "
        "5xx other than 503 | statuses seen | acked while down | ack pause (s) | "
        "time to recover (s) | completed while down | completions resumed (s) |"
    )
    lines = [head, "|" + "---|" * 14]
    for r in results:
        statuses = ", ".join(f"{k} x{v}" for k, v in r.statuses.items())
        errors = ", ".join(f"{k} x{v}" for k, v in r.transport_errors.items())
        seen = statuses + (f"; {errors}" if errors else "")
        lines.append(
            f"| {r.scenario} | {r.sent} | {r.acked} | {r.retried} | {r.lost} | {r.duplicated} "
            f"| {r.not_completed} | {r.unexpected_5xx} | {seen} | {r.acked_while_down} "
            f"| {_figure(r.ack_pause_s)} | {_figure(r.time_to_recover_s)} "
            f"| {r.completed_while_down} | {_figure(r.completions_resumed_s)} |"
        )
    return "\n".join(lines)


async def main(deliveries: int, concurrency: int, down: float, targets: list[str]) -> int:
    results = []
    for target in targets:
        print(f"scenario: kill -9 {target} ({deliveries} deliveries) ...", flush=True)
        results.append(
            await run_scenario(target, deliveries=deliveries, concurrency=concurrency, down=down)
        )
    print(table(results))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "deliveries": deliveries,
                "concurrency": concurrency,
                "results": [asdict(r) for r in results],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    bad = [r for r in results if r.lost or r.duplicated or r.not_completed or r.unexpected_5xx]
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Kill parts of the stack under load.")
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--down", type=float, default=3.0, help="seconds each part stays down")
    parser.add_argument("--only", choices=TARGETS, action="append")
    args = parser.parse_args()
    raise SystemExit(
        asyncio.run(main(args.deliveries, args.concurrency, args.down, args.only or list(TARGETS)))
    )
