"""The same decision logic with no Temporal and no database: plain asyncio in this process.

Per decision, exactly the product's steps and functions: the market snapshot from the simulated
feed (`adapters.market.snapshot.market_snapshot` / `snapshot_dict`), the paper account's TP/SL check
and view (`domain.paper`, `PaperExchange._view`), the program in its sandbox
(`sandbox.runner.run_program`, same limits and the same per-core bound as
`strategies/program.py`), the risk gate (`domain.risk.evaluate`), the order intents
(`domain.orders.intents_for`) and the paper fill (`domain.paper.execute_market_order`). Paper
accounts live in memory; decisions of one trader run one at a time (as in its workflow).

What the engine adds on top of this (Temporal round trips per activity, workflow tasks,
database writes, the snapshot stored and re-read) is the ratio engine / baseline.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

from adapters.exchanges.paper import PaperExchange, paper_order
from adapters.market.simulated import SimulatedFeed
from adapters.market.snapshot import market_snapshot, snapshot_dict
from bench.workloads import PROGRAM, TRADER, summary_ms, throughput
from config.settings import Settings
from domain import paper, paper_liquidation
from domain.decision import Decision
from domain.orders import intents_for
from domain.risk import RiskCheckInput, RiskLimits, evaluate
from sandbox.runner import SandboxLimits, default_mode, run_program
from strategies.program import sandbox_slots


class InMemoryTrader:
    def __init__(self, account_id: int, cfg: paper.PaperConfig) -> None:
        self.account_id = account_id
        self.state = paper.PaperAccount(cash=Decimal(TRADER["initial_capital"]))
        self.cfg = cfg
        self.seq = 0
        self.lock = asyncio.Lock()
        self.limits = RiskLimits(
            max_leverage=Decimal(TRADER["max_leverage"]),
            max_position_notional_usd=Decimal(TRADER["max_position_notional_usd"]),
            max_concurrent_positions=int(TRADER["max_concurrent_positions"]),
        )


class Baseline:
    def __init__(self, settings: Settings) -> None:
        self.feed = SimulatedFeed(seed=settings.market_seed)
        self.cfg = paper.PaperConfig(
            taker_fee_bps=Decimal(settings.paper_taker_fee_bps),
            slippage_bps=Decimal(settings.paper_slippage_bps),
        )
        self.limits = SandboxLimits(
            wall_seconds=settings.sandbox_wall_seconds,
            cpu_seconds=settings.sandbox_cpu_seconds,
            memory_mb=settings.sandbox_memory_mb,
        )
        # The same sandbox mode and bound as strategies.program.ProgramRunner.
        self.mode = default_mode()
        self.slots = asyncio.Semaphore(sandbox_slots(self.mode))
        self.symbols: list[str] = list(TRADER["symbols"])  # type: ignore[call-overload]

    async def decide(self, t: InMemoryTrader) -> dict[str, Any]:
        async with t.lock:
            t.seq += 1
            at = int(time.time() * 1000)
            prices, klines = await market_snapshot(self.feed, self.symbols, at)
            # the live paper exchange's check (liquidations, then TP/SL), for parity
            t.state, _fills = paper_liquidation.check_marks(t.state, prices, self.cfg)
            view = PaperExchange._view(t.state, prices)
            snap = snapshot_dict(
                self.symbols, at, prices, klines, view, {"type": "signal", "bench": True}
            )
            async with self.slots:
                result = await run_program(PROGRAM, snap, self.limits, mode=self.mode)
            if not result.ok or result.decision is None:
                return {"status": "failed", "error": result.error_code}
            decision = Decision.model_validate(result.decision)
            verdict = evaluate(
                RiskCheckInput(
                    decision=decision,
                    limits=t.limits,
                    symbols=self.symbols,
                    positions=view.positions,
                    prices=prices,
                    available_usd=view.available_usd,
                )
            )
            if not verdict.approved:
                return {"status": "denied", "error": verdict.code}
            decision_id = f"base-{t.account_id}-{t.seq}"
            for intent in intents_for(decision, t.account_id, decision_id, t.seq, view.positions):
                res = paper.execute_market_order(
                    t.state,
                    paper_order(intent),
                    prices[intent.symbol],
                    self.cfg,
                )
                if res.fill is None:
                    return {"status": "rejected", "error": str(res.reject_reason)}
                t.state = res.account
            return {"status": "executed", "sandbox_ms": result.duration_ms}


async def run_baseline(
    settings: Settings, decisions: int = 60, traders: int = 10
) -> dict[str, Any]:
    """Single-decision latency (sequential, warm) and saturated decisions/s (`decisions`
    queued at once over `traders` in-memory traders)."""
    base = Baseline(settings)
    fleet = [InMemoryTrader(i + 1, base.cfg) for i in range(traders)]
    await base.decide(fleet[0])  # warm the page cache and imports
    single = []
    for _ in range(5):
        t = time.monotonic()
        await base.decide(fleet[0])
        single.append(time.monotonic() - t)
    done: list[float] = []
    statuses: dict[str, int] = {}

    async def one(t: InMemoryTrader) -> None:
        out = await base.decide(t)
        statuses[out["status"]] = statuses.get(out["status"], 0) + 1
        done.append(time.monotonic())

    t0 = time.monotonic()
    await asyncio.gather(*(one(fleet[i % traders]) for i in range(decisions)))
    wall = time.monotonic() - t0
    return {
        "decisions": decisions,
        "traders": traders,
        "wall_s": round(wall, 2),
        "decisions_per_s": throughput(sorted(done)) or round(decisions / wall, 2),
        "decisions_per_s_overall": round(decisions / wall, 2),
        "single_decision": summary_ms(single),
        "statuses": statuses,
        "sandbox_mode": base.mode,
        "sandbox_slots": sandbox_slots(base.mode),
    }
