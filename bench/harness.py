"""What the benchmarks share: CPU time and memory of named processes from /proc, per-phase
deltas as CPU-ms per event, round orders, bootstrap intervals, signed request files for
`wrk`, and running `wrk` (bench/wrk_signed.lua) with its own CPU time.

CPU time is per process (utime + stime of /proc/<pid>/stat: all its threads, none of its
children), so each process of a stack is charged only for itself; a name may stand for
several processes (nginx's master and workers), summed. `wrk` is charged from its own
rusage once it exits. What the rest of the machine ran meanwhile (/proc/stat's process
time less the named processes') tells a clean run from one that shared the box.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import random
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from orders import SECRET, order_payload
from standardwebhooks import Webhook

from webhook_gateway.dev.processes import rss_kib

T = TypeVar("T")

LUA = Path(__file__).resolve().parent / "wrk_signed.lua"
BOOTSTRAP = 2000
TICK = float(os.sysconf("SC_CLK_TCK"))

# ---- processes ---------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    """The direct children of a process (nginx's workers, for one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):  # gone meanwhile
                stat = (entry / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
                if int(stat[1]) == pid:
                    found.append(int(entry.name))
    return found


def rss_mib(pid: int) -> float:
    return rss_kib(pid) / 1024


def machine_cpu() -> tuple[float, float, float]:
    """Seconds of CPU, so far, from /proc/stat: all processes' (user and system time), the
    kernel's interrupts' (loopback traffic and disk writes among them: no process's), and
    what the hypervisor gave to others (steal)."""
    fields = [int(f) for f in Path("/proc/stat").read_text(encoding="utf-8").split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system) / TICK, (irq + softirq) / TICK, steal / TICK


def busy_processes(seconds: float = 1.0) -> list[dict[str, Any]]:
    """Processes other than this one using over 10 % of a core, sampled over `seconds`."""

    def sample() -> dict[int, float]:
        out = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                with contextlib.suppress(OSError, IndexError, ValueError):  # gone meanwhile
                    out[int(entry.name)] = cpu_seconds(int(entry.name))
        return out

    before = sample()
    time.sleep(seconds)
    busy = []
    for pid, used in sample().items():
        share = (used - before.get(pid, used)) / seconds
        if share > 0.1:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            busy.append({"pid": pid, "cpu": round(share, 2), "command": command.decode()[:120]})
    return busy


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.platform()}"
    )


@dataclass(frozen=True)
class CpuSample:
    at: float
    seconds: dict[str, float]
    machine: tuple[float, float, float]


@dataclass
class CpuMeter:
    """CPU time of named processes; `since(sample)` gives each name's seconds in a phase,
    plus `other` (every other process's), `interrupts` and `steal`, and `wall`."""

    pids: dict[str, list[int]] = field(default_factory=dict)
    _last: dict[int, float] = field(default_factory=dict)

    def watch(self, name: str, *pids: int) -> None:
        self.pids[name] = list(pids)

    def forget(self, name: str) -> None:
        self.pids.pop(name, None)

    def _read(self, pid: int) -> float:
        # A process that exited: what it had used when last seen.
        with contextlib.suppress(OSError, IndexError, ValueError):
            self._last[pid] = cpu_seconds(pid)
        return self._last.get(pid, 0.0)

    def sample(self) -> CpuSample:
        seconds = {name: sum(self._read(p) for p in pids) for name, pids in self.pids.items()}
        return CpuSample(time.monotonic(), seconds, machine_cpu())

    def since(
        self, before: CpuSample, extra: Mapping[str, float] | None = None
    ) -> dict[str, float]:
        """Seconds per name since `before`; `extra` adds processes measured otherwise (wrk)."""
        now = self.sample()
        used = {name: now.seconds[name] - before.seconds.get(name, now.seconds[name])
                for name in now.seconds}  # fmt: skip
        used |= dict(extra or {})
        processes, interrupts, steal = (
            a - b for a, b in zip(now.machine, before.machine, strict=True)
        )
        used["other"] = max(0.0, processes - sum(used.values()))
        used["interrupts"] = interrupts
        used["steal"] = steal
        used["wall"] = now.at - before.at
        return used


def ms_per_event(used: Mapping[str, float], events: int) -> dict[str, float | None]:
    """CPU-ms per event of each process of a phase (`wall` left out)."""
    return {
        name: round(seconds / events * 1000, 3) if events else None
        for name, seconds in used.items()
        if name != "wall"
    }


class RssPeaks:
    """The largest resident memory seen of each named process, sampled on demand."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self.peak = dict.fromkeys(self.pids, 0.0)

    def sample(self) -> None:
        for name, pid in self.pids.items():
            with contextlib.suppress(OSError, RuntimeError):
                self.peak[name] = max(self.peak[name], rss_mib(pid))

    def result(self) -> dict[str, float]:
        return {name: round(mib, 1) for name, mib in self.peak.items()}


# ---- statistics --------------------------------------------------------------------------


def alternating(arms: Sequence[T], round_number: int) -> tuple[T, ...]:
    """The order of the arms in a round: as given in even rounds, reversed in odd ones, so
    a drift within the run hits each arm first as often."""
    return tuple(arms) if round_number % 2 == 0 else tuple(reversed(arms))


def interval(
    statistic: Callable[[random.Random], float], resamples: int = BOOTSTRAP
) -> list[float]:
    """The 95 % bootstrap interval of `statistic`, which resamples with the generator given."""
    rng = random.Random(0)
    values = sorted(statistic(rng) for _ in range(resamples))
    return [round(values[int(0.025 * resamples)], 3), round(values[int(0.975 * resamples)], 3)]


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


# ---- load ----------------------------------------------------------------------------------


def write_requests(path: Path, count: int, tag: str, *, keys: int = 8) -> None:
    """`count` signed requests, ~1 KB bodies, webhook-ids `msg_<tag>_<n>`, timestamps of
    now; `customer.id` takes `keys` values (a batch route's key)."""
    signer = Webhook(SECRET)
    now = datetime.now(UTC)
    stamp = str(int(now.timestamp()))
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            payload = order_payload(f"{tag}-{i}")
            payload["customer"]["id"] = f"c-{i % keys}"
            payload["note"] = ""
            body = json.dumps(payload, separators=(",", ":"))
            payload["note"] = "x" * max(0, 1024 - len(body))
            body = json.dumps(payload, separators=(",", ":"))
            msg_id = f"msg_{tag}_{i}"
            out.write(f"{msg_id}\t{stamp}\t{signer.sign(msg_id, now, body)}\t{body}\n")


async def run_wrk(
    url: str,
    path: str,
    requests: Path,
    *,
    seconds: float,
    connections: int,
    threads: int = 2,
    record_ids: bool = False,
    watch: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """wrk's summary (bench/wrk_signed.lua) plus `cpu_s`, its own CPU time, `peak_rss_mib`
    of the `watch`ed processes and, with `record_ids`, `acked_ids`: the delivery ids of
    the 2xx answers, read from their bodies."""
    out = requests.with_suffix(".json")
    ids = requests.with_suffix(".ids")
    threads = min(threads, connections)
    cmd = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{round(seconds)}s", "--timeout", "10s",
        "-s", str(LUA), url, "--", path, str(requests), str(threads), str(out),
    ]  # fmt: skip
    if record_ids:
        cmd.append(str(ids))
    log = requests.with_suffix(".err")
    with log.open("wb") as err:
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    peaks = RssPeaks(watch or {})
    waited = asyncio.ensure_future(asyncio.to_thread(os.wait4, process.pid, 0))
    while not waited.done():
        peaks.sample()
        await asyncio.wait([waited], timeout=0.5)
    _, status, usage = waited.result()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        said = log.read_text(encoding="utf-8", errors="replace")
        raise RuntimeError(f"wrk failed ({process.returncode}): {' '.join(cmd)}\n{said}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    result["peak_rss_mib"] = peaks.result()
    if record_ids:
        result["acked_ids"] = ids.read_text(encoding="utf-8").split()
    return result


def summarize(name: str, wrk: Mapping[str, Any]) -> dict[str, Any]:
    """Rate and latency of one wrk run; `wrapped` if it sent a request twice."""
    seconds = wrk["duration_us"] / 1e6
    ok = wrk["requests"] - wrk["errors"]["status"]
    return {
        "mode": name,
        "requests": wrk["requests"],
        "acked": ok,
        "errors": wrk["errors"],
        "wrapped": wrk["sent"] > wrk["available"],
        "seconds": round(seconds, 2),
        "throughput_rps": round(ok / seconds, 1),
        "p50_ms": round(wrk["latency_us"]["p50"] / 1000, 2),
        "p99_ms": round(wrk["latency_us"]["p99"] / 1000, 2),
        "max_ms": round(wrk["latency_us"]["max"] / 1000, 2),
        "peak_rss_mib": wrk["peak_rss_mib"],
        "error_count": sum(wrk["errors"].values()),
    }
