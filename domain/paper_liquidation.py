"""Liquidation of the pure paper account's positions (isolated margin), shared by the live paper
exchange (`check_marks`) and the backtest's bar scan (domain/paper_bars.py).

The rule, Hyperliquid's for isolated margin: a position is liquidated when its own equity (its
margin plus its unrealised PnL) falls to the maintenance margin, `mmr x size x price`, where the
maintenance margin rate `mmr` is the symbol's entry in `PaperConfig.maintenance_margin_rates`,
else `1 / (2 x PaperConfig.max_leverage)` (half the initial margin at the max leverage: 50x ->
1 %). Solving `size x entry / leverage + (price - entry) x size x sign = mmr x size x price`:

    long:  price = entry x (1 - 1/leverage) / (1 - mmr)
    short: price = entry x (1 + 1/leverage) / (1 + mmr)

never beyond the entry (a leverage at or above 1/mmr is liquidated by any adverse move).

A liquidation closes the whole position at the given price with the taker fee, exit reason
`liquidation`. Its loss is capped at the position's margin: a fill beyond the bankruptcy price
(a gap) books a realised PnL of minus the margin, and the excess loss goes to
`liquidation_shortfall` (the venue's insurance fund takes it; the account's cash never pays it).
So the account loses at most the margin plus the fees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from domain.paper import (
    ZERO,
    PaperAccount,
    PaperConfig,
    PaperFill,
    PaperPosition,
    _close,
    check_triggers,
    position_token,
    q_price,
)
from domain.vocabulary import PositionSide

LIQUIDATION = "liquidation"


def maintenance_margin_rate(symbol: str, cfg: PaperConfig) -> Decimal:
    for name, rate in cfg.maintenance_margin_rates:
        if name == symbol:
            return rate
    return 1 / (2 * cfg.max_leverage)


def liquidation_price(pos: PaperPosition, cfg: PaperConfig) -> Decimal:
    """The price at which `pos` is liquidated (rounded half-even to 8 decimals; 0 for a 1x long,
    which no positive price liquidates)."""
    mmr = maintenance_margin_rate(pos.symbol, cfg)
    inv = 1 / pos.leverage
    if pos.side is PositionSide.LONG:
        return q_price(min(pos.entry_price, max(ZERO, pos.entry_price * (1 - inv) / (1 - mmr))))
    return q_price(max(pos.entry_price, pos.entry_price * (1 + inv) / (1 + mmr)))


def liquidation_crossed(pos: PaperPosition, price: Decimal, cfg: PaperConfig) -> bool:
    liq = liquidation_price(pos, cfg)
    if pos.side is PositionSide.LONG:
        return liq > 0 and price <= liq
    return price >= liq


def liquidate(
    account: PaperAccount, symbol: str, price: Decimal, cfg: PaperConfig, trade_id: str
) -> tuple[PaperAccount, PaperFill, Decimal]:
    """Close the whole position in `symbol` at `price` (taker fee), its loss capped at its
    margin. Returns the account, the fill (realised PnL after the cap) and the shortfall."""
    pos = account.positions[symbol]
    new, fill = _close(account, pos, pos.size, price, cfg, trade_id, trade_id, LIQUIDATION)
    floor = -pos.margin
    if fill.realized_pnl >= floor:
        return new, fill, ZERO
    shortfall = floor - fill.realized_pnl
    new = replace(
        new,
        cash=new.cash + shortfall,
        realized_pnl=new.realized_pnl + shortfall,
        liquidation_shortfall=new.liquidation_shortfall + shortfall,
    )
    return new, replace(fill, realized_pnl=floor), shortfall


def liquidation_trade_id(pos: PaperPosition) -> str:
    """Same position state -> same id, like a TP/SL fill's (a retried step dedupes on it)."""
    return f"{pos.symbol}-liq-{position_token(pos)}"


def check_marks(
    account: PaperAccount, marks: Mapping[str, Decimal], cfg: PaperConfig = PaperConfig()
) -> tuple[PaperAccount, list[PaperFill]]:
    """The live paper exchange's check on marks: liquidations, then TP/SL (`check_triggers`).

    A mark at or beyond a position's liquidation price liquidates it at the liquidation price
    (like a TP/SL, which fills at its trigger price) unless its stop loss is crossed too and lies
    nearer the entry (the price passed the stop first: the stop fills, as before)."""
    fills: list[PaperFill] = []
    for symbol in sorted(account.positions):
        pos, mark = account.positions[symbol], marks.get(symbol)
        if mark is None or not mark.is_finite() or mark <= 0:
            continue
        if not liquidation_crossed(pos, mark, cfg):
            continue
        sl, liq = pos.stop_loss_price, liquidation_price(pos, cfg)
        up = pos.side is PositionSide.LONG
        if sl is not None and (sl > liq if up else sl < liq):
            continue  # the stop, nearer, fires first (check_triggers below)
        account, fill, _ = liquidate(account, symbol, liq, cfg, liquidation_trade_id(pos))
        fills.append(fill)
    account, triggered = check_triggers(account, marks, cfg)
    return account, sorted(fills + triggered, key=lambda f: f.symbol)
