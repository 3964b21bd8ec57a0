"""A whole round trip over two 1h bars, composed the way the backtest engine will (funding at the
bar's open, then fills, then the trigger scan, then marks), every figure worked out by hand:
entry fee, margin, equity at each close and its low, funding paid, exit fee, net PnL, final
equity and the drawdown."""

from __future__ import annotations

from decimal import Decimal as D

from domain.paper import PaperAccount, PaperConfig, PaperOrder, execute_market_order
from domain.paper_bars import Bar, charge_funding, check_triggers_bar, equity_low

CFG = PaperConfig(taker_fee_bps=D("5"), slippage_bps=D("0"))
H = 3_600_000


def test_long_through_a_funding_and_an_ambiguous_bar() -> None:
    start = PaperAccount(cash=D("10000"))
    # o_1 = 0: a 10x long of 1 BTC at the open, 100; TP +10 % = 110, SL -5 % = 95
    order = PaperOrder(
        "o1", "BTC", "buy", size=D("1"), leverage=D("10"),
        take_profit_pct=D("10"), stop_loss_pct=D("5"),
    )  # fmt: skip
    opened = execute_market_order(start, order, D("100"), CFG, at_ms=0)
    assert opened.fill is not None and opened.fill.fee == D("0.05")  # 100 x 5 / 10000
    acct = opened.account
    pos = acct.positions["BTC"]
    assert (pos.margin, pos.take_profit_price, pos.stop_loss_price) == (D("10"), D("110"), D("95"))
    assert acct.cash == D("9999.95")

    bar1 = {"BTC": Bar(D("100"), D("104"), D("98"), D("103"), 0)}
    acct, fills = check_triggers_bar(acct, bar1, CFG)
    assert fills == []
    assert equity_low(acct, bar1) == D("9997.95")  # marked at the low, 98
    assert acct.equity({"BTC": D("103")}) == D("10002.95")  # at the close

    # o_2 = 1h: funding first (mark = the open, 103): 1 x 103 x 0.0001 paid by the long
    acct, charge = charge_funding(acct, "BTC", D("0.0001"), D("103"), H)
    assert charge is not None and charge.amount == D("0.0103")
    assert acct.cash == D("9999.9397")

    # bar 2 touches both TP (111 >= 110) and SL (94 <= 95): the stop, flagged ambiguous
    bar2 = {"BTC": Bar(D("103"), D("111"), D("94"), D("100"), H)}
    acct, (exit_,) = check_triggers_bar(acct, bar2, CFG)
    assert exit_.reason == "stop_loss" and exit_.ambiguous
    assert (exit_.fill.price, exit_.fill.realized_pnl, exit_.fill.fee) == (
        D("95"),
        D("-5"),
        D("0.0475"),
    )
    assert exit_.funding == D("0.0103")  # the round trip's funding
    fees = opened.fill.fee + exit_.fill.fee
    net = exit_.fill.realized_pnl - fees - exit_.funding
    assert (fees, net) == (D("0.0975"), D("-5.1078"))
    assert acct.cash == D("9994.8922") == start.cash + net  # final equity, flat
    assert equity_low(acct, bar2) == acct.cash
    assert (acct.realized_pnl, acct.fees_paid, acct.funding_paid) == (
        D("-5"),
        D("0.0975"),
        D("0.0103"),
    )
    # equity path 10000, 9999.95 (entry fee), low 9997.95, close 10002.95, then 9994.8922:
    # the drawdown runs from the 10002.95 peak to 9994.8922
    path = [start.cash, D("9999.95"), D("9997.95"), D("10002.95"), acct.cash]
    peak, drawdown = path[0], D(0)
    for e in path:
        peak = max(peak, e)
        drawdown = max(drawdown, peak - e)
    assert drawdown == D("8.0578")
