"""Limit orders on the pure paper account (domain/paper_limits.py): a GTC order that does not
cross rests with its margin reserved, fills at its limit with the maker fee once the mark
reaches it; IOC fills at once or is cancelled; post-only that would cross is refused; a cancel
releases the reservation; the resting book survives serialisation."""

from __future__ import annotations

from decimal import Decimal

from domain import paper
from domain.orders import OrderStatus, TimeInForce
from domain.paper_limits import (
    POST_ONLY_WOULD_CROSS,
    cancel_resting,
    fill_resting,
    place_limit_order,
)
from domain.vocabulary import PositionSide, Side

D = Decimal
CFG = paper.PaperConfig(taker_fee_bps=D("4.5"), slippage_bps=D(5), maker_fee_bps=D("1.5"))
START = paper.PaperAccount(cash=D(10000))


def _buy(size: str = "0.1", coid: str = "ho-1-1-entry") -> paper.PaperOrder:
    return paper.PaperOrder(coid, "BTC", Side.BUY, size=D(size), leverage=D(2))


def _gtc_buy_at(limit: str, mark: str = "50000") -> paper.PaperAccount:
    done = place_limit_order(START, _buy(), D(limit), TimeInForce.GTC, D(mark), CFG)
    assert done.status is OrderStatus.SUBMITTED, done
    return done.account


def test_a_gtc_order_that_does_not_cross_rests_and_reserves_its_margin() -> None:
    acct = _gtc_buy_at("49000")
    (resting,) = acct.orders.values()
    # margin 0.1 * 49000 / 2 = 2450, maker fee 0.1 * 49000 * 1.5 bps = 0.735
    assert resting.reserved == D("2450.735")
    assert acct.available({"BTC": D(50000)}) == D(10000) - D("2450.735")
    assert acct.positions == {} and acct.cash == D(10000)


def test_a_resting_buy_fills_at_its_limit_with_the_maker_fee_when_the_mark_reaches_it() -> None:
    acct = _gtc_buy_at("49000")
    unmoved, none, _ = fill_resting(acct, {"BTC": D("49000.01")}, CFG)
    assert none == [] and unmoved is acct
    after, (fill,), dropped = fill_resting(acct, {"BTC": D(48900)}, CFG)
    assert dropped == {} and after.orders == {}
    assert (fill.price, fill.size, fill.fee) == (D(49000), D("0.1"), D("0.735"))
    assert fill.trade_id == "ho-1-1-entry-1"
    pos = after.positions["BTC"]
    assert (pos.side, pos.size, pos.entry_price) == (PositionSide.LONG, D("0.1"), D(49000))
    assert after.cash == D(10000) - D("0.735")
    assert after.used_margin() == D(2450)


def test_a_resting_sell_fills_once_the_mark_is_at_or_above_its_limit() -> None:
    sell = paper.PaperOrder("ho-1-1-entry", "BTC", Side.SELL, size=D("0.1"), leverage=D(2))
    done = place_limit_order(START, sell, D(51000), TimeInForce.GTC, D(50000), CFG)
    assert done.status is OrderStatus.SUBMITTED
    after, (fill,), _ = fill_resting(done.account, {"BTC": D(51000)}, CFG)
    assert fill.price == D(51000) and after.positions["BTC"].side is PositionSide.SHORT


def test_a_crossing_gtc_order_trades_at_once_as_a_taker_never_worse_than_its_limit() -> None:
    done = place_limit_order(START, _buy(), D(50010), TimeInForce.GTC, D(50000), CFG)
    assert done.status is OrderStatus.FILLED and done.fill is not None
    assert done.fill.price == D(50010)  # the mark + 5 bps slippage (50025) capped at the limit
    assert done.fill.fee == D("2.250450")  # taker
    assert done.account.orders == {}


def test_ioc_fills_at_once_if_it_crosses_else_is_cancelled() -> None:
    filled = place_limit_order(START, _buy(), D(50100), TimeInForce.IOC, D(50000), CFG)
    assert filled.status is OrderStatus.FILLED
    missed = place_limit_order(START, _buy(), D(49000), TimeInForce.IOC, D(50000), CFG)
    assert missed.status is OrderStatus.CANCELLED and missed.account is START


def test_post_only_that_would_cross_is_rejected_and_one_that_does_not_rests() -> None:
    refused = place_limit_order(START, _buy(), D(50100), TimeInForce.POST_ONLY, D(50000), CFG)
    assert refused.status is OrderStatus.REJECTED and refused.account is START
    assert (refused.reject_reason or "").startswith(POST_ONLY_WOULD_CROSS)
    rests = place_limit_order(START, _buy(), D(49000), TimeInForce.POST_ONLY, D(50000), CFG)
    assert rests.status is OrderStatus.SUBMITTED


def test_a_resting_order_needing_more_margin_than_available_is_refused() -> None:
    done = place_limit_order(START, _buy("1"), D(49000), TimeInForce.GTC, D(50000), CFG)
    assert done.status is OrderStatus.REJECTED and done.reject_reason == "INSUFFICIENT_MARGIN"


def test_cancel_releases_the_reservation() -> None:
    acct = _gtc_buy_at("49000")
    after = cancel_resting(acct, "ho-1-1-entry")
    assert after is not None and after.orders == {} and after.used_margin() == 0
    assert cancel_resting(after, "ho-1-1-entry") is None


def test_a_reduce_only_order_whose_position_is_gone_is_dropped_when_reached() -> None:
    opened = paper.execute_market_order(START, _buy(coid="ho-1-1-entry"), D(50000), CFG).account
    sell = paper.PaperOrder(
        "ho-1-2-close", "BTC", Side.SELL, size=D("0.1"), reduce_only=True, leverage=D(2)
    )
    rested = place_limit_order(opened, sell, D(52000), TimeInForce.GTC, D(50000), CFG).account
    flat = paper.execute_market_order(
        rested,
        paper.PaperOrder("ho-1-3-close", "BTC", Side.SELL, reduce_only=True),
        D(50000),
        CFG,
    ).account
    after, fills, dropped = fill_resting(flat, {"BTC": D(52000)}, CFG)
    assert fills == [] and dropped == {"ho-1-2-close": "NO_POSITION_TO_REDUCE"}
    assert after.orders == {}


def test_the_resting_book_survives_serialisation_and_old_accounts_still_load() -> None:
    acct = _gtc_buy_at("49000")
    assert paper.account_from_dict(paper.account_to_dict(acct)) == acct
    assert "orders" not in paper.account_to_dict(START)  # stored as it always was
    assert paper.account_from_dict(paper.account_to_dict(START)) == START
