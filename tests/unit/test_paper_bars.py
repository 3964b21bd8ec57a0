"""TP/SL triggers over a candle's OHLC and over 1m candles (domain/paper_bars.py): every figure
worked out by hand and asserted exactly. Fee 5 bps, no slippage unless a test says so."""

from __future__ import annotations

from decimal import Decimal as D

from domain.paper import PaperAccount, PaperConfig, PaperPosition
from domain.paper_bars import Bar, check_triggers_bar, check_triggers_path, equity_low

CFG = PaperConfig(taker_fee_bps=D("5"), slippage_bps=D("0"))
SLIP = PaperConfig(taker_fee_bps=D("5"), slippage_bps=D("10"))


def bar(o: str, h: str, low: str, c: str, at: int = 0) -> Bar:
    return Bar(D(o), D(h), D(low), D(c), at)


def long_btc() -> PaperAccount:
    """1 BTC long at 100, 10x (liquidation 100 x 0.9 / 0.99 = 90.90909091), TP 110, SL 95."""
    pos = PaperPosition("BTC", "long", D("1"), D("100"), D("10"), D("110"), D("95"), "t-1")
    return PaperAccount(cash=D("10000"), positions={"BTC": pos})


def short_btc() -> PaperAccount:
    """1 BTC short at 100, 10x (liquidation 100 x 1.1 / 1.01 = 108.91089109), TP 90, SL 105."""
    pos = PaperPosition("BTC", "short", D("1"), D("100"), D("10"), D("90"), D("105"), "t-1")
    return PaperAccount(cash=D("10000"), positions={"BTC": pos})


def test_long_bar_touching_both_stops_out_flagged_ambiguous() -> None:
    """Which of SL and TP printed first is unknown: the stop wins (against the strategy)."""
    new, fills = check_triggers_bar(long_btc(), {"BTC": bar("100", "111", "94", "105")}, CFG)
    (f,) = fills
    assert f.reason == "stop_loss" and f.ambiguous and not f.gap
    assert (f.fill.price, f.fill.side, f.fill.size) == (D("95"), "sell", D("1"))
    assert f.fill.realized_pnl == D("-5")
    assert f.fill.fee == D("0.0475")  # 95 x 5 / 10000
    assert f.fill.trade_id == "BTC-sl-t-1"
    assert new.cash == D("9994.9525") and new.positions == {}
    assert new.fees_paid == D("0.0475") and new.realized_pnl == D("-5")


def test_the_same_bar_resolved_on_1m_candles_takes_profit() -> None:
    """With the 1m candles inside it, the TP printed first: take profit, not ambiguous."""
    minutes = [bar("100", "111", "100", "110.5", 0), bar("110.5", "110.5", "94", "95", 60_000)]
    new, fills = check_triggers_bar(
        long_btc(), {"BTC": bar("100", "111", "94", "105")}, CFG, {"BTC": minutes}
    )
    (f,) = fills
    assert f.reason == "take_profit" and not f.ambiguous
    assert (f.fill.price, f.fill.realized_pnl, f.fill.fee) == (D("110"), D("10"), D("0.055"))
    assert new.cash == D("10009.945") and new.positions == {}


def test_1m_candles_walk_in_time_order_whatever_their_order_given() -> None:
    """The stop prints in the first minute: stop loss, though the TP candle is listed first."""
    minutes = [bar("96", "111", "96", "110", 120_000), bar("100", "100", "94", "96", 60_000)]
    new, fills = check_triggers_path(long_btc(), {"BTC": minutes}, CFG)
    (f,) = fills
    assert f.reason == "stop_loss" and not f.ambiguous and f.fill.price == D("95")
    assert new.cash == D("9994.9525")


def test_an_ambiguous_1m_candle_stops_out_too() -> None:
    minutes = [bar("100", "105", "99", "104", 0), bar("104", "111", "94", "100", 60_000)]
    new, fills = check_triggers_bar(
        long_btc(), {"BTC": bar("100", "111", "94", "100")}, CFG, {"BTC": minutes}
    )
    (f,) = fills
    assert f.reason == "stop_loss" and f.ambiguous and f.fill.price == D("95")


def test_incomplete_1m_data_keeps_the_bars_pessimistic_fill() -> None:
    minutes = [bar("100", "101", "99", "100", 0)]  # never reaches either level
    _, fills = check_triggers_bar(
        long_btc(), {"BTC": bar("100", "111", "94", "100")}, CFG, {"BTC": minutes}
    )
    assert fills[0].reason == "stop_loss" and fills[0].ambiguous


def test_gap_through_the_stop_fills_at_the_open() -> None:
    new, fills = check_triggers_bar(long_btc(), {"BTC": bar("93", "96", "92", "95")}, CFG)
    (f,) = fills
    assert f.reason == "stop_loss" and f.gap and not f.ambiguous and f.reference == D("93")
    assert (f.fill.price, f.fill.realized_pnl, f.fill.fee) == (D("93"), D("-7"), D("0.0465"))
    assert new.cash == D("9992.9535")


def test_stop_slippage_is_against_the_position() -> None:
    """A long's stop sells 10 bps under its level (or the gap open); no slippage on TP."""
    _, (at_level,) = check_triggers_bar(long_btc(), {"BTC": bar("100", "101", "94", "99")}, SLIP)
    assert at_level.fill.price == D("94.905")  # 95 x 0.999
    assert at_level.reference == D("95") and at_level.fill.realized_pnl == D("-5.095")
    assert at_level.fill.fee == D("0.0474525")  # 94.905 x 5 / 10000
    _, (gapped,) = check_triggers_bar(long_btc(), {"BTC": bar("93", "96", "92", "95")}, SLIP)
    assert gapped.fill.price == D("92.907") and gapped.fill.realized_pnl == D("-7.093")
    _, (tp,) = check_triggers_bar(long_btc(), {"BTC": bar("100", "112", "99", "111")}, SLIP)
    assert tp.fill.price == D("110")
    _, (short_sl,) = check_triggers_bar(short_btc(), {"BTC": bar("100", "106", "99", "101")}, SLIP)
    assert short_sl.fill.price == D("105.105")  # a short's stop buys higher


def test_favourable_gap_through_tp_fills_at_the_tp_price() -> None:
    """No price improvement: the open at 112 is beyond TP 110, the fill is at 110."""
    new, fills = check_triggers_bar(long_btc(), {"BTC": bar("112", "115", "111", "114")}, CFG)
    (f,) = fills
    assert f.reason == "take_profit" and not f.ambiguous and not f.gap
    assert (f.fill.price, f.fill.realized_pnl, f.fill.fee) == (D("110"), D("10"), D("0.055"))
    assert new.cash == D("10009.945")


def test_no_level_crossed_no_fill() -> None:
    acct = long_btc()
    assert check_triggers_bar(acct, {"BTC": bar("100", "109", "96", "101")}, CFG) == (acct, [])
    assert check_triggers_bar(acct, {"ETH": bar("1", "9", "0.5", "1")}, CFG) == (acct, [])


def test_short_ambiguous_bar_stops_out_at_the_stop() -> None:
    new, fills = check_triggers_bar(short_btc(), {"BTC": bar("100", "106", "89", "95")}, CFG)
    (f,) = fills
    assert f.reason == "stop_loss" and f.ambiguous and f.fill.side == "buy"
    assert (f.fill.price, f.fill.realized_pnl, f.fill.fee) == (D("105"), D("-5"), D("0.0525"))
    assert new.cash == D("9994.9475")


def test_short_resolved_on_1m_takes_profit() -> None:
    minutes = [bar("100", "100", "89", "90", 0), bar("90", "106", "90", "95", 60_000)]
    new, fills = check_triggers_bar(
        short_btc(), {"BTC": bar("100", "106", "89", "95")}, CFG, {"BTC": minutes}
    )
    (f,) = fills
    assert f.reason == "take_profit" and not f.ambiguous
    assert (f.fill.price, f.fill.realized_pnl, f.fill.fee) == (D("90"), D("10"), D("0.045"))
    assert new.cash == D("10009.955")


def test_short_gap_through_stop_and_favourable_gap_mirror_the_long() -> None:
    new, (gap,) = check_triggers_bar(short_btc(), {"BTC": bar("107", "108", "104", "105")}, CFG)
    assert gap.reason == "stop_loss" and gap.gap and gap.fill.price == D("107")
    assert (gap.fill.realized_pnl, gap.fill.fee, new.cash) == (D("-7"), D("0.0535"), D("9992.9465"))
    new, (tp,) = check_triggers_bar(short_btc(), {"BTC": bar("88", "89", "87", "88")}, CFG)
    assert tp.reason == "take_profit" and tp.fill.price == D("90")
    assert (tp.fill.realized_pnl, tp.fill.fee, new.cash) == (D("10"), D("0.045"), D("10009.955"))


def test_positions_fire_in_sorted_symbol_order_and_ids_are_stable() -> None:
    """Same state and candles -> same fills and ids (a retried step dedupes on them)."""
    eth = PaperPosition("ETH", "short", D("2"), D("50"), D("5"), D("40"), D("55"), "e-1")
    acct = PaperAccount(D("10000"), positions={"ETH": eth, **long_btc().positions})
    bars = {"ETH": bar("50", "56", "49", "55"), "BTC": bar("100", "111", "99", "110")}
    new, fills = check_triggers_bar(acct, bars, CFG)
    assert [(f.fill.symbol, f.reason) for f in fills] == [
        ("BTC", "take_profit"),
        ("ETH", "stop_loss"),
    ]
    assert [f.fill.trade_id for f in fills] == ["BTC-tp-t-1", "ETH-sl-e-1"]
    # ETH: (50 - 55) x 2 = -10, fee 110 x 5 / 10000 = 0.055; BTC: +10, fee 0.055
    assert new.cash == D("9999.89")
    assert check_triggers_bar(acct, bars, CFG) == (new, fills)


def test_equity_low_marks_longs_at_the_low_and_shorts_at_the_high() -> None:
    eth = PaperPosition("ETH", "short", D("2"), D("50"), D("5"))
    btc = PaperPosition("BTC", "long", D("1"), D("100"), D("10"))
    sol = PaperPosition("SOL", "long", D("3"), D("20"), D("2"))  # no candle: at its entry
    acct = PaperAccount(D("1000"), positions={"ETH": eth, "BTC": btc, "SOL": sol})
    bars = {"BTC": bar("100", "104", "97", "103"), "ETH": bar("50", "52", "48", "49")}
    # BTC (97 - 100) x 1 = -3; ETH (50 - 52) x 2 = -4; SOL 0
    assert equity_low(acct, bars) == D("993")
    assert acct.equity({"BTC": D("103"), "ETH": D("49")}) == D("1005")  # at the closes
