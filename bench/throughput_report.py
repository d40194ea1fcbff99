"""bench/throughput.py's report: a Markdown table per section, the fair pairings' ratios,
and docs/bench.png (rates, p99 and each process's CPU per event, by mode and concurrency)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: Where each process's CPU goes in the tables and the plot. `rest` is this process (it
#: polls visibility and the inboxes), every other process on the box, and, for the
#: ceiling, the idle gateway beside the bare app.
ROLES = ("gateway", "worker", "temporal", "load", "proxy", "rest")
COLOURS = {
    "gateway": "#3b7dd8", "worker": "#59a14f", "temporal": "#f2a541", "load": "#9c755f",
    "proxy": "#b07aa1", "rest": "#bab0ac",
}  # fmt: skip
LABELS = {
    ("ceiling", "ceiling"): "bare Starlette",
    ("start_worker", "gateway_start"): "gateway start (worker)",
    ("start_worker", "raw_start"): "raw start (worker)",
    ("execute", "raw_execute"): "raw start+result",
    ("group_commit", "gateway_group_commit"): "group commit",
    ("group_commit", "raw_signal_with_start"): "raw signal-with-start",
    ("batch", "gateway_batch"): "batch",
    ("start_no_worker", "gateway_start"): "gateway start (no worker)",
    ("start_no_worker", "raw_start"): "raw start (no worker)",
    ("burst", "gateway_group_commit_burst"): "group commit (no worker)",
    ("scale_out", "replicas_1"): "nginx, 1 gateway + 1 worker",
    ("scale_out", "replicas_2"): "nginx, 2 gateways + 2 workers",
}


def label(point: Mapping[str, Any]) -> str:
    return LABELS.get((point["section"], point["mode"]), f"{point['section']} {point['mode']}")


def roles(point: Mapping[str, Any], *, e2e: bool = False) -> dict[str, float]:
    """CPU-ms per event by role (ROLES) in a point's load, or (`e2e`) until completed."""
    source = point["e2e"]["cpu_ms_per_event"] if e2e else point["cpu_ms_per_event"]
    ms = {k: v or 0.0 for k, v in source.items()}
    ceiling = point["section"] == "ceiling"
    serving = ("bare_app",) if ceiling else ("gateway", "gateway-2")
    rest = ms.get("bench", 0.0) + ms.get("other", 0.0) + (ms.get("gateway", 0.0) if ceiling else 0)
    return {
        "gateway": sum(ms.get(n, 0.0) for n in serving),
        "worker": ms.get("worker", 0.0) + ms.get("worker-2", 0.0),
        "temporal": ms.get("temporal", 0.0),
        "load": ms.get("load", 0.0),
        "proxy": ms.get("proxy", 0.0),
        "rest": rest,
    }


def stack(cpu: Mapping[str, float]) -> float:
    """The stack's own CPU per event: every role but `rest` (the box's other work)."""
    return sum(v for role, v in cpu.items() if role != "rest")


def verdict(point: Mapping[str, Any]) -> str:
    check = point["check"]
    if check["ok"]:
        waiting = check["waiting_in_inbox"]
        return f"ok ({waiting} in inbox at cap)" if waiting else "ok"
    problems = [
        f"{key.replace('_', ' ')} {check[key]}"
        for key in ("missing", "duplicates", "acked_twice")
        if check[key]
    ]
    if check.get("completed") is not None and check["completed"] != check["workflows"]:
        problems.append(f"completed {check['completed']} of {check['workflows']}")
    if point.get("wrapped"):
        problems.append("wrk wrapped")
    return "FAIL: " + (", ".join(problems) or "see JSON")


def e2e_text(point: Mapping[str, Any]) -> str:
    e2e = point.get("e2e")
    if not e2e:
        return "-"
    text = f"{e2e['events_per_s']}"
    return text + (f" (capped, {e2e['completed']} done)" if e2e["capped"] else "")


def table(points: Iterable[Mapping[str, Any]]) -> str:
    lines = [
        "| mode | c | acked/s | p50 ms | p99 ms | end-to-end/s | "
        + " | ".join(ROLES)
        + " | stack CPU ms/event | Temporal's cores | check |",
        "|---|---|---|---|---|---|" + "---|" * len(ROLES) + "---|---|---|",
    ]
    for p in points:
        cpu = roles(p)
        cells = " | ".join(f"{cpu[r]:.2f}" for r in ROLES)
        batch = p.get("group_commit", {}).get("mean_batch") or p.get("batch")
        name = label(p) + (f", {batch} a call" if batch and batch != 1 else "")
        lines.append(
            f"| {name} | {p['c']} | {p['throughput_rps']} | {p['p50_ms']} | {p['p99_ms']} | "
            f"{e2e_text(p)} | {cells} | {stack(cpu):.2f} | {p['cpu_cores'].get('temporal', 0):.2f} "
            f"| {verdict(p)} |"
        )
    return "\n".join(lines)


def find(points: list[dict[str, Any]], section: str, mode: str, c: int) -> dict[str, Any] | None:
    return next(
        (p for p in points if (p["section"], p["mode"], p["c"]) == (section, mode, c)), None
    )


def pairings(points: list[dict[str, Any]], concurrency: list[int]) -> str:
    """The gateway's figure over the raw SDK's, same processes running, per concurrency:
    acked rate, and the stack's CPU per event (load generator included, the box's other
    work not)."""
    pairs = [
        ("A: start / raw start, worker", "start_worker", "gateway_start", "raw_start", False),
        ("B: start / raw start, no worker", "start_no_worker", "gateway_start", "raw_start", False),
        ("group commit / raw signal-with-start", "group_commit", "gateway_group_commit",
         "raw_signal_with_start", False),
        ("end to end: start / raw start+result", "start_worker", "gateway_start", "raw_execute",
         True),
    ]  # fmt: skip
    lines = [
        "| pairing | c | gateway / raw: rate | p99 | stack CPU per event |",
        "|---|---|---|---|---|",
    ]
    for name, section, gateway_mode, raw_mode, e2e in pairs:
        for c in concurrency:
            gateway = find(points, section, gateway_mode, c)
            raw_section = "execute" if raw_mode == "raw_execute" else section
            raw = find(points, raw_section, raw_mode, c)
            if not gateway or not raw or not raw["throughput_rps"]:
                continue
            if e2e:
                if not gateway.get("e2e"):
                    continue
                rate = gateway["e2e"]["events_per_s"] / max(raw["throughput_rps"], 1e-9)
                cost_g, cost_r = stack(roles(gateway, e2e=True)), stack(roles(raw))
                p99 = "-"
            else:
                rate = gateway["throughput_rps"] / max(raw["throughput_rps"], 1e-9)
                cost_g, cost_r = stack(roles(gateway)), stack(roles(raw))
                p99 = f"{gateway['p99_ms']} / {raw['p99_ms']} ms"
            lines.append(
                f"| {name} | {c} | {rate:.2f} | {p99} | "
                f"{cost_g:.2f} / {cost_r:.2f} ms = {cost_g / max(cost_r, 1e-9):.2f} |"
            )
    return "\n".join(lines)


def burst_vs_ceiling(points: list[dict[str, Any]], c: int = 32) -> str:
    burst = find(points, "burst", "gateway_group_commit_burst", c)
    ceiling = find(points, "ceiling", "ceiling", c)
    if not burst or not ceiling:
        return ""
    ratio = burst["throughput_rps"] / max(ceiling["throughput_rps"], 1e-9)
    return (
        f"Group commit with no worker at c={c}: {burst['throughput_rps']} acked/s, "
        f"{ratio:.1%} of bare Starlette's {ceiling['throughput_rps']} req/s; "
        f"p99 {burst['p99_ms']} ms against {ceiling['p99_ms']} ms."
    )


def scale_out(points: list[dict[str, Any]]) -> str:
    """Two replicas over one, and one replica behind nginx over the gateway served directly."""
    lines = [
        "| c | acked/s: 2 replicas / 1 | end-to-end/s: 2 / 1 | 1 replica behind nginx / direct |",
        "|---|---|---|---|",
    ]
    for one in (p for p in points if (p["section"], p["mode"]) == ("scale_out", "replicas_1")):
        c = one["c"]
        two = find(points, "scale_out", "replicas_2", c)
        direct = find(points, "start_worker", "gateway_start", c)
        if two is None:
            continue
        acked = two["throughput_rps"] / max(one["throughput_rps"], 1e-9)
        ends = "-"
        if one.get("e2e") and two.get("e2e"):
            ends = f"{two['e2e']['events_per_s'] / max(one['e2e']['events_per_s'], 1e-9):.2f}"
        proxied = f"{one['throughput_rps'] / direct['throughput_rps']:.2f}" if direct else "-"
        lines.append(f"| {c} | {acked:.2f} | {ends} | {proxied} |")
    return "\n".join(lines)


def backlog(points: list[dict[str, Any]]) -> str:
    """Peak of the inboxes' summed backlog, and when it last came down to 0 (s after the
    load began): from then on every acked event had its workflow started."""
    lines = [
        "| mode | c | peak backlog (all shards) | empty for good at s | load s | samples |",
        "|---|---|---|---|---|---|",
    ]
    for p in points:
        series = p.get("backlog_series")
        if not series:
            continue
        sums = [sum(b or 0 for b in s["backlog"]) for s in series]
        busy = [i for i, n in enumerate(sums) if n > 0]
        last = busy[-1] + 1 if busy else 0
        empty = str(series[last]["t"]) if last < len(series) else "-"
        lines.append(
            f"| {label(p)} | {p['c']} | {max(sums)} | {empty} | "
            f"{p.get('seconds', '-')} | {len(series)} |"
        )
    return "\n".join(lines)


SECTIONS = (
    ("HTTP ceiling", "ceiling"),
    ("Per-request start, worker polling (pairing A)", "start_worker"),
    ("Raw start and wait for the result (the engine's end-to-end ceiling)", "execute"),
    ("Group commit against raw signal-with-start of the same batches", "group_commit"),
    ("Batch route", "batch"),
    ("Per-request start, no worker (pairing B)", "start_no_worker"),
    ("Group commit, no worker (burst)", "burst"),
    ("Scale-out through nginx", "scale_out"),
)


def tables(result: Mapping[str, Any]) -> str:
    points: list[dict[str, Any]] = result["points"]
    concurrency = result["parameters"]["concurrency"]
    out = [
        f"{result['date']}, {result['machine']}; {result['temporal']}; "
        f"{result['parameters']['duration_s']} s a point; load average before/after "
        f"{[round(x, 2) for x in result['load_average_before_after'][0]]} / "
        f"{[round(x, 2) for x in result['load_average_before_after'][1]]}. "
        "CPU columns: ms per acked event."
    ]
    for title, section in SECTIONS:
        mine = [p for p in points if p["section"] == section]
        if mine:
            out += ["", f"### {title}", "", table(mine)]
    out += ["", "### Fair pairings: the gateway's figure over the raw SDK's", ""]
    out.append(pairings(points, concurrency))
    out += ["", burst_vs_ceiling(points), "", "### Scale-out", "", scale_out(points)]
    out += ["", "### Group-commit backlog", "", backlog(points)]
    return "\n".join(out)


def plot(result: Mapping[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points: list[dict[str, Any]] = result["points"]
    concurrency = result["parameters"]["concurrency"]
    fig = plt.figure(figsize=(16, 17))
    grid = fig.add_gridspec(4, 2, height_ratios=[1, 1, 1.1, 1.1])
    rate, e2e = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    p99, scale = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
    ack_cost, e2e_cost = fig.add_subplot(grid[2, :]), fig.add_subplot(grid[3, :])
    names = list(dict.fromkeys(label(p) for p in points if p["section"] != "scale_out"))
    cmap = plt.get_cmap("tab10")
    for i, name in enumerate(names):
        mine = sorted((p for p in points if label(p) == name), key=lambda p: p["c"])
        cs = [p["c"] for p in mine]
        style: dict[str, Any] = {"color": cmap(i % 10), "marker": "o", "label": name,
                                 "linestyle": "--" if name.startswith("raw") else "-"}  # fmt: skip
        rate.plot(cs, [p["throughput_rps"] for p in mine], **style)
        p99.plot(cs, [p["p99_ms"] for p in mine], **style)
        ends = [(p["c"], p["e2e"]["events_per_s"]) for p in mine if p.get("e2e")]
        if ends:
            e2e.plot([c for c, _ in ends], [v for _, v in ends], **style)
    for ax, title in ((rate, "acked events/s"), (e2e, "end-to-end events/s (until completed)"),
                      (p99, "p99 ack latency, ms")):  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(concurrency, [str(c) for c in concurrency])
        ax.set_xlabel("in flight (wrk -c; raw SDK: events in flight)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    handles, legend = rate.get_legend_handles_labels()
    fig.legend(handles, legend, loc="upper center", ncol=5, fontsize=9,
               bbox_to_anchor=(0.5, 0.975))  # fmt: skip
    _scale_out(scale, points)
    order = names + [label(p) for p in points if p["section"] == "scale_out"]
    _costs(ack_cost, points, list(dict.fromkeys(order)), e2e=False)
    _costs(e2e_cost, points, list(dict.fromkeys(order)), e2e=True)
    smoke = " (a --quick smoke run, not figures)" if result["parameters"].get("quick") else ""
    fig.suptitle(
        f"Hooktide throughput and CPU per event{smoke}, {result['date'][:10]}, "
        f"{result['machine'].split(',')[1].strip()}, loopback, {result['temporal']}"
    )
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _scale_out(ax: Any, points: list[dict[str, Any]]) -> None:
    mine = [p for p in points if p["section"] == "scale_out"]
    ax.set_title("scale-out through nginx: acked and end-to-end events/s")
    if not mine:
        ax.set_axis_off()
        return
    cs = sorted({p["c"] for p in mine})
    width = 0.2
    for j, replicas in enumerate((1, 2)):
        for k, (key, hatch) in enumerate((("acked", ""), ("e2e", "//"))):
            values = []
            for c in cs:
                p = find(points, "scale_out", f"replicas_{replicas}", c)
                if p is None:
                    values.append(0.0)
                elif key == "acked":
                    values.append(p["throughput_rps"])
                else:
                    values.append(p["e2e"]["events_per_s"] if p.get("e2e") else 0.0)
            xs = [i + (2 * j + k - 1.5) * width for i in range(len(cs))]
            ax.bar(xs, values, width, color="#3b7dd8" if replicas == 1 else "#e15759",
                   hatch=hatch, edgecolor="white",
                   label=f"{replicas} replica{'s' if replicas > 1 else ''}, {key}")  # fmt: skip
    ax.set_xticks(range(len(cs)), [f"c={c}" for c in cs])
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)


def _costs(ax: Any, points: list[dict[str, Any]], names: list[str], *, e2e: bool) -> None:
    """Stacked CPU per event by role, one bar per concurrency, grouped by mode; `rest`
    (the box's other work) is left out, as it says nothing of the stack."""
    drawn = False
    ticks: list[float] = []
    labels: list[str] = []
    x = 0.0
    for name in names:
        mine = sorted(
            (p for p in points if label(p) == name and (p.get("e2e") or not e2e)),
            key=lambda p: p["c"],
        )
        if not mine:
            continue
        start = x
        for p in mine:
            bottom = 0.0
            for role, value in roles(p, e2e=e2e).items():
                if role == "rest":
                    continue
                ax.bar(x, value, 0.8, bottom=bottom, color=COLOURS[role],
                       label=None if drawn else role)  # fmt: skip
                bottom += value
            drawn = True
            capped = e2e and p["e2e"]["capped"]
            text = f"{bottom:.1f}\nc{p['c']}" + ("\ncapped" if capped else "")
            ax.text(x, bottom, text, ha="center", va="bottom", fontsize=6)
            x += 1
        ticks.append((start + x - 1) / 2)
        labels.append(name)
        x += 0.8
    ax.set_xticks(ticks, labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("CPU ms per event")
    if e2e:
        ax.set_title("CPU ms per completed event, from the load's start until every workflow "
                     "completed (stacked by process; total on top)")  # fmt: skip
    else:
        ax.set_title("CPU ms per acked event during the load (stacked by process; total on "
                     "top; the box's other work left out)")  # fmt: skip
    ax.legend(fontsize=8, ncol=len(ROLES) - 1)
    ax.margins(y=0.15)
    ax.grid(True, axis="y", alpha=0.3)
