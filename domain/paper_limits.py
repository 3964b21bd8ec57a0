"""Limit orders on the pure paper account (domain/paper.py): placed, filled as marks cross them,
cancelled. Pure like the rest of the paper engine: functions return a new PaperAccount.

A limit order that crosses the mark when placed trades at once as a taker (at the mark with
slippage, never worse than its limit): GTC and IOC fill, post-only is refused. One that does
not cross rests (GTC, post-only) with its margin and maker fee reserved, or is cancelled (IOC).
A resting order fills at its limit price with the maker fee once a mark reaches it (buy: mark
<= limit; sell: mark >= limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from domain.orders import OrderStatus, TimeInForce
from domain.paper import (
    ZERO,
    PaperAccount,
    PaperConfig,
    PaperFill,
    PaperOrder,
    RejectReason,
    RestingOrder,
    execute_at,
    execute_market_order,
    q_price,
    q_size,
)
from domain.vocabulary import Side

POST_ONLY_WOULD_CROSS = "POST_ONLY_WOULD_CROSS"


@dataclass(frozen=True)
class LimitResult:
    account: PaperAccount  # the unchanged input unless it filled or rests
    status: OrderStatus  # filled | submitted (resting) | cancelled (IOC) | rejected
    fill: PaperFill | None = None
    reject_reason: str | None = None


def crosses(side: Side, limit: Decimal, mark: Decimal) -> bool:
    """A buy trades once the mark is at or below its limit, a sell at or above."""
    return mark <= limit if side is Side.BUY else mark >= limit


def _rejected(account: PaperAccount, reason: str) -> LimitResult:
    return LimitResult(account, OrderStatus.REJECTED, reject_reason=reason)


def place_limit_order(
    account: PaperAccount,
    order: PaperOrder,
    limit: Decimal,
    tif: TimeInForce,
    mark: Decimal,
    cfg: PaperConfig = PaperConfig(),
    marks: Mapping[str, Decimal] | None = None,
) -> LimitResult:
    if not limit.is_finite() or limit <= 0:
        return _rejected(account, RejectReason.INVALID_PRICE)
    if not mark.is_finite() or mark <= 0:
        return _rejected(account, RejectReason.INVALID_PRICE)
    if crosses(order.side, limit, mark):
        if tif is TimeInForce.POST_ONLY:
            return _rejected(
                account, f"{POST_ONLY_WOULD_CROSS}: a {order.side.value} at {limit} would "
                f"trade at once against the mark {mark}",
            )  # fmt: skip
        done = execute_market_order(account, order, mark, cfg, marks, limit=limit)
        if done.fill is None:
            return _rejected(account, str(done.reject_reason))
        return LimitResult(done.account, OrderStatus.FILLED, done.fill)
    if tif is TimeInForce.IOC:
        return LimitResult(account, OrderStatus.CANCELLED)
    return _rest(account, order, limit, mark, cfg, marks)


def _rest(
    account: PaperAccount,
    order: PaperOrder,
    limit: Decimal,
    mark: Decimal,
    cfg: PaperConfig,
    marks: Mapping[str, Decimal] | None,
) -> LimitResult:
    if not order.leverage.is_finite() or order.leverage <= 0:
        return _rejected(account, RejectReason.INVALID_LEVERAGE)
    if order.size is not None and order.size_usd is None:
        size = q_size(order.size)
    elif order.size_usd is not None and order.size is None:
        size = q_size(order.size_usd / limit)
    else:
        return _rejected(account, RejectReason.INVALID_SIZE)
    if not size.is_finite() or size <= 0:
        return _rejected(account, RejectReason.INVALID_SIZE)
    pos = account.positions.get(order.symbol)
    reserved = ZERO
    if order.reduce_only:
        if pos is None or pos.side == order.side.opens:
            return _rejected(account, RejectReason.NO_POSITION_TO_REDUCE)
    else:
        if pos is not None and pos.side != order.side.opens:
            return _rejected(account, RejectReason.POSITION_SIDE_CONFLICT)
        notional = size * limit
        reserved = q_price(notional / order.leverage + notional * cfg.maker_fee_bps / 10000)
        if reserved > account.available({**(marks or {}), order.symbol: mark}):
            return _rejected(account, RejectReason.INSUFFICIENT_MARGIN)
    resting = RestingOrder(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        size=size,
        limit_price=limit,
        leverage=order.leverage,
        reserved=reserved,
        reduce_only=order.reduce_only,
        take_profit_pct=order.take_profit_pct,
        stop_loss_pct=order.stop_loss_pct,
    )
    rested = replace(account, orders={**account.orders, order.client_order_id: resting})
    return LimitResult(rested, OrderStatus.SUBMITTED)


def fill_resting(
    account: PaperAccount, marks: Mapping[str, Decimal], cfg: PaperConfig = PaperConfig()
) -> tuple[PaperAccount, list[PaperFill], dict[str, str]]:
    """Fill every resting order a mark has reached, at its limit price with the maker fee.

    Returns the account, the fills (trade id `<client order id>-1`: the same state and marks
    give the same ids, so a retried step dedupes on them), and the orders that can no longer
    execute (e.g. a reduce-only order whose position was closed meanwhile), dropped from the
    book with the reason."""
    fills: list[PaperFill] = []
    dropped: dict[str, str] = {}
    for coid in sorted(account.orders):
        order, mark = account.orders[coid], marks.get(account.orders[coid].symbol)
        if mark is None or not mark.is_finite() or mark <= 0:
            continue
        if not crosses(order.side, order.limit_price, mark):
            continue
        released = replace(account, orders={c: o for c, o in account.orders.items() if c != coid})
        paper_order = PaperOrder(
            client_order_id=coid,
            symbol=order.symbol,
            side=order.side,
            size=order.size,
            reduce_only=order.reduce_only,
            leverage=order.leverage,
            take_profit_pct=order.take_profit_pct,
            stop_loss_pct=order.stop_loss_pct,
        )
        done = execute_at(
            released, paper_order, order.limit_price, mark, cfg, marks, cfg.maker_fee_bps
        )
        if done.fill is None:
            dropped[coid] = str(done.reject_reason)
            account = released
        else:
            fills.append(done.fill)
            account = done.account
    return account, fills, dropped


def cancel_resting(account: PaperAccount, client_order_id: str) -> PaperAccount | None:
    """The account without that resting order (its reservation released); None if it is not
    resting."""
    if client_order_id not in account.orders:
        return None
    kept = {c: o for c, o in account.orders.items() if c != client_order_id}
    return replace(account, orders=kept)
