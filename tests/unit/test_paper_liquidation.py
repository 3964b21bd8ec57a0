"""Liquidation of isolated paper positions (domain/paper_liquidation.py), on a candle and on a
live mark: the price, the fill, and a loss never beyond the margin plus the fees."""

from __future__ import annotations

from decimal import Decimal as D

from domain.paper import (
    PaperAccount,
    PaperConfig,
    PaperOrder,
    PaperPosition,
    account_from_dict,
    account_to_dict,
    check_triggers,
    execute_market_order,
)
from domain.paper_bars import Bar, check_triggers_bar
from domain.paper_liquidation import (
    check_marks,
    liquidation_price,
    maintenance_margin_rate,
)

CFG = PaperConfig(taker_fee_bps=D("5"), slippage_bps=D("0"))  # max leverage 50: mmr 1 %


def pos(
    side: str = "long", lev: str = "50", sl: str | None = None, size: str = "10"
) -> PaperPosition:
    stop = None if sl is None else D(sl)
    return PaperPosition("BTC", side, D(size), D("100"), D(lev), None, stop, "t-1")


def acct(p: PaperPosition, cash: str = "1000") -> PaperAccount:
    return PaperAccount(cash=D(cash), positions={p.symbol: p})


def test_maintenance_margin_rate_is_half_the_initial_margin_at_max_leverage() -> None:
    assert maintenance_margin_rate("BTC", CFG) == D("0.01")  # 1 / (2 x 50)
    cfg = PaperConfig(max_leverage=D("20"), maintenance_margin_rates=(("ETH", D("0.02")),))
    assert maintenance_margin_rate("BTC", cfg) == D("0.025")
    assert maintenance_margin_rate("ETH", cfg) == D("0.02")


def test_liquidation_price_where_position_equity_meets_maintenance() -> None:
    # long 50x: 100 x 0.98 / 0.99 = 98.989898989..; short 50x: 100 x 1.02 / 1.01 = 100.990099..
    assert liquidation_price(pos("long"), CFG) == D("98.98989899")
    assert liquidation_price(pos("short"), CFG) == D("100.99009901")
    # long 10x: 100 x 0.9 / 0.99; a 1x long is never liquidated (price 0)
    assert liquidation_price(pos("long", "10"), CFG) == D("90.90909091")
    assert liquidation_price(pos("long", "1"), CFG) == D("0")
    # at or above 1/mmr the formula passes the entry: clamped to it
    assert liquidation_price(pos("long", "150"), CFG) == D("100")
    assert liquidation_price(pos("short", "150"), CFG) == D("100")
    # at that price, margin + uPnL == mmr x notional (to the rounding)
    p, liq = pos("long"), D("98.98989899")
    assert abs(p.margin + p.unrealized_pnl(liq) - D("0.01") * p.size * liq) < D("1e-7")


def test_50x_long_liquidated_by_a_3pct_wick_loses_less_than_margin_plus_fees() -> None:
    """Opened through the engine (entry fee), then a candle wicks to -3 %."""
    start = PaperAccount(cash=D("1000"))
    order = PaperOrder("o1", "BTC", "buy", size=D("10"), leverage=D("50"))
    opened = execute_market_order(start, order, D("100"), CFG)
    assert opened.fill is not None and opened.fill.fee == D("0.5")  # 1000 x 5 / 10000
    position = opened.account.positions["BTC"]
    assert position.margin == D("20")
    new, fills = check_triggers_bar(
        opened.account, {"BTC": Bar(D("100"), D("100.5"), D("97"), D("99.5"))}, CFG
    )
    (f,) = fills
    assert f.reason == "liquidation" and f.fill.trade_id == "BTC-liq-o1-1" and not f.gap
    assert f.fill.price == D("98.98989899") and f.fill.side == "sell"
    assert f.fill.realized_pnl == D("-10.10101010")  # (98.98989899 - 100) x 10
    assert f.fill.fee == D("0.49494949")  # 989.8989899 x 5 / 10000
    assert f.liquidation_shortfall == 0 and new.liquidation_shortfall == 0
    assert new.positions == {} and new.cash == D("988.90404041")
    loss = start.cash - new.cash
    assert loss == D("11.09595959") and loss <= position.margin + opened.fill.fee + f.fill.fee


def test_a_gap_beyond_bankruptcy_caps_the_loss_and_books_the_shortfall() -> None:
    """Open at 97: (97 - 100) x 10 = -30, but the margin is 20: -20 booked, 10 short."""
    new, (f,) = check_triggers_bar(
        acct(pos()), {"BTC": Bar(D("97"), D("98"), D("96"), D("97"))}, CFG
    )
    assert f.reason == "liquidation" and f.gap and f.fill.price == D("97")
    assert f.fill.realized_pnl == D("-20") and f.liquidation_shortfall == D("10")
    assert f.fill.fee == D("0.485")
    assert new.cash == D("979.515") and new.realized_pnl == D("-20")
    assert new.liquidation_shortfall == D("10")
    assert account_from_dict(account_to_dict(new)) == new


def test_short_liquidated_on_the_high() -> None:
    new, (f,) = check_triggers_bar(
        acct(pos("short")), {"BTC": Bar(D("100"), D("103"), D("99"), D("100"))}, CFG
    )
    assert f.reason == "liquidation" and f.fill.side == "buy"
    assert f.fill.price == D("100.99009901") and f.fill.realized_pnl == D("-9.90099010")


def test_the_level_nearer_the_open_fires_first() -> None:
    wick = {"BTC": Bar(D("100"), D("100"), D("97"), D("98"))}
    _, (stop,) = check_triggers_bar(acct(pos(sl="99.5")), wick, CFG)
    assert stop.reason == "stop_loss" and stop.fill.price == D("99.5")
    _, (liq,) = check_triggers_bar(acct(pos(sl="98")), wick, CFG)  # stop beyond liquidation
    assert liq.reason == "liquidation" and liq.fill.price == D("98.98989899")
    _, (tie,) = check_triggers_bar(acct(pos(sl="98.98989899")), wick, CFG)
    assert tie.reason == "liquidation"


def test_live_mark_beyond_liquidation_liquidates_at_the_liquidation_price() -> None:
    """The live paper exchange's check: liquidation like a TP/SL, at its level."""
    a = acct(pos())
    new, (f,) = check_marks(a, {"BTC": D("98")}, CFG)
    assert f.is_liquidation_or_trigger == "liquidation" and f.trade_id == "BTC-liq-t-1"
    assert f.price == D("98.98989899") and f.realized_pnl == D("-10.10101010")
    assert new.positions == {} and new.cash == D("989.40404041")  # 1000 - 10.1010101 - 0.49494949
    assert check_marks(a, {"BTC": D("98")}, CFG) == (new, [f])  # retry: same id
    assert check_triggers(a, {"BTC": D("98")}, CFG) == (a, [])  # the old check missed it


def test_live_stop_nearer_than_liquidation_still_fires_as_before() -> None:
    a = acct(pos(sl="99.5"))
    assert check_marks(a, {"BTC": D("98")}, CFG) == check_triggers(a, {"BTC": D("98")}, CFG)
    assert check_marks(a, {"BTC": D("99")}, CFG)[1][0].is_liquidation_or_trigger == "stop_loss"


def test_live_mark_inside_band_or_missing_changes_nothing() -> None:
    a = acct(pos())
    assert check_marks(a, {"BTC": D("99")}, CFG) == (a, [])
    assert check_marks(a, {"ETH": D("1")}, CFG) == (a, [])
    assert check_marks(acct(pos("long", "1")), {"BTC": D("0.01")}, CFG)[1] == []
