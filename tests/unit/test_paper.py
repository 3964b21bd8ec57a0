from __future__ import annotations

from decimal import Decimal as D

import pytest

from domain.paper import (
    PaperAccount,
    PaperConfig,
    PaperFill,
    PaperOrder,
    PaperPosition,
    RejectReason,
    account_from_dict,
    account_to_dict,
    check_triggers,
    execute_market_order,
    fill_from_dict,
    fill_to_dict,
)

CFG = PaperConfig()  # 4.5 bps taker fee, 5 bps slippage


def order(coid: str = "o1", side: str = "buy", **kw: object) -> PaperOrder:
    kw.setdefault("symbol", "BTC")
    return PaperOrder(client_order_id=coid, side=side, **kw)  # type: ignore[arg-type]


def fill_ok(acct: PaperAccount, o: PaperOrder, mark: str) -> tuple[PaperAccount, PaperFill]:
    res = execute_market_order(acct, o, D(mark), CFG)
    assert res.ok and res.reject_reason is None, res.reject_reason
    assert res.fill is not None
    return res.account, res.fill


def test_open_long_exact_price_fee_and_margin() -> None:
    acct = PaperAccount(cash=D("10000"))
    new, fill = fill_ok(acct, order(size=D("0.1"), leverage=D("10")), "60000")
    assert fill.price == D("60030")  # 60000 * (1 + 5/10000)
    assert fill.fee == D("2.70135")  # 0.1 * 60030 * 4.5/10000
    assert (fill.trade_id, fill.size, fill.realized_pnl) == ("o1-1", D("0.1"), 0)
    assert new.cash == D("9997.29865") and new.fees_paid == D("2.70135")
    pos = new.positions["BTC"]
    assert (pos.side, pos.size, pos.entry_price, pos.leverage) == ("long", D("0.1"), D("60030"), 10)
    assert pos.margin == D("600.3")
    assert acct.cash == D("10000") and acct.positions == {}  # input untouched


def test_open_short_with_size_usd_rounds_size_down() -> None:
    acct = PaperAccount(cash=D("5000"))
    new, fill = fill_ok(acct, order(side="sell", symbol="ETH", size_usd=D("1000")), "100")
    assert fill.price == D("99.95")  # seller gets less
    assert fill.size == D("10.00500250")  # 1000 / 99.95 = 10.005002501... ROUND_DOWN 8 dp
    assert fill.fee == (fill.size * fill.price * D("0.00045")).quantize(D("1e-8"))
    assert new.positions["ETH"].side == "short"


def test_add_same_side_weighted_entry_and_new_leverage() -> None:
    acct = PaperAccount(cash=D("10000"), positions={})
    acct, _ = fill_ok(acct, order("a", size=D("1"), leverage=D("2")), "100")
    acct, _ = fill_ok(acct, order("b", size=D("1"), leverage=D("5")), "110")
    pos = acct.positions["BTC"]
    assert pos.size == D("2")
    assert pos.entry_price == D("105.0525")  # (100.05 + 110.055) / 2
    assert pos.leverage == D("5")
    assert pos.last_trade_id == "b-1"


def test_partial_then_full_reduce_realises_pnl() -> None:
    acct = PaperAccount(cash=D("10000"))
    acct, open_fill = fill_ok(acct, order("a", size=D("1")), "100")  # entry 100.05
    cash0 = acct.cash
    acct, f1 = fill_ok(acct, order("r1", "sell", size=D("0.4"), reduce_only=True), "120")
    assert f1.price == D("119.94")
    assert f1.realized_pnl == D("7.956")  # (119.94 - 100.05) * 0.4
    assert f1.fee == D("0.0215892")  # 0.4 * 119.94 * 0.00045
    assert acct.cash == cash0 + D("7.956") - D("0.0215892")
    assert acct.positions["BTC"].size == D("0.6")
    # size None + reduce_only closes everything; oversize is capped too
    acct, f2 = fill_ok(acct, order("r2", "sell", reduce_only=True), "90")
    assert f2.size == D("0.6") and f2.price == D("89.955")
    assert f2.realized_pnl == D("-6.057")  # (89.955 - 100.05) * 0.6
    assert "BTC" not in acct.positions
    assert acct.realized_pnl == D("7.956") + D("-6.057")
    assert acct.fees_paid == open_fill.fee + f1.fee + f2.fee
    assert acct.cash == D("10000") + acct.realized_pnl - acct.fees_paid


def test_reduce_short_capped_at_position_size() -> None:
    acct, _ = fill_ok(PaperAccount(cash=D("1000")), order("s", "sell", size=D("2")), "50")
    acct, f = fill_ok(acct, order("c", "buy", size=D("5"), reduce_only=True), "40")
    assert f.size == D("2") and f.price == D("40.02")
    assert f.realized_pnl == (D("49.975") - D("40.02")) * 2
    assert acct.positions == {}


def test_zero_cost_config() -> None:
    cfg = PaperConfig(taker_fee_bps=D(0), slippage_bps=D(0))
    res = execute_market_order(PaperAccount(cash=D("100")), order(size=D("1")), D("42.5"), cfg)
    assert res.fill is not None and res.fill.price == D("42.5") and res.fill.fee == 0
    assert res.account.cash == D("100")


@pytest.mark.parametrize(
    ("o", "reason"),
    [
        (order(size_usd=D("1000"), leverage=D("10")), RejectReason.INSUFFICIENT_MARGIN),
        (order("x", "sell", size=D("1"), reduce_only=True), RejectReason.NO_POSITION_TO_REDUCE),
        (order(size=D("0")), RejectReason.INVALID_SIZE),
        (order(size=D("-1")), RejectReason.INVALID_SIZE),
        (order(size=D("1e-9")), RejectReason.INVALID_SIZE),  # rounds down to 0
        (order(), RejectReason.INVALID_SIZE),
        (order(size=D("1"), size_usd=D("1")), RejectReason.INVALID_SIZE),
        (order(size=D("1"), leverage=D("0")), RejectReason.INVALID_LEVERAGE),
        (order(size=D("0.1"), stop_loss_pct=D("-1")), RejectReason.INVALID_TP_SL),
    ],
)
def test_rejections_leave_account_unchanged(o: PaperOrder, reason: str) -> None:
    acct = PaperAccount(cash=D("100"))
    res = execute_market_order(acct, o, D("100"), CFG)
    assert not res.ok and res.fill is None
    assert res.reject_reason == reason
    assert res.account is acct


def test_margin_boundary() -> None:
    acct = PaperAccount(cash=D("100"))
    # margin 999.99.../10 ~= 100 plus fee 0.45 > 100 available
    assert not execute_market_order(acct, order(size_usd=D("1000"), leverage=D("10")), D("100")).ok
    assert execute_market_order(acct, order(size_usd=D("1000"), leverage=D("20")), D("100")).ok
    res = execute_market_order(acct, order(size=D("1")), D("0"))
    assert res.reject_reason == RejectReason.INVALID_PRICE


def test_opposite_side_conflict_and_wrong_side_reduce() -> None:
    acct, _ = fill_ok(PaperAccount(cash=D("1000")), order(size=D("1")), "100")
    res = execute_market_order(acct, order("y", "sell", size=D("1")), D("100"), CFG)
    assert res.reject_reason == RejectReason.POSITION_SIDE_CONFLICT
    res = execute_market_order(acct, order("z", "buy", size=D("1"), reduce_only=True), D("100"))
    assert res.reject_reason == RejectReason.NO_POSITION_TO_REDUCE


def test_equity_used_margin_available() -> None:
    acct, _ = fill_ok(PaperAccount(cash=D("1000")), order(size=D("1"), leverage=D("5")), "100")
    acct, _ = fill_ok(acct, order("e", "sell", symbol="ETH", size=D("2")), "50")
    # BTC long 1 @ 100.05 (margin 20.01); ETH short 2 @ 49.975 (margin 99.95)
    marks = {"BTC": D("110"), "ETH": D("45")}
    upnl = D("9.95") + D("9.95")
    assert acct.equity(marks) == acct.cash + upnl
    assert acct.used_margin() == D("20.01") + D("99.95")
    assert acct.available(marks) == acct.equity(marks) - acct.used_margin()
    assert acct.equity({}) == acct.cash  # missing marks value positions at entry
    assert acct.positions["ETH"].unrealized_pnl(D("45")) == D("9.95")
    assert acct.positions["ETH"].notional(D("45")) == D("90")
    assert acct.available({"BTC": D("1"), "ETH": D("1000")}) == 0  # never negative


def _with_tp_sl(side: str) -> PaperAccount:
    o = order("t", side, size=D("1"), take_profit_pct=D("10"), stop_loss_pct=D("5"))
    acct, _ = fill_ok(PaperAccount(cash=D("1000")), o, "100")
    return acct


@pytest.mark.parametrize(
    ("side", "mark", "kind", "price", "pnl"),
    [
        ("buy", "111", "tp", "110.055", "10.005"),  # entry 100.05, TP +10 %
        ("buy", "94", "sl", "95.0475", "-5.0025"),  # SL -5 %
        ("sell", "89", "tp", "89.955", "9.995"),  # entry 99.95, TP -10 %
        ("sell", "106", "sl", "104.9475", "-4.9975"),  # SL +5 %
    ],
)
def test_triggers_close_at_trigger_price_deterministically(
    side: str, mark: str, kind: str, price: str, pnl: str
) -> None:
    acct = _with_tp_sl(side)
    new, fills = check_triggers(acct, {"BTC": D(mark)}, CFG)
    assert len(fills) == 1
    f = fills[0]
    assert f.trade_id == f"BTC-{kind}-t-1"
    assert f.is_liquidation_or_trigger == ("take_profit" if kind == "tp" else "stop_loss")
    assert f.price == D(price) and f.realized_pnl == D(pnl) and f.size == D("1")
    assert f.side == ("sell" if side == "buy" else "buy")
    assert f.fee == (D(price) * D("0.00045")).quantize(D("1e-8"))
    assert new.positions == {}
    assert new.cash == acct.cash + D(pnl) - f.fee
    assert check_triggers(acct, {"BTC": D(mark)}, CFG) == (new, fills)  # retry: same ids
    assert check_triggers(new, {"BTC": D(mark)}, CFG) == (new, [])


def test_no_trigger_inside_band_or_without_mark() -> None:
    acct = _with_tp_sl("buy")
    assert check_triggers(acct, {"BTC": D("105")}, CFG) == (acct, [])
    assert check_triggers(acct, {"ETH": D("1")}, CFG) == (acct, [])


def test_trigger_id_for_hand_built_position_is_stable() -> None:
    pos = PaperPosition("SOL", "long", D("2"), D("10"), D("1"), D("12"), None)
    acct = PaperAccount(cash=D("100"), positions={"SOL": pos})
    _, f1 = check_triggers(acct, {"SOL": D("13")})
    _, f2 = check_triggers(account_from_dict(account_to_dict(acct)), {"SOL": D("13")})
    assert f1[0].trade_id == f2[0].trade_id and f1[0].trade_id.startswith("SOL-tp-")


def test_dict_round_trip() -> None:
    acct = _with_tp_sl("buy")
    acct, _ = fill_ok(acct, order("e", "sell", symbol="ETH", size=D("0.5")), "50")
    d = account_to_dict(acct)
    assert d["cash"] == str(acct.cash)
    assert D(d["positions"]["BTC"]["stop_loss_price"]) == D("95.0475")
    assert d["positions"]["ETH"]["take_profit_price"] is None
    assert account_from_dict(d) == acct
    _, fills = check_triggers(acct, {"BTC": D("200")})
    assert fill_from_dict(fill_to_dict(fills[0])) == fills[0]


def test_add_keeps_tp_sl_unless_given_and_rechecks_margin_for_lower_leverage() -> None:
    acct = _with_tp_sl("buy")  # 1 @ 100.05, 1x, TP 110.055, SL 95.0475, cash ~999.955
    acct, _ = fill_ok(acct, order("u", size=D("1"), take_profit_pct=D("20")), "100")
    pos = acct.positions["BTC"]
    assert pos.take_profit_price == D("120.06") and pos.stop_loss_price == D("95.0475")
    # 0.1 more at 1x alone needs ~10 of margin (fits in ~40 available), but re-levering the
    # whole 1.1 position from 10x to 1x needs ~100 more: rejected
    big = PaperAccount(cash=D("50"))
    big, _ = fill_ok(big, order("v", size=D("1"), leverage=D("10")), "100")
    res = execute_market_order(big, order("w", size=D("0.1"), leverage=D("1")), D("100"))
    assert res.reject_reason == RejectReason.INSUFFICIENT_MARGIN
    assert execute_market_order(big, order("w", size=D("0.1"), leverage=D("10")), D("100")).ok


def test_short_take_profit_over_100_pct_is_dropped() -> None:
    o = order("s", "sell", size=D("1"), take_profit_pct=D("150"), stop_loss_pct=D("5"))
    acct, _ = fill_ok(PaperAccount(cash=D("1000")), o, "100")
    pos = acct.positions["BTC"]
    assert pos.take_profit_price is None and pos.stop_loss_price == D("104.9475")
