"""`python -m bench` (`make bench`): the real stack under load; `--quick` for a <60 s smoke run.

Order of a run: machine facts; the in-process baseline; the sandbox's part of a program
backtest (bench/backtest_session.py); the stack (Temporal dev server, worker
process, API in-process, SQLite in a temp dir); program and signal pools (disabled); traders
created in batches up to each T (idle RSS after each batch); then for each T: the paced load at
--paced-rate (at the first T with --ws-clients live-stream sockets connected, measuring
event-to-client latency: bench/live.py), a light paced load at half the saturation when the machine
cannot sustain --paced-rate, one signal-pool fire fanned out to the T traders, and a burst (one
signal from the client to each of the T traders at once). Saturation (decisions/s) is the drain
rate of the largest overload at that T. Steps are planned against the time budget: when the
client burst no longer fits after the fan-out (the same load), the fan-out stands in for it and
the tier says so.
Results: bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

from bench import report
from bench.workloads import Deadline
from domain.ids import trader_workflow_id


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="T=10 only, short steps (<60 s)")
    p.add_argument("--tiers", default="10,100,1000", help="trader counts (default 10,100,1000)")
    p.add_argument("--paced-rate", type=float, default=20.0, help="paced decisions/s (20)")
    p.add_argument("--paced-seconds", type=float, default=6.0, help="paced load duration (6)")
    p.add_argument("--budget", type=float, default=560.0, help="time budget in seconds (560)")
    p.add_argument(
        "--temporal-db",
        choices=["file", "memory"],
        default="file",
        help="dev server store: a file like `make run` (default) or in memory",
    )
    p.add_argument(
        "--database-url",
        default=None,
        help="an empty database instead of a temp SQLite file (e.g. postgresql://...)",
    )
    p.add_argument(
        "--ws-clients",
        type=int,
        default=200,
        help="live-stream sockets connected during the first tier's paced load (200; 0: none)",
    )
    p.add_argument(
        "--ws-probe-rate",
        type=float,
        default=10.0,
        help="events/s the harness records itself while the sockets are connected (10)",
    )
    p.add_argument(
        "--no-backtest",
        action="store_true",
        help="skip the program backtest run beside the live traders (a year of hourly steps)",
    )
    p.add_argument("--out", type=Path, default=None, help="JSON path (bench/results/latest.json)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, databases)")
    return p.parse_args(argv)


def _say(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.baseline import run_baseline
    from bench.stack import bench_stack
    from bench.workloads import (
        create_program_and_pools,
        create_traders,
        idle_rss,
        idle_rss_after_shedding,
        sample_worker_peak_rss,
    )
    from config.settings import Settings

    started = time.monotonic()
    deadline = Deadline(args.budget)
    tiers = [10] if args.quick else sorted({int(t) for t in args.tiers.split(",") if t.strip()})
    results: dict[str, Any] = {
        "machine": report.machine_info(),
        "config": {
            "tiers": tiers,
            "paced_rate_per_s": args.paced_rate,
            "paced_seconds": 3.0 if args.quick else args.paced_seconds,
            "temporal_db": args.temporal_db,
            "database": "sqlite" if not args.database_url else args.database_url.split(":")[0],
            "quick": args.quick,
            "ws_clients": args.ws_clients,
        },
        "tiers": {},
    }
    _say(f"machine: {results['machine']['cpu_model']} x{results['machine']['cores']}")

    _say("baseline: same decision logic in-process (no Temporal, no database)")
    # Field defaults, as the worker gets (bench_stack passes it no HYPERORU_SANDBOX_* etc.).
    base = await run_baseline(Settings.model_construct(), decisions=16 if args.quick else 400)
    results["baseline"] = base
    results["baseline_decisions_per_s"] = base["decisions_per_s"]
    _say(f"baseline: {base['decisions_per_s']} decisions/s")

    from bench.backtest_session import run_backtest_bench, summary

    _say("backtest sandbox: the README's RSI program per hourly step, full snapshot vs session")
    backtest = await run_backtest_bench(steps=100 if args.quick else 2000)
    results["backtest_sandbox"] = backtest
    results["backtest_year_sandbox_s"] = backtest["session"]["year_of_hourly_steps_s"]
    _say(summary(backtest))

    async with bench_stack(args.temporal_db, args.database_url, keep=args.keep) as stack:
        results["config"]["worker_env"] = stack.worker_env
        _say(f"stack up in {time.monotonic() - started:.1f} s (temp dir {stack.tmp})")
        stop_peak = asyncio.Event()
        peak_task = asyncio.create_task(sample_worker_peak_rss(stack, stop_peak))
        results["idle_rss_no_traders"] = await idle_rss(stack, 0)
        setup = await create_program_and_pools(stack, tiers)
        pools = setup["pools"]
        ids: list[int] = []
        startup_total = created_total = 0.0
        for t in tiers:
            tier: dict[str, Any] = results["tiers"].setdefault(str(t), {})
            n = t - len(ids)
            _say(f"creating traders {len(ids) + 1}..{t}")
            first = len(ids) + 1
            new_ids, info = await create_traders(
                stack,
                first,
                n,
                setup["program_id"],
                lambda i: [pools[x] for x in tiers if i <= x],
                deadline,
            )
            ids += new_ids
            startup_total += info["started_s"]
            created_total += info["create_s"]
            info["cumulative_started_s"] = round(startup_total, 2)
            tier["startup"] = info
            tier["idle"] = await idle_rss(stack, len(ids))
            _say(
                f"{len(ids)} traders: started in {info['started_s']} s "
                f"({info['create_per_s']}/s via the API); idle worker RSS "
                f"{tier['idle']['worker_mb']:.1f} MB, Temporal {tier['idle']['temporal_mb']:.1f} MB"
            )
        if stack.settings.idle_continue_as_new_seconds and not args.quick:
            top_idle = results["tiers"][str(tiers[-1])]
            _say(f"idle continue-as-new: {stack.settings.idle_continue_as_new_seconds} s")
            top_idle["idle_shed"] = await idle_rss_after_shedding(stack, len(ids))
            _say(f"{len(ids)} idle traders: worker RSS {top_idle['idle_shed']['worker_mb']:.1f} MB")
        if 1000 in tiers:
            # Sum over the batches (10, 90, 900) that brought the fleet to 1,000.
            results["startup_1000_s"] = round(created_total, 2)
            results["startup_1000_settled_s"] = round(startup_total, 2)

        sat_known: float | None = None  # latest saturation measured on a backlog
        for t in tiers:
            tier = results["tiers"][str(t)]
            traders = ids[:t]
            # The live stream's sockets: during the first tier's paced load only (the issue's
            # targets for the larger tiers are measured without them).
            ws_clients = args.ws_clients if t == tiers[0] else 0
            await run_tier(
                stack, tier, traders, t, pools[t], setup, args, deadline, sat_known, ws_clients
            )
            sat_known = tier.get("saturation_decisions_per_s") or sat_known
            if not stack.worker_alive():
                _say("the worker died:\n" + stack.worker_output())
                break
        if not args.no_backtest and stack.worker_alive():
            from bench.backtest_run import backtest_beside_live
            from bench.backtest_run import summary as backtest_summary
            from bench.workloads import wait_quiet as wait_quiet_stack

            _say("backtest beside live traders: a year of hourly BTC, the README's RSI program")
            await wait_quiet_stack(stack, max_s=10)
            run = await backtest_beside_live(
                stack, ids[: tiers[0]], args.paced_rate, deadline, quick=args.quick
            )
            results["backtest_run"] = run
            results["backtest_year_s"] = run["wall_s"] if not args.quick else None
            results["backtest_progress_gap_s"] = run["max_progress_gap_s"]
            _say(backtest_summary(run))
        stop_peak.set()
        results["worker_peak_rss_mb"] = await peak_task
        results["final_rss"] = stack.rss()
        if stack.settings.idle_continue_as_new_seconds and not args.quick:
            _say("after the load: waiting for idle continue-as-new")
            results["after_load_idle_rss"] = await idle_rss_after_shedding(stack, len(ids))

    top = str(tiers[-1])
    top_tier = results["tiers"].get(top, {})
    results["decisions_per_s"] = top_tier.get("saturation_decisions_per_s")
    results["paced_p99_ms"] = (top_tier.get("paced") or {}).get("signal_to_order", {}).get("p99_ms")
    results["burst_p99_ms"] = (top_tier.get("burst") or {}).get("signal_to_order", {}).get("p99_ms")
    live = results["tiers"].get(str(tiers[0]), {}).get("live_stream") or {}
    results["ws_event_to_client_p50_ms"] = (live.get("event_to_client") or {}).get("p50_ms")
    results["ws_event_to_client_p99_ms"] = (live.get("event_to_client") or {}).get("p99_ms")
    results["ws_sockets_served"] = live.get("sockets_served")
    idle_1000 = results["tiers"].get("1000", {})
    results["idle_worker_rss_mb_1000_just_started"] = idle_1000.get("idle", {}).get("worker_mb")
    # Idle = past the idle continue-as-new (when it is on): what a quiet fleet costs.
    results["idle_worker_rss_mb_1000"] = (
        idle_1000.get("idle_shed") or idle_1000.get("idle") or {}
    ).get("worker_mb")
    fanout_1000 = results["tiers"].get("1000", {}).get("fanout") or {}
    results["fanout_1000_s"] = fanout_1000.get("all_decisions_s")
    results["fanout_1000_delivered_s"] = fanout_1000.get("evaluate_and_deliver_s")
    if results["decisions_per_s"] and results["baseline_decisions_per_s"]:
        results["engine_baseline_ratio"] = round(
            results["decisions_per_s"] / results["baseline_decisions_per_s"], 3
        )
    results["total_s"] = round(time.monotonic() - started, 1)
    results["targets"] = report.target_status(results)
    return results


def _sat_step(tier: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The step that best measures saturation at this T: the one with the most decisions
    among those that overloaded the stack (burst, fan-out, or a paced load above capacity)."""
    steps: list[tuple[str, dict[str, Any]]] = []
    for key in ("burst", "fanout", "paced"):
        step = tier.get(key)
        if not step or not step.get("orders_per_s") or "source" in step:
            continue  # (a burst with a "source" is the fan-out standing in: counted once)
        if key == "paced" and step["orders_per_s"] >= 0.8 * step["rate_per_s"]:
            continue  # kept up with its rate: says nothing about saturation
        steps.append((key, step))
    if not steps:
        return None
    return max(steps, key=lambda kv: kv[1].get("orders_done") or 0)


async def run_tier(
    stack: Any,
    tier: dict[str, Any],
    traders: list[int],
    t: int,
    pool_id: int,
    setup: dict[str, Any],
    args: argparse.Namespace,
    deadline: Deadline,
    sat_known: float | None,
    ws_clients: int = 0,
) -> None:
    """paced at --paced-rate (with `ws_clients` live-stream sockets connected) -> light paced
    (half the saturation) -> pool fan-out -> burst.

    The fan-out comes before the client burst: both are one signal to each of T traders at
    once, and when the budget has no room for the second one, the fan-out stands in for the
    burst (the tier says so)."""
    from bench.live import with_clients
    from bench.workloads import burst, fan_out, history_breakdown, paced, wait_quiet

    paced_seconds = tier["paced_seconds"] = 3.0 if args.quick else args.paced_seconds
    # Time each step needs at the saturation known so far (worst case 4 decisions/s).
    rate = sat_known or 4.0
    need_fanout = t / rate + 15
    need_paced = args.paced_rate * paced_seconds / rate + 10 + paced_seconds + 10
    if deadline.left() < need_fanout:
        tier["skipped"] = (
            f"time budget: {deadline.left():.0f} s left, fan-out needs ~{need_fanout:.0f} s"
        )
        return
    if deadline.left() > need_paced + need_fanout:
        _say(f"T={t}: paced {args.paced_rate}/s for {paced_seconds} s")
        load = partial(paced, stack, traders, args.paced_rate, paced_seconds, deadline)
        if ws_clients:
            _say(f"T={t}: with {ws_clients} live-stream sockets")
            tier["paced"], tier["live_stream"] = await with_clients(
                stack, ws_clients, traders, load, args.ws_probe_rate
            )
            w = tier["live_stream"]
            _say(
                f"T={t}: {w['sockets_served']} sockets, event->client p50/p99 "
                f"{w['event_to_client']['p50_ms']}/{w['event_to_client']['p99_ms']} ms "
                f"({w['events']} events, {w['deliveries']} deliveries)"
            )
        else:
            tier["paced"] = await load()
        p = tier["paced"]
        _say(f"T={t}: paced p99 {p['signal_to_order']['p99_ms']} ms, drain {p['orders_per_s']}/s")
        if p["orders_per_s"] and p["orders_per_s"] < 0.8 * args.paced_rate:
            rate = p["orders_per_s"]  # the paced load overloaded the stack: its drain rate
        await wait_quiet(stack, max_s=5)
        if rate < 1.25 * args.paced_rate and deadline.left() > paced_seconds + 15 + need_fanout:
            light = round(max(1.0, rate / 2), 1)
            _say(f"T={t}: light paced {light}/s (half the saturation) for {paced_seconds} s")
            tier["paced_light"] = await paced(stack, traders, light, paced_seconds, deadline)
            _say(f"T={t}: light paced p99 {tier['paced_light']['signal_to_order']['p99_ms']} ms")
            # Where the time of a lightly loaded decision goes, from a few traders' histories.
            tier["paced_light_history"] = await history_breakdown(
                stack,
                [trader_workflow_id(a) for a in traders[: min(5, t)]],
                tier["paced_light"]["started_epoch"],
            )
            await wait_quiet(stack, max_s=5)
    _say(f"T={t}: fan-out of one pool fire")
    tier["fanout"] = f = await fan_out(stack, pool_id, setup["definition_id"], traders, deadline)
    _say(
        f"T={t}: fan-out delivered in {f['evaluate_and_deliver_s']} s, all decisions in "
        f"{f['all_decisions_s']} s ({f['stopped']})"
    )
    if f["stopped"] == "complete" and f["orders_per_s"]:
        rate = f["orders_per_s"]
    need_burst = 1.1 * (t / rate + 10)
    if deadline.left() > need_burst or args.quick:
        await wait_quiet(stack, max_s=5)
        _say(f"T={t}: burst")
        tier["burst"] = b = await burst(stack, traders, deadline)
        _say(
            f"T={t}: burst p99 {b['signal_to_order']['p99_ms']} ms, {b['orders_per_s']} decisions/s"
        )
    else:
        tier["burst"] = {
            "source": "pool fan-out (one signal to each trader at once, sent by the fan-out "
            "activity; latency from the evaluate request)",
            "why": f"client burst skipped to fit the budget ({deadline.left():.0f} s left, "
            f"~{need_burst:.0f} s needed)",
            "signal_to_order": f["fire_to_order"],
            "orders_per_s": f["orders_per_s"],
            "orders_done": f["orders_done"],
            "cpu_cores": f["cpu_cores"],
        }
        _say(f"T={t}: {tier['burst']['why']}; burst figures from the fan-out")
    found = _sat_step(tier)
    if found:
        key, step = found
        tier["saturation_from"] = key
        tier["saturation_decisions_per_s"] = step["orders_per_s"]
        tier["saturation_cpu_cores"] = step["cpu_cores"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results = asyncio.run(run(args))
    print()
    print(report.table(results))
    path = report.write(results, args.out)
    print(f"\nwritten {path}")
    return 0


if __name__ == "__main__":
    code = main()
    # Why os._exit: the Temporal SDK can abort at interpreter shutdown (sdk-python#300).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
