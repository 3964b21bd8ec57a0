"""Multi-interval random-walk market data (1m candles aggregated into 5m, 15m and 1h, as a
venue's would be) and a data-driven decider that records everything it was shown."""

from __future__ import annotations

import hashlib
import json
import random
from decimal import Decimal as D
from typing import Any

from domain.decision import Decision
from domain.market import Candle, Interval
from strategies.backtest.contract import StepInput, StepOutcome

MIN = 60_000


def minutes(first_open: int, n: int, seed: int, step: float = 8) -> list[Candle]:
    """A random walk of 1m candles from 100, moving about `step` cents a minute."""
    rng = random.Random(seed)
    out, level = [], 10000.0
    for i in range(n):
        o = level
        c = max(100.0, o + rng.gauss(0, step))
        h, low = max(o, c) + abs(rng.gauss(0, step / 2)), min(o, c) - abs(rng.gauss(0, step / 2))
        q = [D(round(x)) / 100 for x in (o, h, low, c)]
        out.append(Candle(first_open + i * MIN, q[0], q[1], q[2], q[3], D(1)))
        level = c
    return out


def aggregate(ones: list[Candle], iv: Interval) -> list[Candle]:
    """Whole `iv` candles from 1m ones (a partial last one is left out)."""
    k = iv.ms // MIN
    out = []
    for i in range(0, len(ones) - k + 1, k):
        part = ones[i : i + k]
        if part[0].open_time_ms % iv.ms:
            continue
        out.append(
            Candle(
                part[0].open_time_ms,
                part[0].open,
                max(c.high for c in part),
                min(c.low for c in part),
                part[-1].close,
                D(k),
            )
        )
    return out


def all_intervals(ones: list[Candle]) -> dict[Interval, list[Candle]]:
    out = {Interval.M1: ones}
    for iv in (Interval.M5, Interval.M15, Interval.H1):
        out[iv] = aggregate(ones, iv)
    return out


def fingerprint(x: Any) -> str:
    return hashlib.sha256(json.dumps(x, sort_keys=True, default=str).encode()).hexdigest()


class Trend:
    """Long above the 20-bar mean of the decision interval's closes, short below, with TP/SL:
    its decisions depend on the candles, so a leak of future data would change them. Keeps a
    fingerprint of every snapshot; `check` (optional) asserts on each one."""

    def __init__(self, interval: str, check: Any = None) -> None:
        self.interval = interval
        self.check = check
        self.seen: dict[int, str] = {}

    async def __call__(self, step: StepInput) -> StepOutcome:
        snap = step.snapshot()
        self.seen[step.at_ms] = fingerprint(snap)
        if self.check is not None:
            self.check(step, snap)
        rows = snap["klines"]["BTC"][self.interval][-20:]
        price = float(snap["prices"]["BTC"])
        mean = sum(r[4] for r in rows) / len(rows)
        held = snap["positions"]
        if price > mean * 1.0005 and not held:
            op = "long"
        elif price < mean * 0.9995 and not held:
            op = "short"
        elif held and abs(price / mean - 1) < 0.0002:
            return StepOutcome(Decision(operation="close", symbol="BTC"))
        else:
            return StepOutcome(Decision(operation="hold"))
        return StepOutcome(
            Decision(
                operation=op,
                symbol="BTC",
                size_usd=D(800),
                leverage=D(3),
                take_profit_pct=D("0.8"),
                stop_loss_pct=D("0.5"),
            )  # fmt: skip
        )


def decision_content(records: list[dict[str, Any]], until: int) -> list[Any]:
    """What was decided up to `until` (not how its orders fared after: filled, rejected or,
    the last one of a run, never filled)."""
    keys = ("step", "at_ms", "operation", "symbol", "size_usd", "leverage", "reasoning")
    ordered = ("pending", "filled", "rejected", "not_filled")
    return [
        (*(d[k] for k in keys), "ordered" if d["status"] in ordered else d["status"])
        for d in records
        if d["at_ms"] <= until
    ]


def fills(records: list[dict[str, Any]], until: int) -> list[Any]:
    """The decision fills before `until`."""
    return [(d["filled_at_ms"], d["fill_price"]) for d in records
            if d.get("filled_at_ms") is not None and d["filled_at_ms"] < until]  # fmt: skip
