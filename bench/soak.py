"""Soak: the gateway under steady load for 10 minutes, its memory sampled every minute.

One stack (dev server on SQLite, worker, gateway processes), load from wrk (-t1 -c8) in ten
consecutive one-minute runs, each with freshly signed requests (timestamps stay inside the
5-minute window). Loopback only, bounded in time.

    .venv/bin/python bench/soak.py [--minutes 10]

Writes bench/results/soak.json and prints the RSS series.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from harness import rss_mib, run_wrk, summarize, write_requests
from orders import SECRET

from webhook_gateway.dev.local_stack import LocalStack, isolated_env
from webhook_gateway.dev.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "bench"


async def main(minutes: int) -> dict[str, Any]:
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        route = {
            "path": "/webhooks/orders",
            "workflow": "OrderWorkflow",
            "task_queue": QUEUE,
            "delivery_id": {"header": "webhook-id"},
            "workflow_id": {"prefix": "order-"},
            "verifier": {"type": "standard_webhooks", "secret": {"env": "BENCH_SECRET"}},
        }
        config_file = tmp / "hooktide.yaml"
        config_file.write_text(yaml.safe_dump({"routes": {"orders": route}}), "utf-8")
        env = isolated_env(
            {
                "HOOKTIDE_CONFIG": str(config_file),
                "HOOKTIDE_TASK_QUEUE": QUEUE,
                "BENCH_SECRET": SECRET,
            }
        )
        async with LocalStack(tmp, env, cwd=ROOT) as stack:
            await stack.start_temporal(db_file=tmp / "soak.db")
            base = await stack.start_hooktide(port=free_port())
            gateway = stack.process("gateway")
            for minute in range(minutes):
                requests = tmp / f"soak-{minute}.txt"
                write_requests(requests, 12_000, f"soak{minute}")
                wrk = await run_wrk(
                    base, "/webhooks/orders", requests, seconds=60, connections=8, threads=1,
                    watch={"gateway": gateway.pid},
                )  # fmt: skip
                result = summarize(f"minute-{minute + 1}", wrk)
                sample = {
                    "minute": minute + 1,
                    "acked": result["acked"],
                    "throughput_rps": result["throughput_rps"],
                    "p99_ms": result["p99_ms"],
                    "rss_mib": round(rss_mib(gateway.pid), 1),
                    "peak_rss_mib": result["peak_rss_mib"]["gateway"],
                    "errors": result["error_count"],
                }
                samples.append(sample)
                print(json.dumps(sample), flush=True)
    rss = [s["rss_mib"] for s in samples]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "minutes": minutes,
        "load": "wrk -t1 -c8, start route, worker running",
        "samples": samples,
        "rss_first_mib": rss[0],
        "rss_last_mib": rss[-1],
        "rss_max_mib": max(rss),
        "acked_total": sum(s["acked"] for s in samples),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Gateway memory over a steady load.")
    parser.add_argument("--minutes", type=int, default=10)
    report = asyncio.run(main(parser.parse_args().minutes))
    out = ROOT / "bench" / "results" / "soak.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        f"RSS first {report['rss_first_mib']} MiB, last {report['rss_last_mib']} MiB, "
        f"max {report['rss_max_mib']} MiB over {report['acked_total']} acked requests"
    )
