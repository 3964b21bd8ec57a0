"""The printed table and bench/results/latest.json."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.stack import ROOT, temporal_version

RESULTS = ROOT / "bench" / "results"

# The targets: (result key, comparison, target, label).
TARGETS = [
    ("decisions_per_s", ">=", 100, "sustained decisions/s"),
    ("paced_p99_ms", "<=", 100, "signal-to-order p99 at 20/s, 1,000 traders (ms)"),
    ("idle_worker_rss_mb_1000", "<=", 150, "worker RSS, 1,000 idle traders (MB)"),
    ("fanout_1000_delivered_s", "<=", 6, "one pool fire delivered to 1,000 traders (s)"),
    ("fanout_1000_s", "<=", 6, "... and all their decisions done (s)"),
    ("startup_1000_s", "<=", 10, "1,000 traders created + workflows started (s)"),
    ("startup_1000_settled_s", "<=", 10, "... and their start activities done (s)"),
    ("ws_event_to_client_p99_ms", "<=", 1000, "event-to-client p99, 200 sockets, paced (ms)"),
    ("ws_sockets_served", ">=", 200, "live-stream sockets served by one API process"),
    ("backtest_year_sandbox_s", "<=", 30, "sandbox time of 8,760 hourly backtest steps (s)"),
    ("backtest_year_s", "<=", 30, "a year of hourly BTC backtested through the API (s)"),
    ("backtest_progress_gap_s", "<=", 2, "longest wait between a backtest's progress moves (s)"),
]


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_mb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_mb = int(line.split()[1]) // 1024
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    import temporalio

    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "memory_mb": mem_mb,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "temporal_cli": temporal_version(),
        "temporalio_sdk": temporalio.__version__,
        "git_commit": commit,
    }


def target_status(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, op, target, label in TARGETS:
        value = results.get(key)
        met = None
        if isinstance(value, int | float):
            met = value >= target if op == ">=" else value <= target
        out.append(
            {"key": key, "label": label, "target": f"{op} {target}", "value": value, "met": met}
        )
    return out


def _f(x: Any, nd: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.{nd}f}"
    return str(x)


def _lat(d: dict[str, Any] | None) -> str:
    if not d or not d.get("n"):
        return "-"
    return f"{_f(d['p50_ms'], 0)} / {_f(d['p95_ms'], 0)} / {_f(d['p99_ms'], 0)}"


def table(results: dict[str, Any]) -> str:
    tiers: dict[str, Any] = results.get("tiers", {})
    cols = list(tiers)
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn: Any) -> None:
        vals = []
        for t in cols:
            try:
                vals.append(fn(tiers[t]))
            except (KeyError, TypeError):
                vals.append("-")
        rows.append((label, vals))

    row("batch: created + wf started via API (s)", lambda d: _f(d["startup"]["create_s"], 2))
    row("batch: + bound, start activities done (s)", lambda d: _f(d["startup"]["started_s"], 2))
    row("  traders in the batch", lambda d: _f(d["startup"]["count"]))
    row("idle worker RSS, just started (MB)", lambda d: _f(d["idle"]["worker_mb"]))
    row("idle worker RSS, after idle CAN (MB)", lambda d: _f(d["idle_shed"]["worker_mb"]))
    row("idle Temporal RSS (MB)", lambda d: _f(d["idle"]["temporal_mb"]))
    row("burst: signal->order p50/p95/p99 ms", lambda d: _lat(d["burst"]["signal_to_order"]))
    row("  burst sent by", lambda d: "pool fan-out" if "source" in d["burst"] else "client")
    row("saturation: decisions/s", lambda d: _f(d["saturation_decisions_per_s"], 2))
    row("  measured on", lambda d: d["saturation_from"])
    row(
        "paced: rate/s (drain/s)",
        lambda d: f"{d['paced']['rate_per_s']:g} ({d['paced']['orders_per_s']})",
    )
    row("paced: signal->order p50/p95/p99 ms", lambda d: _lat(d["paced"]["signal_to_order"]))
    row("  live-stream sockets during it", lambda d: _f(d["live_stream"]["sockets_served"]))
    row("  event->client p50/p95/p99 ms", lambda d: _lat(d["live_stream"]["event_to_client"]))
    row("  of which signal->decision start", lambda d: _lat(d["paced"]["signal_to_decision_start"]))
    row("light paced: rate/s", lambda d: _f(d["paced_light"]["rate_per_s"], 1))
    row(
        "light paced: p50/p95/p99 ms",
        lambda d: _lat(d["paced_light"]["signal_to_order"]),
    )
    row("  of which sandbox run", lambda d: _lat(d["paced_light"]["sandbox_run"]))
    row("fan-out: evaluate+deliver (s)", lambda d: _f(d["fanout"]["evaluate_and_deliver_s"], 2))
    row("fan-out: all decisions done (s)", lambda d: _f(d["fanout"]["all_decisions_s"], 2))
    row(
        "saturation CPU worker/sandbox/temporal",
        lambda d: "{worker:.2f}/{sandbox:.2f}/{temporal:.2f}".format(**d["saturation_cpu_cores"]),
    )
    width = max(len(r[0]) for r in rows)
    colw = max([16] + [len(v) for _, vals in rows for v in vals]) + 2
    lines = [f"{'T (traders)':<{width}}" + "".join(f"{t:>{colw}}" for t in cols)]
    lines.append("-" * len(lines[0]))
    for label, vals in rows:
        lines.append(f"{label:<{width}}" + "".join(f"{v:>{colw}}" for v in vals))
    lines.append("")
    b = results.get("baseline") or {}
    lines.append(
        f"engine decisions/s at saturation: {_f(results.get('decisions_per_s'), 2)}   "
        f"baseline (no Temporal, no DB): {_f(results.get('baseline_decisions_per_s'), 2)}   "
        f"ratio engine/baseline: {_f(results.get('engine_baseline_ratio'), 2)}   "
        f"baseline single decision p50: {_f((b.get('single_decision') or {}).get('p50_ms'), 0)} ms"
    )
    if results.get("backtest_sandbox"):
        from bench.backtest_session import summary

        lines.append(summary(results["backtest_sandbox"]))
    if results.get("backtest_run"):
        from bench.backtest_run import summary as run_summary

        lines.append(run_summary(results["backtest_run"]))
    after = results.get("after_load_idle_rss") or {}
    lines.append(
        f"worker RSS: peak {_f(results.get('worker_peak_rss_mb'))} MB, right after the load "
        f"{_f((results.get('final_rss') or {}).get('worker_mb'))} MB, idle again "
        f"{_f(after.get('worker_mb'))} MB"
    )
    live = next((d["live_stream"] for d in tiers.values() if d.get("live_stream")), None)
    if live:
        lines.append(
            f"live stream: {live['sockets_served']} sockets during the paced load, "
            f"{live['events']} events ({live['probes_written']} probes), {live['deliveries']} "
            f"deliveries, {live['sockets_with_every_event']} sockets got every event; "
            f"event->client {_lat(live['event_to_client'])} ms (p50/p95/p99), worker events "
            f"{_lat(live['worker_event_to_client'])} ms; clients' process "
            f"{_f(live['clients_cpu_cores'], 2)} cores"
        )
    lines.append("")
    lines.append("targets (from the issue):")
    for t in results.get("targets", []):
        mark = {True: "MET", False: "not met", None: "not measured"}[t["met"]]
        lines.append(f"  {t['label']:<52} {t['target']:>8}   got {_f(t['value'], 1):>10}   {mark}")
    m = results.get("machine", {})
    lines.append("")
    lines.append(
        f"machine: {m.get('cpu_model')} x{m.get('cores')}, {m.get('memory_mb')} MB, "
        f"Python {m.get('python')}, {m.get('temporal_cli')}; total {_f(results.get('total_s'))} s"
    )
    return "\n".join(lines)


def write(results: dict[str, Any], out: Path | None = None) -> Path:
    path = out or RESULTS / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return path
