"""Workloads against the running stack, and how each is measured.

Latency ("signal-to-order") of one decision: from the wall-clock instant just before the
benchmark client sends `signal_fired` to the trader's workflow (a Temporal client call, as the
signal-pool fan-out and the `temporal` CLI do) to `orders.updated_at` of the order that decision
placed, written by the paper exchange in the same transaction that marks the order `filled`
(`adapters/exchanges/paper.py`). Both clocks are this machine's (time.time() vs
datetime.now(UTC)). Each signal carries a unique fire id and a step tag in its context, which
the decision keeps in `decisions.trigger_context`; orders are joined to their decision to find
the send time. The harness waits by polling the small `orders` table; it never reads a
decision's input snapshot while a step runs.

Every trader runs the same program (PROGRAM): close the BTC position if there is one, else go
long 10 USD at 1x, so every decision places exactly one market order and positions never pile
up against the risk limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import func, select

from bench.stack import BenchStack, rss_mb
from db.models import DecisionRecord, OrderRecord, PaperAccountRecord
from domain.ids import trader_workflow_id
from domain.trader import SignalFired

PROGRAM = """
class Strategy:
    def should_trade(self, data):
        held = [p for p in data.get_positions() if p["symbol"] == "BTC"]
        if held:
            return Decision(operation="close", symbol="BTC", reasoning="bench: flatten")
        return Decision(operation="long", symbol="BTC", size_usd=10, leverage=1,
                        reasoning="bench: tiny long")
"""

# The README walk-through's trader: three symbols (the snapshot carries 4 intervals x 100
# candles for each), leverage up to 5, notional high enough for any number of tiny longs.
TRADER: dict[str, Any] = {
    "account_type": "program",
    "exchange": "paper",
    "initial_capital": "100000",
    "max_leverage": "5",
    "max_position_notional_usd": "1000000",
    "max_concurrent_positions": 3,
    "symbols": ["BTC", "ETH", "SOL"],
    "trading_enabled": True,
}
SEND_CONCURRENCY = 64  # in-flight signal RPCs from the benchmark client
API_CONCURRENCY = 16  # in-flight API requests while creating traders
DONE = ("filled", "rejected", "unknown")


def now_utc() -> datetime:
    return datetime.now(UTC)


def pct(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary_ms(values_s: Sequence[float]) -> dict[str, Any]:
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "p50_ms": _r(pct(ms, 50)),
        "p95_ms": _r(pct(ms, 95)),
        "p99_ms": _r(pct(ms, 99)),
        "max_ms": _r(max(ms) if ms else None),
        "mean_ms": _r(statistics.fmean(ms) if ms else None),
    }


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(x, nd)


def _epoch(dt: datetime | None) -> float | None:
    if dt is None:
        return None
    if dt.tzinfo is None:  # SQLite hands back naive UTC
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


class Deadline:
    """The whole run's time budget: waits end early instead of overrunning it."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


# --- database reads (synchronous, in a thread) -------------------------------------------


async def _db(stack: BenchStack, fn: Callable[[Any], Any]) -> Any:
    def run() -> Any:
        with stack.db.connect() as conn:
            return fn(conn)

    return await asyncio.to_thread(run)


async def orders_done_since(stack: BenchStack, since: datetime) -> int:
    o = OrderRecord.__table__
    stmt = select(func.count()).where(o.c.updated_at >= since, o.c.status.in_(DONE))
    return int(await _db(stack, lambda c: c.execute(stmt).scalar_one()))


async def paper_accounts(stack: BenchStack) -> int:
    stmt = select(func.count()).select_from(PaperAccountRecord.__table__)
    return int(await _db(stack, lambda c: c.execute(stmt).scalar_one()))


@dataclass
class OrderRow:
    decision_id: str
    account_id: int
    status: str
    fire_id: str | None
    step: str | None
    decision_created: float | None
    intent_at: float | None
    filled_at: float | None
    decision_done: float | None
    run_ms: int | None


async def orders_since(stack: BenchStack, since: datetime) -> list[OrderRow]:
    o, d = OrderRecord.__table__, DecisionRecord.__table__
    stmt = (
        select(
            o.c.decision_id,
            o.c.account_id,
            o.c.status,
            o.c.created_at,
            o.c.updated_at,
            d.c.trigger_context,
            d.c.created_at.label("d_created"),
            d.c.completed_at,
            d.c.output,
        )
        .join(d, d.c.id == o.c.decision_id)
        .where(o.c.updated_at >= since)
    )
    rows = await _db(stack, lambda c: c.execute(stmt).all())
    out = []
    for r in rows:
        ctx = r.trigger_context or {}
        out.append(
            OrderRow(
                decision_id=r.decision_id,
                account_id=r.account_id,
                status=r.status,
                fire_id=ctx.get("fire_id"),
                step=ctx.get("bench_step"),
                decision_created=_epoch(r.d_created),
                intent_at=_epoch(r.created_at),
                filled_at=_epoch(r.updated_at),
                decision_done=_epoch(r.completed_at),
                run_ms=(r.output or {}).get("run_ms"),
            )
        )
    return out


async def decision_statuses(stack: BenchStack, since: datetime) -> dict[str, int]:
    d = DecisionRecord.__table__
    stmt = (
        select(d.c.status, d.c.error_code, func.count())
        .where(d.c.created_at >= since)
        .group_by(d.c.status, d.c.error_code)
    )
    rows = await _db(stack, lambda c: c.execute(stmt).all())
    return {f"{s}{'/' + e if e else ''}": n for s, e, n in rows}


# --- waiting -------------------------------------------------------------------------------


async def wait_orders(
    stack: BenchStack,
    since: datetime,
    expected: int,
    deadline: Deadline,
    stall_s: float = 30.0,
    poll_s: float = 0.25,
) -> tuple[int, str]:
    """Poll until `expected` orders are done; give up on no progress for `stall_s` or when the
    run's budget is spent. Returns (done, why it stopped)."""
    last, last_change = -1, time.monotonic()
    while True:
        done = await orders_done_since(stack, since)
        if done >= expected:
            return done, "complete"
        if done != last:
            last, last_change = done, time.monotonic()
        if time.monotonic() - last_change > stall_s:
            return done, f"stalled at {done}/{expected} for {stall_s:.0f} s"
        if deadline.left() <= 0:
            return done, f"time budget spent at {done}/{expected}"
        if not stack.worker_alive():
            return done, "worker died"
        await asyncio.sleep(poll_s)


async def wait_quiet(
    stack: BenchStack, max_s: float = 20.0, threshold: float = 0.08, window_s: float = 1.0
) -> float:
    """Wait until worker + Temporal use less than `threshold` cores over `window_s`. Returns
    the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < max_s:
        w = stack.cpu_window()
        await asyncio.sleep(window_s)
        cpu = w.stop()
        if cpu["worker"] + cpu["sandbox"] + cpu["temporal"] < threshold:
            break
    return round(time.monotonic() - t0, 2)


# --- setup: program, pools, traders --------------------------------------------------------


async def _post(stack: BenchStack, url: str, body: Any, expect: int = 201) -> dict[str, Any]:
    r = await stack.api.post(url, json=body)
    if r.status_code != expect:
        raise RuntimeError(f"POST {url} -> {r.status_code}: {r.text[:500]}")
    return r.json()  # type: ignore[no-any-return]


POOL_BODY = {"symbols": ["BTC"], "logic": "and", "cooldown_seconds": 0}


async def create_program_and_pools(stack: BenchStack, tiers: Sequence[int]) -> dict[str, Any]:
    program = await _post(stack, "/api/programs/", {"name": "bench toggle", "code": PROGRAM})
    # Always true, on the hourly candle: the pool's own timer stays an hour away, so only our
    # "evaluate now" fires it. Pools start disabled and are enabled right before their step.
    definition = await _post(
        stack,
        "/api/signals/definitions",
        {
            "name": "price>0",
            "indicator": "price",
            "operator": ">",
            "threshold": 0,
            "timeframe": "1h",
        },
    )
    pools = {}
    for t in tiers:
        pool = await _post(
            stack,
            "/api/signals/pools",
            {"name": f"bench-{t}", "signal_ids": [definition["id"]], "enabled": False, **POOL_BODY},
        )
        pools[t] = pool["id"]
    return {"program_id": program["id"], "definition_id": definition["id"], "pools": pools}


async def _bounded(n: int, jobs: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(n)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(j) for j in jobs))


async def create_traders(
    stack: BenchStack,
    first_index: int,
    count: int,
    program_id: int,
    pools_for: Callable[[int], list[int]],
    deadline: Deadline,
) -> tuple[list[int], dict[str, Any]]:
    """Create `count` traders through the API (each: account row + workflow start), then bind
    the program (and the pools the trader belongs to), then wait until every new workflow has
    run its start activities (load config, account sync: the paper account row exists)."""
    before = await paper_accounts(stack)
    cpu = stack.cpu_window()
    t0 = time.monotonic()
    create_lat: list[float] = []

    async def create(i: int) -> int:
        t = time.monotonic()
        acct = await _post(stack, "/api/account/", {"name": f"bench-{i}", **TRADER})
        create_lat.append(time.monotonic() - t)
        return int(acct["id"])

    idx = list(range(first_index, first_index + count))
    ids = await _bounded(API_CONCURRENCY, [partial(create, i) for i in idx])
    t_created = time.monotonic()
    bind_lat: list[float] = []

    async def bind(i: int, account_id: int) -> None:
        t = time.monotonic()
        await _post(
            stack,
            f"/api/account/{account_id}/bindings",
            {"program_id": program_id, "signal_pool_ids": pools_for(i)},
        )
        bind_lat.append(time.monotonic() - t)

    await _bounded(API_CONCURRENCY, [partial(bind, i, a) for i, a in zip(idx, ids, strict=True)])
    t_bound = time.monotonic()
    while await paper_accounts(stack) < before + count and deadline.left() > 0:
        await asyncio.sleep(0.2)
    t_settled = time.monotonic()
    return ids, {
        "count": count,
        "create_s": round(t_created - t0, 2),
        "create_per_s": round(count / max(t_created - t0, 1e-6), 1),
        "create_request": summary_ms(create_lat),
        "bind_s": round(t_bound - t_created, 2),
        "bind_request": summary_ms(bind_lat),
        # Started = account created, workflow started and its start activities done.
        "started_s": round(t_settled - t0, 2),
        "cpu_cores": cpu.stop(),
    }


async def idle_rss(stack: BenchStack, live_traders: int) -> dict[str, Any]:
    waited = await wait_quiet(stack)
    rss = stack.rss()
    return {"traders": live_traders, "quiet_after_s": waited, **rss}


async def idle_rss_after_shedding(stack: BenchStack, live_traders: int) -> dict[str, Any]:
    """RSS once every trader has been idle past `idle_continue_as_new_seconds` (its run then
    continued as new into a run that only waits, which the worker evicts from its cache after
    worker_cache.WAITING_RUN_IDLE_S, unless a position's sync keeps it working)."""
    idle_s = stack.settings.idle_continue_as_new_seconds
    # The last step of the last trader ended before this call; 15 s after the new runs' first
    # task they are evicted (a sweep every 5 s), and the worker gives the memory back in its
    # next quiet 10 s (gc_policy.collect_when_idle).
    await asyncio.sleep(idle_s + 50)
    waited = await wait_quiet(stack)
    return {"traders": live_traders, "idle_seconds": idle_s, "quiet_after_s": waited, **stack.rss()}


# --- signal workloads ----------------------------------------------------------------------


@dataclass
class Step:
    name: str
    since: datetime = field(default_factory=now_utc)
    sent: dict[str, float] = field(default_factory=dict)  # fire id -> send time (epoch)
    send_errors: int = 0


async def _send(stack: BenchStack, step: Step, account_id: int, n: int) -> None:
    fire_id = f"{step.name}-{n}"
    payload = SignalFired(fire_id=fire_id, symbol="BTC", context={"bench_step": step.name})
    handle = stack.client.get_workflow_handle(trader_workflow_id(account_id))
    t = time.time()
    try:
        await handle.signal("signal_fired", payload)
    except Exception:  # counted; the step reports it
        step.send_errors += 1
        return
    step.sent[fire_id] = t


def _latencies(step: Step, rows: list[OrderRow]) -> dict[str, Any]:
    mine = [r for r in rows if r.step == step.name and r.fire_id in step.sent]
    to_fill = [r.filled_at - step.sent[r.fire_id] for r in mine if r.filled_at and r.fire_id]
    # Where the time goes, per decision: signal -> decision row created (Temporal signal,
    # workflow task, activity dispatch, queueing behind the trader's earlier decisions),
    # created -> order filled (context, sandbox, risk, intents, order), sandbox run alone.
    to_start = [
        r.decision_created - step.sent[r.fire_id] for r in mine if r.decision_created and r.fire_id
    ]
    start_to_fill = [
        r.filled_at - r.decision_created for r in mine if r.filled_at and r.decision_created
    ]
    sandbox = [r.run_ms / 1000 for r in mine if r.run_ms is not None]
    fills = sorted(r.filled_at for r in mine if r.filled_at)
    return {
        "signal_to_order": summary_ms(to_fill),
        "signal_to_decision_start": summary_ms(to_start),
        "decision_start_to_order": summary_ms(start_to_fill),
        "sandbox_run": summary_ms(sandbox),
        "orders": len(mine),
        "fills": fills,
    }


def throughput(fills: Sequence[float], lo: float = 0.1, hi: float = 0.9) -> float | None:
    """Completions per second between the lo and hi quantiles of completion times (ramp-up
    and the tail excluded)."""
    if len(fills) < 10:
        return None
    a, b = fills[int(lo * (len(fills) - 1))], fills[int(hi * (len(fills) - 1))]
    n = int(hi * (len(fills) - 1)) - int(lo * (len(fills) - 1))
    return round(n / (b - a), 2) if b > a else None


async def _finish_step(
    stack: BenchStack, step: Step, expected: int, deadline: Deadline, cpu: Any, t_start: float
) -> dict[str, Any]:
    done, why = await wait_orders(stack, step.since, expected, deadline)
    t_end = time.time()
    cpu_use = cpu.stop()
    rows = await orders_since(stack, step.since)
    lat = _latencies(step, rows)
    fills = lat.pop("fills")
    out = {
        "started_epoch": round(t_start, 3),
        "sent": len(step.sent),
        "send_errors": step.send_errors,
        "orders_done": done,
        "stopped": why,
        "wall_s": round(t_end - t_start, 2),
        # Drain rate: orders done / (last fill - first send). Under overload (a backlog) this
        # is the sustained decisions/s; "steady" leaves out the first and last 10 %.
        "orders_per_s": round(len(fills) / (fills[-1] - t_start), 2) if fills else None,
        "orders_per_s_steady": throughput(fills),
        **lat,
        "cpu_cores": cpu_use,
    }
    if why != "complete":
        out["decision_statuses"] = await decision_statuses(stack, step.since)
    return out


async def burst(
    stack: BenchStack,
    traders: Sequence[int],
    deadline: Deadline,
    per_trader: int = 1,
    tag: str = "",
) -> dict[str, Any]:
    """`per_trader` signals to each trader, all at once (bounded only by the client's RPC
    concurrency). With per_trader=1 this is the burst; with more, a saturation backlog."""
    step = Step(f"burst{tag}-{len(traders)}x{per_trader}-{int(time.time())}")
    gate = asyncio.Semaphore(SEND_CONCURRENCY)
    cpu = stack.cpu_window()
    t_start = time.time()

    async def one(account_id: int, n: int) -> None:
        async with gate:
            await _send(stack, step, account_id, n)

    jobs = [one(a, k * len(traders) + i) for k in range(per_trader) for i, a in enumerate(traders)]
    await asyncio.gather(*jobs)
    send_s = time.time() - t_start
    out = await _finish_step(stack, step, len(step.sent), deadline, cpu, t_start)
    out["send_s"] = round(send_s, 2)
    out["traders"], out["per_trader"] = len(traders), per_trader
    return out


async def paced(
    stack: BenchStack, traders: Sequence[int], rate: float, seconds: float, deadline: Deadline
) -> dict[str, Any]:
    """`rate` signals per second for `seconds`, round-robin over the traders, each sent on its
    schedule whether or not earlier ones are done (an open-loop load)."""
    step = Step(f"paced-{len(traders)}at{rate:g}-{int(time.time())}")
    n = max(1, int(rate * seconds))
    cpu = stack.cpu_window()
    t_start = time.time()
    m0 = time.monotonic()
    tasks = []
    lag: list[float] = []
    for i in range(n):
        due = m0 + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        lag.append(max(0.0, time.monotonic() - due))
        tasks.append(asyncio.create_task(_send(stack, step, traders[i % len(traders)], i)))
    await asyncio.gather(*tasks)
    out = await _finish_step(stack, step, len(step.sent), deadline, cpu, t_start)
    out.update(
        rate_per_s=rate,
        seconds=seconds,
        traders=len(traders),
        send_lag_max_ms=round(max(lag) * 1000, 1),
    )
    return out


async def fan_out(
    stack: BenchStack, pool_id: int, definition_id: int, traders: Sequence[int], deadline: Deadline
) -> dict[str, Any]:
    """Enable the pool (its workflow starts and loads its config), then measure from the
    `POST /api/signals/pools/{id}/evaluate` request to: the request's answer (the pool has
    evaluated and its fan-out activity has signalled every bound trader) and the last bound
    trader's order filled."""
    r = await stack.api.put(
        f"/api/signals/pools/{pool_id}",
        json={
            "name": f"bench-{len(traders)}",
            "signal_ids": [definition_id],
            "enabled": True,
            **POOL_BODY,
        },
    )
    if r.status_code != 200:
        raise RuntimeError(f"enabling pool {pool_id}: {r.status_code} {r.text[:300]}")
    await asyncio.sleep(0.5)  # the pool workflow's first task (load config) is not measured
    since = now_utc()
    cpu = stack.cpu_window()
    t0 = time.time()
    r = await stack.api.post(f"/api/signals/pools/{pool_id}/evaluate")
    t_delivered = time.time()
    if r.status_code != 200:
        raise RuntimeError(f"evaluate pool {pool_id}: {r.status_code} {r.text[:300]}")
    fires = r.json().get("fires")
    done, why = await wait_orders(stack, since, len(traders), deadline)
    cpu_use = cpu.stop()
    rows = [x for x in await orders_since(stack, since) if x.account_id in set(traders)]
    fills = sorted(x.filled_at for x in rows if x.filled_at)
    per_trader = [f - t0 for f in fills]
    out: dict[str, Any] = {
        "traders": len(traders),
        "fires": fires,
        "orders_done": done,
        "stopped": why,
        "evaluate_and_deliver_s": round(t_delivered - t0, 3),
        "all_decisions_s": round(fills[-1] - t0, 3) if fills else None,
        "first_order_s": round(fills[0] - t0, 3) if fills else None,
        "fire_to_order": summary_ms(per_trader),
        "orders_per_s": round(len(fills) / (fills[-1] - t0), 2) if fills else None,
        "orders_per_s_steady": throughput(fills),
        "cpu_cores": cpu_use,
    }
    if why != "complete":
        out["decision_statuses"] = await decision_statuses(stack, since)
    # The pool's side: its evaluation activity and the fan-out activity signalling the traders.
    out["pool_history"] = (await history_breakdown(stack, [f"signal-pool-{pool_id}"], t0 - 0.1))[
        "activity_scheduled_to_completed"
    ]
    return out


async def sample_worker_peak_rss(stack: BenchStack, stop: asyncio.Event) -> float:
    peak = 0.0
    while not stop.is_set():
        peak = max(peak, rss_mb(stack.worker.pid) or 0.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    return round(peak, 1)


# --- where a decision's time goes, from workflow histories -------------------------------


async def history_breakdown(
    stack: BenchStack, workflow_ids: Sequence[str], since_epoch: float
) -> dict[str, Any]:
    """From the event timestamps of a few traders' histories (current run), after
    `since_epoch`: per activity type, scheduled -> completed (the server writes an activity's
    started event lazily, with its scheduled time, so queue wait and run are not separable
    here); for workflow tasks, scheduled -> started (dispatch to the worker's sticky queue) and
    started -> completed (the worker's workflow code); and the gap from an activity's
    completion to the next activity's scheduling (one workflow task round trip)."""
    from temporalio.api.enums.v1 import EventType as E

    activity: dict[str, list[float]] = {}
    dispatch: list[float] = []
    run: list[float] = []
    gaps: list[float] = []
    for workflow_id in workflow_ids:
        handle = stack.client.get_workflow_handle(workflow_id)
        scheduled: dict[int, tuple[str, float]] = {}
        wf_started: dict[int, float] = {}
        last_completed: float | None = None
        async for ev in handle.fetch_history_events():
            t = ev.event_time.ToDatetime(tzinfo=UTC).timestamp()
            if t < since_epoch:
                continue
            et = ev.event_type
            if et == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                name = ev.activity_task_scheduled_event_attributes.activity_type.name
                scheduled[ev.event_id] = (name, t)
                if last_completed is not None:
                    gaps.append(t - last_completed)
                    last_completed = None
            elif et == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                sid = ev.activity_task_completed_event_attributes.scheduled_event_id
                if sid in scheduled:
                    name, ts = scheduled[sid]
                    activity.setdefault(name, []).append(t - ts)
                    last_completed = t
            elif et == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                scheduled[ev.event_id] = ("workflow_task", t)
            elif et == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                sid = ev.workflow_task_started_event_attributes.scheduled_event_id
                if sid in scheduled:
                    dispatch.append(t - scheduled[sid][1])
                    wf_started[sid] = t
            elif et == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                sid = ev.workflow_task_completed_event_attributes.scheduled_event_id
                if sid in wf_started:
                    run.append(t - wf_started[sid])
    return {
        "workflows": list(workflow_ids),
        "activity_scheduled_to_completed": {k: summary_ms(v) for k, v in sorted(activity.items())},
        "workflow_task_dispatch": summary_ms(dispatch),
        "workflow_task_run": summary_ms(run),
        "activity_done_to_next_scheduled": summary_ms(gaps),
    }
