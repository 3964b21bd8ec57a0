"""Accounting invariants of the paper account over random candle series and random decisions
(seeded, so a failure replays): every cent of cash is explained by realised PnL, fees and
funding, and no trigger fills at a price its candle never offered (gaps aside)."""

from __future__ import annotations

import random
from decimal import Decimal as D

import pytest

from domain.paper import PaperAccount, PaperConfig, PaperOrder, execute_market_order
from domain.paper_bars import Bar, BarFill, charge_funding, check_triggers_bar, equity_low

SYMBOLS = ("BTC", "ETH")
START = D("10000")
H = 3_600_000


def _bar(rng: random.Random, last_close: D, at: int) -> Bar:
    """A candle from the last close; one in ten gaps up to 3 % away from it first."""
    gap = D(rng.randint(-300, 300)) / 10000 if rng.random() < 0.1 else D(0)
    open_ = (last_close * (1 + gap)).quantize(D("0.01"))
    close = max(D("1"), open_ * (1 + D(rng.randint(-600, 600)) / 10000)).quantize(D("0.01"))
    high = max(open_, close) * (1 + D(rng.randint(0, 400)) / 10000)
    low = min(open_, close) * (1 - D(rng.randint(0, 400)) / 10000)
    return Bar(open_, high.quantize(D("0.01")), low.quantize(D("0.01")), close, at)


def _minutes(rng: random.Random, bar: Bar) -> list[Bar]:
    """Three 1m candles spanning the bar's range in a random order of its extremes."""
    first, second = (bar.high, bar.low) if rng.random() < 0.5 else (bar.low, bar.high)
    path = [bar.open, first, second, bar.close]
    return [
        Bar(a, max(a, b), min(a, b), b, bar.at_ms + i * 60_000)
        for i, (a, b) in enumerate(zip(path, path[1:], strict=False))
    ]


def _check_fill(f: BarFill, bar: Bar, margin: D) -> None:
    inside = bar.low <= f.reference <= bar.high
    favourable_gap = f.reason == "take_profit"  # TP at its price when O is beyond it
    assert inside or f.gap or favourable_gap, (f, bar)
    if f.gap:
        assert f.reference == bar.open
    if f.reason == "liquidation":
        assert f.fill.realized_pnl >= -margin and f.liquidation_shortfall >= 0


@pytest.mark.parametrize("seed", range(40))
def test_cash_is_realised_pnl_minus_fees_minus_funding(seed: int) -> None:
    rng = random.Random(seed)
    cfg = PaperConfig(
        taker_fee_bps=D(rng.choice(["0", "4.5", "5"])), slippage_bps=D(rng.choice(["0", "5"]))
    )
    acct = PaperAccount(cash=START)
    prices = {s: D(rng.choice(["100", "2500.5", "43000"])) for s in SYMBOLS}
    fees = funding = D(0)
    liquidations = 0
    for k in range(60):
        at = k * H
        bars = {s: _bar(rng, prices[s], at) for s in SYMBOLS}
        for s in SYMBOLS:  # funding first at o_k, then the fills of the decision before
            if s in acct.positions and rng.random() < 0.5:
                rate = D(rng.randint(-50, 50)) / 100000
                acct, charge = charge_funding(acct, s, rate, bars[s].open, at)
                funding += charge.amount if charge else 0
        for s in SYMBOLS:
            if rng.random() < 0.3:
                order = PaperOrder(
                    f"o{k}{s}",
                    s,
                    rng.choice(["buy", "sell"]),
                    size_usd=D(rng.randint(100, 3000)),
                    leverage=D(rng.choice([1, 3, 10, 25, 50])),
                    take_profit_pct=rng.choice([None, D("1"), D("3")]),
                    stop_loss_pct=rng.choice([None, D("0.5"), D("2"), D("5")]),
                    reduce_only=rng.random() < 0.2,
                )
                if order.reduce_only:
                    order = PaperOrder(order.client_order_id, s, order.side, reduce_only=True)
                done = execute_market_order(acct, order, bars[s].open, cfg, at_ms=at)
                if done.fill is not None:
                    fees += done.fill.fee
                acct = done.account
        minutes = {s: _minutes(rng, b) for s, b in bars.items()} if rng.random() < 0.5 else None
        margins = {s: p.margin for s, p in acct.positions.items()}
        acct, fills = check_triggers_bar(acct, bars, cfg, minutes)
        for f in fills:
            sym = f.fill.symbol
            _check_fill(f, bars[sym] if minutes is None else _span(minutes[sym]), margins[sym])
            fees += f.fill.fee
            liquidations += f.reason == "liquidation"
        prices = {s: b.close for s, b in bars.items()}
        # the invariant, exactly
        assert acct.cash - START == acct.realized_pnl - acct.fees_paid - acct.funding_paid
        assert acct.fees_paid == fees and acct.funding_paid == funding
        assert equity_low(acct, bars) <= acct.equity(prices)
        if liquidations == 0:
            assert acct.liquidation_shortfall == 0


def _span(candles: list[Bar]) -> Bar:
    """A gap on a 1m candle is relative to that candle's open: the bar spanning them all, with
    the open of any candle accepted as a gap reference, is checked by the fill's own flags."""
    return Bar(
        candles[0].open,
        max(c.high for c in candles),
        min(c.low for c in candles),
        candles[-1].close,
    )


def test_the_random_series_exercise_every_exit() -> None:
    """The property test above is only as good as what it reaches: every exit kind occurs."""
    seen: set[str] = set()
    gaps = ambiguous = 0
    for seed in range(40):
        rng = random.Random(seed)
        acct = PaperAccount(cash=START)
        price = D("100")
        for k in range(60):
            bar = _bar(rng, price, k * H)
            if "BTC" not in acct.positions:
                order = PaperOrder(
                    f"o{k}", "BTC", rng.choice(["buy", "sell"]),
                    size_usd=D("1000"), leverage=D(rng.choice([5, 50])),
                    take_profit_pct=D("1"), stop_loss_pct=D(rng.choice(["0.5", "5"])),
                )  # fmt: skip
                acct = execute_market_order(acct, order, bar.open, at_ms=k * H).account
            acct, fills = check_triggers_bar(acct, {"BTC": bar})
            for f in fills:
                seen.add(f.reason)
                gaps += f.gap
                ambiguous += f.ambiguous
            price = bar.close
    assert seen == {"liquidation", "stop_loss", "take_profit"}
    assert gaps > 0 and ambiguous > 0
