"""`python -m bench.profile`: where the CPU goes at saturation (evidence for docs/performance.md).

Brings up the same stack as `python -m bench`, creates --traders traders, queues --signals
signals over them (a backlog: the stack runs flat out), then for --seconds measures the CPU of
each process (worker, its sandbox children, Temporal) and, when py-spy is installed, samples the
worker's Python stacks that hold the GIL. Prints CPU milliseconds per decision for each process
and the hottest functions; writes bench/results/profile.json (+ the raw py-spy samples).

py-spy is not a project dependency: `.venv/bin/uv pip install --python .venv/bin/python py-spy`.
Worker knobs pass through the environment, e.g.
`HYPERORU_WORKER_MAX_CONCURRENT_ACTIVITIES=8 python -m bench.profile`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.report import RESULTS


def summarize_raw(path: Path, top: int = 25) -> dict[str, Any]:
    """Self and inclusive shares of py-spy's raw (collapsed) stacks."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        stack, n_s = line.rsplit(" ", 1)
        n = int(n_s)
        total += n
        frames = [f for f in stack.split(";") if f]
        if frames:
            own[frames[-1]] += n
        for f in {fr.split(" (")[0] + " (" + fr.split(" (")[-1] for fr in frames}:
            incl[f] += n
    share = lambda c: [(round(n / total, 3), f) for f, n in c.most_common(top)]  # noqa: E731
    return {"samples": total, "self": share(own), "inclusive": share(incl)}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from bench.stack import bench_stack
    from bench.workloads import (
        Deadline,
        Step,
        _send,
        create_program_and_pools,
        create_traders,
        orders_done_since,
    )

    deadline = Deadline(600)
    out: dict[str, Any] = {"args": vars(args)}
    async with bench_stack(args.temporal_db, args.database_url, workers=args.workers) as stack:
        out["worker_env"] = stack.worker_env
        setup = await create_program_and_pools(stack, [args.traders])
        ids, _ = await create_traders(
            stack, 1, args.traders, setup["program_id"], lambda i: [], deadline
        )
        step = Step(f"profile-{int(time.time())}")
        gate = asyncio.Semaphore(64)

        async def one(a: int, n: int) -> None:
            async with gate:
                await _send(stack, step, a, n)

        await asyncio.gather(*(one(ids[i % len(ids)], i) for i in range(args.signals)))
        await asyncio.sleep(args.warmup)  # past the ramp: every stage has work queued
        done0 = await orders_done_since(stack, step.since)
        cpu = stack.cpu_window()
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        raw = args.out.with_suffix(".pyspy.txt")  # beside the results, replaced every run
        raw.unlink(missing_ok=True)
        proc = None
        if Path(spy).exists():
            raw.parent.mkdir(parents=True, exist_ok=True)
            proc = subprocess.Popen(
                [spy, "record", "-p", str(stack.worker.pid), "-d", str(int(args.seconds)),
                 "-r", "100", "--gil", "--nonblocking", "-f", "raw", "-o", str(raw)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        await asyncio.sleep(args.seconds)
        use = cpu.stop()
        done1 = await orders_done_since(stack, step.since)
        if proc is not None:
            await asyncio.to_thread(proc.wait, 30)
        rate = (done1 - done0) / use["seconds"]
        out["decisions_per_s"] = round(rate, 2)
        out["cpu_cores"] = use
        out["cpu_ms_per_decision"] = {
            k: round(use[k] / rate * 1000, 1) if rate else None
            for k in use
            if k.startswith(("worker", "sandbox", "temporal", "bench_api"))
        }
        if proc is not None and raw.exists() and raw.stat().st_size:
            out["worker_gil_profile"] = summarize_raw(raw)
            out["worker_gil_profile"]["raw"] = str(raw)
        else:
            out["worker_gil_profile"] = "py-spy not installed"
        out["backlog_left"] = args.signals - done1
    return out


def cli() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n")[0])
    p.add_argument("--traders", type=int, default=50)
    p.add_argument("--signals", type=int, default=400)
    p.add_argument("--warmup", type=float, default=8.0)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--temporal-db", choices=["file", "memory"], default="file")
    p.add_argument("--database-url", default=None, help="an empty database (e.g. PostgreSQL)")
    p.add_argument("--workers", type=int, default=1, help="worker processes on the same queues")
    p.add_argument("--out", type=Path, default=RESULTS / "profile.json")
    args = p.parse_args()
    result = asyncio.run(main(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    brief = {k: v for k, v in result.items() if k != "worker_gil_profile"}
    print(json.dumps(brief, indent=2, default=str))
    prof = result.get("worker_gil_profile")
    if isinstance(prof, dict):
        print(f"\nworker, GIL-holding samples: {prof['samples']}")
        for label in ("self", "inclusive"):
            print(f"-- {label}")
            for share, frame in prof[label][:20]:
                print(f"{share:6.1%}  {frame[:140]}")
    print(f"\nwritten {args.out}")


if __name__ == "__main__":
    cli()
    sys.stdout.flush()
    os._exit(0)
