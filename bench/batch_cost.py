"""What a batch route costs per event, beside per-request start mode, on one stack.

Runs the dev server (SQLite, WAL + synchronous=full), a worker and a gateway with two routes:
`start` (OrderWorkflow per request) and `batch` (mode batch, EventBatchWorkflow per key, 8
keys, max_size 100, max_wait 1 s). For each: `wrk -t2 -c32` for `--duration` seconds after a
2 s warm-up, then waits (bounded) until every acknowledged event's workflow completed, as
bench/throughput.py counts them. Then it fetches the histories and reports, per event, the
history events and bytes Temporal wrote (collectors, batch workflows, order workflows), the
workflow tasks per signal, and the CPU seconds each process spent.

    .venv/bin/python bench/batch_cost.py [--duration 20] [--modes start,batch]
        [--batch '{"max_size": 100}']

Writes bench/results/batch_cost.json and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from harness import cpu_seconds, write_requests
from orders import SECRET
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from webhook_gateway.dev.local_stack import LocalStack, isolated_env
from webhook_gateway.dev.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "wrk_signed.lua"
QUEUE = "bench"
THREADS, CONNECTIONS = 2, 32
BATCH_KEYS = 8
BATCH = {"key": "customer.id", "max_size": 100, "max_wait_seconds": 1.0}
#: Order workflows whose histories are read (they are all alike).
START_SAMPLE = 100


def routes(batch: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "start": {"path": "/webhooks/orders", "workflow_id": {"prefix": "order-"}},
        "batch": {
            "path": "/webhooks/order-batches",
            "mode": "batch",
            "workflow": "EventBatchWorkflow",
            "batch": {**BATCH, **batch},
        },
    }


async def run_wrk(url: str, path: str, requests: Path, seconds: float) -> dict[str, Any]:
    out = requests.with_suffix(".json")
    cmd = [
        "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{int(seconds)}s", "--timeout", "10s",
        "-s", str(LUA), url, "--", path, str(requests), str(THREADS), str(out),
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=subprocess.DEVNULL)
    if await proc.wait() != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {' '.join(cmd)}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def summarize(mode: str, wrk: dict[str, Any]) -> dict[str, Any]:
    ok = wrk["requests"] - wrk["errors"]["status"]
    return {
        "mode": mode,
        "requests": wrk["requests"],
        "acked": ok,
        "errors": wrk["errors"],
        "throughput_rps": round(ok / (wrk["duration_us"] / 1e6), 1),
        "p50_ms": round(wrk["latency_us"]["p50"] / 1000, 2),
        "p99_ms": round(wrk["latency_us"]["p99"] / 1000, 2),
    }


@dataclass
class Cost:
    """History totals over a set of workflow runs."""

    runs: int = 0
    events: int = 0
    bytes: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

    def add(self, history: WorkflowHistory) -> None:
        self.runs += 1
        for event in history.events:
            self.events += 1
            self.bytes += event.ByteSize()
            self.kinds[EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")] += 1

    def per(self, count: int) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "history_events": self.events,
            "history_bytes": self.bytes,
            "events_per_event": round(self.events / count, 3) if count else None,
            "bytes_per_event": round(self.bytes / count, 1) if count else None,
            "kinds": dict(self.kinds.most_common()),
        }


async def cost_of(client: Client, query: str, limit: int | None = None) -> Cost:
    cost = Cost()
    async for wf in client.list_workflows(query, limit=limit):
        handle = client.get_workflow_handle(wf.id, run_id=wf.run_id)
        cost.add(await handle.fetch_history())
    return cost


async def completed(client: Client, mode: str, seen: dict[str, int]) -> int:
    if mode == "start":
        query = (
            "WorkflowType = 'OrderWorkflow' AND ExecutionStatus = 'Completed' "
            "AND WorkflowId STARTS_WITH 'order-'"
        )
        return (await client.count_workflows(query)).count
    query = "WorkflowType = 'EventBatchWorkflow' AND ExecutionStatus = 'Completed'"
    async for wf in client.list_workflows(query):
        if wf.id not in seen:
            result = await client.get_workflow_handle(wf.id, run_id=wf.run_id).result()
            seen[wf.id] = int(result.count if hasattr(result, "count") else result["count"])
    return sum(seen.values())


def cpu_of(stack: LocalStack) -> dict[str, float]:
    return {
        name: cpu_seconds(stack.process(name).pid) for name in ("temporal", "worker", "gateway")
    }


async def one_mode(
    mode: str, path: str, stack: LocalStack, client: Client, tmp: Path, args: argparse.Namespace
) -> dict[str, Any]:
    seen: dict[str, int] = {}
    warm = tmp / f"{mode}-warm.txt"
    write_requests(warm, 3_000, f"{mode}w")
    warm_result = await run_wrk(stack.url, path, warm, 2)
    requests = tmp / f"{mode}.txt"
    write_requests(requests, int(args.duration * 1_500) + 1_000, mode)
    cpu_before = cpu_of(stack)
    began = time.monotonic()
    result = summarize(mode, await run_wrk(stack.url, path, requests, args.duration))
    load_end = time.monotonic()
    expected = result["acked"] + warm_result["requests"] - warm_result["errors"]["status"]
    done = await completed(client, mode, seen)
    while done < expected and time.monotonic() - load_end < args.drain_cap:
        await asyncio.sleep(1.0)
        done = await completed(client, mode, seen)
    elapsed = time.monotonic() - began + 2  # the warm-up's events count too
    cpu_after = cpu_of(stack)
    result["e2e"] = {
        "acked_events": expected,
        "completed_events": done,
        "seconds": round(elapsed, 1),
        "drain_after_load_s": round(time.monotonic() - load_end, 1),
        "capped": done < expected,
        "events_per_s": round(done / elapsed, 1),
    }
    result["cpu_s_per_1k_events"] = {
        name: round((cpu_after[name] - cpu_before[name]) / max(done, 1) * 1000, 2)
        for name in cpu_before
    }
    if mode == "start":
        sample = await cost_of(
            client, "WorkflowType = 'OrderWorkflow' AND WorkflowId STARTS_WITH 'order-'",
            limit=START_SAMPLE,
        )  # fmt: skip
        result["history"] = {"order_workflows": sample.per(sample.runs)}
        return result
    collectors = await cost_of(client, "WorkflowType = 'HooktideBatchCollector'")
    batches = await cost_of(client, "WorkflowType = 'EventBatchWorkflow'")
    signals = collectors.kinds["WORKFLOW_EXECUTION_SIGNALED"]
    tasks = collectors.kinds["WORKFLOW_TASK_COMPLETED"]
    total = Cost(
        runs=collectors.runs + batches.runs,
        events=collectors.events + batches.events,
        bytes=collectors.bytes + batches.bytes,
    )
    result["history"] = {
        "collectors": collectors.per(done),
        "event_batches": batches.per(done),
        "total": total.per(done),
        "events_per_signal": round(done / signals, 2) if signals else None,
        "workflow_tasks_per_signal": round(tasks / signals, 3) if signals else None,
        "events_per_batch": round(done / batches.runs, 1) if batches.runs else None,
    }
    return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = list(os.getloadavg())
    table = routes(json.loads(args.batch))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        common = {
            "task_queue": QUEUE,
            "workflow": "OrderWorkflow",
            "delivery_id": {"header": "webhook-id"},
            "verifier": {"type": "standard_webhooks", "secret": {"env": "BENCH_SECRET"}},
        }
        config = {"routes": {k: {**common, **v} for k, v in table.items()}}
        config_file = tmp / "hooktide.yaml"
        config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        env = isolated_env(
            {"HOOKTIDE_CONFIG": str(config_file), "HOOKTIDE_TASK_QUEUE": QUEUE,
             "BENCH_SECRET": SECRET}
        )  # fmt: skip
        async with LocalStack(tmp, env, cwd=ROOT) as stack:
            server = await stack.start_temporal(db_file=tmp / "bench.db")
            client = await Client.connect(server.address, data_converter=pydantic_data_converter)
            await stack.start_hooktide(port=free_port())
            for mode in args.modes.split(","):
                result = await one_mode(mode, table[mode]["path"], stack, client, tmp, args)
                results.append(result)
                print(json.dumps(result), flush=True)
    rates = {r["mode"]: r["e2e"]["events_per_s"] for r in results}
    return {
        "load_average_before_after": [load_before, list(os.getloadavg())],
        "load": f"wrk -t2 -c{CONNECTIONS} -d{args.duration}s, ~1 KB signed JSON, "
        f"{BATCH_KEYS} batch keys",
        "batch": table["batch"]["batch"],
        "e2e_batch_over_start": (
            round(rates["batch"] / rates["start"], 2) if {"batch", "start"} <= set(rates) else None
        ),
        "results": results,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--drain-cap", type=float, default=90.0)
    parser.add_argument("--modes", default="start,batch")
    parser.add_argument("--batch", default="{}", help="JSON merged into the batch route's batch")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "batch_cost.json")
    report = asyncio.run(main(parser.parse_args()))
    args_out = parser.parse_args().out
    args_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "results"}, indent=2))
