"""The raw SDK's load, in a process of its own (bench/throughput.py runs it, and charges its
CPU to the load generator): what Temporal does for the same work without the gateway.

Connects as the gateway does (`webhook_gateway.dispatch.temporal_client.connect`, the
settings from the environment: the same data converter, codec included), and sends the
event the gateway wrote for a real request (`--event`, a WebhookEvent as JSON), each time
with a fresh delivery id:

  start    `start_workflow` with the gateway's id policies and RPC timeout, one per event
  execute  the same, then waits for the workflow's result (start and complete)
  sws      signal-with-start of inbox workflows (HooktideInbox) carrying `--batch` events
           each, shaped as the gateway's group commit sends them (`--inbox-input`: the
           InboxInput the gateway started an inbox with, read back from Temporal, and
           `--inbox-batch`, the rest of an InboxBatch it signalled, around the batch's
           PendingStarts); `--concurrency` events in flight, so
           concurrency / batch calls at once, call i to shard i % shards

Protocol on stdin/stdout, so the caller can read every process's CPU time around exactly
the measured window: after connecting and a warm-up (on a task queue no one polls) it
prints `{"ready": true}`, waits for a line `go`, runs for `--duration`, prints its result
as one JSON line, writes the delivery ids Temporal accepted to `--ids-out`, and exits when
stdin closes.

    .venv/bin/python bench/raw_sdk.py start --concurrency 32 --duration 10 --event E.json \\
        --task-queue bench --workflow OrderWorkflow --prefix raw- --ids-out ids.txt
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import percentile
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import TemporalError
from temporalio.service import RPCError

from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.highfreq import (
    INBOX_SIGNAL,
    INBOX_WORKFLOW,
    InboxBatch,
    InboxInput,
    PendingStart,
    inbox_workflow_id,
)
from webhook_gateway.dispatch.temporal_client import connect

UNPOLLED = "bench-unpolled"  # the warm-up's task queue: no worker polls it
#: What a call may meet under load; anything else is a bug here, and stops the run.
EXPECTED = (RPCError, TemporalError, TimeoutError)


class Load:
    """One mode's calls; `acked` holds each event Temporal accepted."""

    def __init__(self, client: Client, args: argparse.Namespace, template: WebhookEvent) -> None:
        self.client, self.args, self.template = client, args, template
        self.rpc = timedelta(seconds=Settings().temporal_rpc_timeout)
        self.sequence = 0
        self.acked: list[str] = []
        self.latencies_ms: list[float] = []
        self.errors: Counter[str] = Counter()
        self.inbox: InboxInput | None = None
        self.batch = InboxBatch(workflow=args.workflow, task_queue=args.task_queue, items=[])
        if args.inbox_input:
            text = Path(args.inbox_input).read_text(encoding="utf-8")
            self.inbox = InboxInput.model_validate_json(text)
        if args.inbox_batch:
            text = Path(args.inbox_batch).read_text(encoding="utf-8")
            self.batch = InboxBatch.model_validate_json(text)

    def event(self, tag: str) -> WebhookEvent:
        self.sequence += 1
        return self.template.model_copy(
            update={"delivery_id": f"{tag}_{self.sequence}", "received_at": datetime.now(UTC)}
        )

    async def start(self, queue: str, tag: str, wait: bool) -> list[str]:
        event = self.event(tag)
        handle = await self.client.start_workflow(
            self.args.workflow,
            event,
            id=self.args.prefix + event.delivery_id,
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            rpc_timeout=self.rpc,
        )
        if wait:
            await handle.result()
        return [event.delivery_id]

    async def signal_with_start(self, queue: str, tag: str, shard: int) -> list[str]:
        events = [self.event(tag) for _ in range(self.args.batch)]
        items = []
        for event in events:
            workflow_id = self.args.prefix + event.delivery_id
            size = len(event.model_dump_json()) + len(workflow_id) + 16  # as the gateway counts
            items.append(PendingStart(workflow_id=workflow_id, event=event, size=size))
        route = self.args.inbox_route if queue != UNPOLLED else f"{self.args.inbox_route}-warm"
        assert self.inbox is not None, "sws needs --inbox-input"
        await self.client.start_workflow(
            INBOX_WORKFLOW,
            self.inbox.model_copy(update={"route": route, "shard": shard}),
            id=inbox_workflow_id(route, shard),
            task_queue=queue,
            start_signal=INBOX_SIGNAL,
            start_signal_args=[self.batch.model_copy(update={"items": items})],
            rpc_timeout=self.rpc,
        )
        return [e.delivery_id for e in events]

    def lanes(self) -> int:
        concurrency: int = self.args.concurrency
        if self.args.mode == "sws":
            batch: int = self.args.batch
            return max(1, math.ceil(concurrency / batch))
        return concurrency

    def call(self, lane: int, queue: str, tag: str) -> Callable[[], Awaitable[list[str]]]:
        if self.args.mode == "sws":
            return lambda: self.signal_with_start(queue, tag, lane % self.args.shards)
        wait = self.args.mode == "execute" and queue != UNPOLLED
        return lambda: self.start(queue, tag, wait)

    async def run(self, seconds: float, queue: str, tag: str, record: bool) -> float:
        deadline = time.monotonic() + seconds

        async def lane(index: int) -> None:
            call = self.call(index, queue, tag)
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    ids = await call()
                except EXPECTED as exc:
                    self.errors[type(exc).__name__] += 1
                    continue
                if record:
                    self.latencies_ms.append((time.perf_counter() - started) * 1000)
                    self.acked += ids

        began = time.monotonic()
        await asyncio.gather(*(lane(i) for i in range(self.lanes())))
        return time.monotonic() - began


def result(load: Load, seconds: float) -> dict[str, Any]:
    samples = load.latencies_ms or [0.0]
    return {
        "mode": load.args.mode,
        "concurrency": load.args.concurrency,
        "lanes": load.lanes(),
        "batch": load.args.batch if load.args.mode == "sws" else 1,
        "calls": len(load.latencies_ms),
        "events": len(load.acked),
        "seconds": round(seconds, 3),
        "errors": dict(load.errors),
        "latency_ms": {
            "p50": round(percentile(samples, 50), 2),
            "p90": round(percentile(samples, 90), 2),
            "p99": round(percentile(samples, 99), 2),
            "max": round(max(samples), 2),
            "mean": round(statistics.fmean(samples), 2),
        },
    }


async def main(args: argparse.Namespace) -> None:
    client = await connect(Settings())
    template = WebhookEvent.model_validate_json(Path(args.event).read_text(encoding="utf-8"))
    load = Load(client, args, template)
    await load.run(args.warm_up, UNPOLLED, f"{args.tag}-warm", record=False)
    load.errors.clear()
    print(json.dumps({"ready": True}), flush=True)
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if line.strip() != "go":
        return
    seconds = await load.run(args.duration, args.task_queue, args.tag, record=True)
    Path(args.ids_out).write_text("".join(f"{i}\n" for i in load.acked), encoding="utf-8")
    print(json.dumps(result(load, seconds)), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the caller has read our CPU time


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("start", "execute", "sws"))
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--event", required=True, help="a WebhookEvent as JSON")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--workflow", required=True)
    parser.add_argument("--prefix", required=True, help="workflow ids are prefix + delivery id")
    parser.add_argument("--tag", default="raw", help="delivery ids are <tag>_<n>")
    parser.add_argument("--ids-out", required=True)
    parser.add_argument("--batch", type=int, default=1, help="sws: events per call")
    parser.add_argument("--shards", type=int, default=4, help="sws: inbox workflows")
    parser.add_argument("--inbox-route", default="raw", help="sws: the inboxes' route name")
    parser.add_argument(
        "--inbox-input", default="", help="sws: an InboxInput the gateway sent, as JSON"
    )
    parser.add_argument(
        "--inbox-batch", default="", help="sws: an InboxBatch the gateway sent (items aside)"
    )
    parser.add_argument("--warm-up", type=float, default=1.0, help="seconds, unpolled queue")
    asyncio.run(main(parser.parse_args()))
