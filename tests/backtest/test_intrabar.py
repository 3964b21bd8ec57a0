"""Execution inside a long bar: with `intrabar: 1m` a 4h bar is walked minute by minute and the
hourly funding inside it settles at its minute, so a position stopped out 1h30 into the bar pays
the 1h settlement and no later one; at bar resolution the inside settlements are charged after
the bar's scan, to positions that survived it only (the documented approximation)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from domain.market import Interval
from strategies.backtest.contract import BacktestConfig
from strategies.backtest.engine import BacktestEngine
from strategies.backtest.history import MarketHistory, Series
from tests.backtest.support import FEE_10BPS, MIN, SOURCE, T0, WIDE, Script, candle, long

H4 = Interval.H4.ms
START = T0 + 100 * H4  # the first decision, after 100 warm-up bars
O1 = START  # bar 1 opens at the first decision's close: the long fills here at 100


def history(cfg: BacktestConfig) -> MarketHistory:
    bars = ["100"] * 100 + [("100", "100.5", "98", "98.5"), "98.5"]
    fours = [candle(T0 + i * H4, b) for i, b in enumerate(bars)]
    # bar 1 minute by minute: flat at 100 for 90 minutes, then down through the stop 99
    minutes: list[Any] = ["100"] * 90 + [("100", "100", "98.5", "98.8")] + ["98.5"] * 149
    ones = [candle(O1 + i * MIN, m) for i, m in enumerate(minutes)]
    rates = [(O1 + h * 3_600_000, D("0.001")) for h in range(5)]
    return MarketHistory(
        cfg,
        {
            ("BTC", Interval.H4): Series(Interval.H4, fours),
            ("BTC", Interval.M1): Series(Interval.M1, ones),
        },
        {"BTC": rates},
        {"BTC": SOURCE},
    )


def cfg(intrabar: str) -> BacktestConfig:
    return BacktestConfig(
        symbols=("BTC",), interval=Interval.H4, start_ms=START, end_ms=START + 2 * H4,
        paper=FEE_10BPS, funding=True, intrabar=intrabar, limits=WIDE,  # type: ignore[arg-type]
    )  # fmt: skip


async def trade(intrabar: str) -> dict[str, Any]:
    c = cfg(intrabar)
    engine = BacktestEngine(c, history(c))
    await engine.run(Script({0: long(stop_loss_pct=D(1))}))
    report = engine.report()
    assert len(report.trades) == 1
    return report.trades[0]


async def test_on_1m_the_stop_fires_at_its_minute_after_the_1h_settlement() -> None:
    t = await trade("1m")
    # pays 10 x 100 (the open of the 1m candle at +1h) x 0.001 = 1 at +1h; stopped at +1h30
    assert (t["exit_reason"], t["exit_price"], t["closed_at_ms"]) == (
        "stop_loss",
        "99",
        O1 + 90 * MIN,
    )
    assert t["funding"] == "1"
    # gross 10 x (99 - 100) = -10; fees 1 + 0.99; net -10 - 1.99 - 1
    assert t["net_pnl"] == "-12.99"


async def test_at_bar_resolution_the_inside_settlements_skip_a_stopped_position() -> None:
    t = await trade("bar")
    assert (t["exit_reason"], t["exit_price"], t["closed_at_ms"]) == ("stop_loss", "99", O1)
    assert (t["funding"], t["net_pnl"]) == ("0", "-11.99")
