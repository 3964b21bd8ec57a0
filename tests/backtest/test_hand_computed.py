"""Round trips on crafted 1h bars, every figure worked out by hand (backtesting.md 8.11 tests
1-4): taker fee 10 bps, no slippage unless said, a long of 1000 USD at 100 = 10 BTC.

Common figures: entry fill at the open of bar 1 = 100, size 1000 / 100 = 10, entry fee
10 x 100 x 0.001 = 1, margin at 2x = 10 x 100 / 2 = 500, TP 2 % = 102, SL 1 % = 99."""

from __future__ import annotations

from decimal import Decimal as D

from domain.market import Interval
from domain.metrics import ratio_text
from tests.backtest.support import (
    CLOSE,
    START,
    Script,
    config,
    database,
    equity,
    long,
    only_trade,
    run,
    short,
    store_bars,
    store_hourly,
)

ENTRY = {0: long(leverage=D(2), take_profit_pct=D(2), stop_loss_pct=D(1))}
CALM = ("100", "101", "99.5", "100.5")  # bar 1: entry at 100, no trigger, close 100.5
AMBIGUOUS = ("100.5", "102.5", "98.5", "100")  # bar 2 crosses both SL 99 and TP 102


async def test_an_ambiguous_bar_exits_at_the_stop_and_is_flagged(sqlite_url: str) -> None:
    """Both TP and SL inside one bar with no finer data: the stop fills (pessimistic), the
    trade says so and the report counts it."""
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, ["100", CALM, AMBIGUOUS, "100"])
        report = await run(sessions, config(4), Script(ENTRY))
    trade = only_trade(report)
    # exit at SL 99: gross 10 x (99 - 100) = -10, exit fee 10 x 99 x 0.001 = 0.99
    assert (trade["exit_reason"], trade["exit_price"], trade["ambiguous_bar"]) == (
        "stop_loss", "99", True,
    )  # fmt: skip
    assert (trade["entry_price"], trade["size"], trade["margin"]) == ("100", "10", "500")
    assert (trade["fees"], trade["gross_pnl"], trade["net_pnl"]) == ("1.99", "-10", "-11.99")
    # c0: nothing open; c1: 10000 - 1 + 10 x 0.5 = 10004; c2, c3: 10000 - 11.99
    assert equity(report) == [D(10000), D(10004), D("9988.01"), D("9988.01")]
    # bar 1's low 99.5: 9999 + 10 x (99.5 - 100) = 9994
    assert D(report.equity[1][2]) == D(9994)
    assert report.metrics["ambiguous_exits"] == 1
    assert report.metrics["total_pnl"] == "-11.99"
    # peak 10004, trough 9988.01: 15.99 / 10004
    assert report.metrics["max_drawdown_pct"] == ratio_text(15.99 / 10004 * 100)
    assert report.trades[0]["opened_at_ms"] == START  # filled at bar 1's open, o_1 = c_0


async def test_the_same_bar_on_1m_candles_takes_profit_when_tp_prints_first(
    sqlite_url: str,
) -> None:
    """With the ambiguous bar's 1m candles stored, it is re-scanned: the first minute reaches
    TP 102 before any minute reaches the stop, so the trade takes profit, unflagged."""
    minutes = [("100.5", "102.5", "100.5", "102"), ("102", "102", "98.5", "100")]
    minutes += ["100"] * 58
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, ["100", CALM, AMBIGUOUS, "100"])
        await store_bars(sessions, minutes, interval=Interval.M1, first_open=START + 3_600_000)
        report = await run(sessions, config(4), Script(ENTRY))
    trade = only_trade(report)
    # exit at TP 102: gross 10 x 2 = 20, exit fee 10 x 102 x 0.001 = 1.02
    assert (trade["exit_reason"], trade["exit_price"], trade["ambiguous_bar"]) == (
        "take_profit", "102", False,
    )  # fmt: skip
    assert (trade["fees"], trade["gross_pnl"], trade["net_pnl"]) == ("2.02", "20", "17.98")
    assert equity(report) == [D(10000), D(10004), D("10017.98"), D("10017.98")]
    assert report.metrics["ambiguous_exits"] == 0


async def test_a_gap_through_the_stop_fills_at_the_open(sqlite_url: str) -> None:
    """Bar 2 opens at 98, below the stop 99: the stop fills at the open (the price there was),
    not at 99."""
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, ["100", CALM, ("98", "98.5", "97", "98"), "98"])
        report = await run(sessions, config(4), Script(ENTRY))
    trade = only_trade(report)
    # gross 10 x (98 - 100) = -20, exit fee 10 x 98 x 0.001 = 0.98, net -20 - 1 - 0.98
    assert (trade["exit_reason"], trade["exit_price"], trade["ambiguous_bar"]) == (
        "stop_loss", "98", False,
    )  # fmt: skip
    assert (trade["fees"], trade["gross_pnl"], trade["net_pnl"]) == ("1.98", "-20", "-21.98")
    assert equity(report)[-1] == D("9978.02")


async def test_a_favourable_gap_through_tp_fills_at_tp(sqlite_url: str) -> None:
    """Bar 2 opens at 103, above TP 102: the fill is at 102 (no price improvement)."""
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, ["100", CALM, ("103", "104", "102.5", "103.5"), "103"])
        report = await run(sessions, config(4), Script(ENTRY))
    trade = only_trade(report)
    assert (trade["exit_reason"], trade["exit_price"]) == ("take_profit", "102")
    assert (trade["fees"], trade["gross_pnl"], trade["net_pnl"]) == ("2.02", "20", "17.98")
    assert equity(report)[-1] == D("10017.98")


async def test_a_short_mirrors_the_long(sqlite_url: str) -> None:
    """A short at 100 (TP 98, SL 101) through an ambiguous bar: the stop at 101 fills."""
    entry = {0: short(leverage=D(2), take_profit_pct=D(2), stop_loss_pct=D(1))}
    bars = ["100", ("100", "100.5", "99", "99.5"), ("99.5", "101.5", "97.5", "100"), "100"]
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, bars)
        report = await run(sessions, config(4), Script(entry))
    trade = only_trade(report)
    # gross 10 x (100 - 101) = -10, exit fee 10 x 101 x 0.001 = 1.01, net -10 - 1 - 1.01
    assert (trade["side"], trade["exit_reason"], trade["exit_price"]) == (
        "short", "stop_loss", "101",
    )  # fmt: skip
    assert (trade["fees"], trade["gross_pnl"], trade["net_pnl"]) == ("2.01", "-10", "-12.01")
    # c1: 9999 + 10 x (100 - 99.5) = 10004; the bar's high 100.5 is the short's low point
    assert equity(report) == [D(10000), D(10004), D("9987.99"), D("9987.99")]
    assert D(report.equity[1][2]) == D(9994)
    assert trade["ambiguous_bar"] is True


async def test_a_50x_long_is_liquidated_on_a_3_pct_wick(sqlite_url: str) -> None:
    """50x at 100 with the maintenance rate 1 / (2 x 50) = 1 %: liquidation price
    100 x (1 - 1/50) / (1 - 0.01) = 98.98989899; a wick to 97 closes it there, its loss within
    the margin (10 x 100 / 50 = 20) plus fees."""
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, ["100", ("100", "100.2", "97", "99.5"), "99.5"])
        report = await run(sessions, config(3), Script({0: long(leverage=D(50))}))
    trade = only_trade(report)
    assert (trade["exit_reason"], trade["exit_price"], trade["margin"]) == (
        "liquidation", "98.98989899", "20",
    )  # fmt: skip
    # gross 10 x (98.98989899 - 100) = -10.1010101; exit fee 10 x 98.98989899 x 0.001
    # = 0.9898989899 -> 0.98989899; net -10.1010101 - 1 - 0.98989899 = -12.09090909
    assert (trade["gross_pnl"], trade["fees"], trade["net_pnl"]) == (
        "-10.1010101", "1.98989899", "-12.09090909",
    )  # fmt: skip
    assert -D(trade["net_pnl"]) <= D(20) + D(trade["fees"])
    assert equity(report)[-1] == D("9987.90909091")


async def test_next_bar_open_fills_with_slippage_and_the_end_closes_at_the_last_close(
    sqlite_url: str,
) -> None:
    """Decided at bar 0's close (100), filled at bar 1's open (125) x (1 + 0.1 %) = 125.125;
    still open at the end: closed at the last close 130 x (1 - 0.1 %) = 129.87, taker fee."""
    cfg = config(3, paper=config(1).paper.__class__(taker_fee_bps=D(10), slippage_bps=D(10)))
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, ["100", ("125", "127", "124", "126"), "130"])
        report = await run(sessions, cfg, Script({0: long("1001")}))
    trade = only_trade(report)
    # size 1001 / 125.125 = 8; entry fee 8 x 125.125 x 0.001 = 1.001
    assert (trade["entry_price"], trade["size"]) == ("125.125", "8")
    # gross 8 x (129.87 - 125.125) = 37.96; exit fee 8 x 129.87 x 0.001 = 1.03896, fees 1.001 + that
    assert (trade["exit_reason"], trade["exit_price"]) == ("end_of_backtest", "129.87")
    assert (trade["gross_pnl"], trade["fees"]) == ("37.96", "2.03996")
    assert trade["net_pnl"] == "35.92004"
    # slippage 8 x 0.125 + 8 x 0.13
    assert trade["slippage_cost"] == "2.04"
    assert report.metrics["total_slippage_cost"] == "2.04"
    # c1: 10000 - 1.001 + 8 x (126 - 125.125) = 10005.999; the last point after the close
    assert equity(report) == [D(10000), D("10005.999"), D("10035.92004")]
    assert report.finished


async def test_the_last_bars_decision_is_recorded_and_never_filled(sqlite_url: str) -> None:
    """A decision at the last close has no next open inside the run: recorded, not traded."""
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, ["100", "100", "100"])
        report = await run(sessions, config(3), Script({2: long()}))
    assert report.trades == []
    assert [(d["step"], d["status"]) for d in report.decisions] == [(2, "not_filled")]
    assert equity(report) == [D(10000)] * 3


async def test_a_close_decision_fills_at_the_next_open(sqlite_url: str) -> None:
    """Long at c0, close decided at c1: filled at bar 2's open, exit reason decision."""
    async with database(sqlite_url) as sessions:
        await store_hourly(
            sessions, ["100", ("100", "100", "100", "104"), ("105", "106", "104", "106")]
        )
        report = await run(sessions, config(3), Script({0: long(), 1: CLOSE}))
    trade = only_trade(report)
    # gross 10 x (105 - 100) = 50; fees 1 + 10 x 105 x 0.001 = 1 + 1.05
    assert (trade["exit_reason"], trade["exit_price"], trade["net_pnl"]) == (
        "decision",
        "105",
        "47.95",
    )
    assert trade["closed_at_ms"] == START + 3_600_000
    assert equity(report) == [D(10000), D(10039), D("10047.95")]
