"""The paper account over candles (the backtest's venue): TP/SL and liquidation triggers scanned
on one candle's OHLC or on a sequence of 1m candles, funding settlements, and a bar's equity low.
Pure like domain/paper.py; the backtest engine only orders the calls.

The trigger rules on one candle (O, H, L), per open position, in sorted symbol order:
- **Adverse extreme first** (L for a long, H for a short): liquidation (domain/paper_liquidation)
  and stop loss. When both are crossed, the level nearer the open fires (a long's higher one);
  at the same level, or a stop set beyond the liquidation price, liquidation wins.
  - A level the open is already beyond (a gap) fills at O, else at the level.
  - A stop fills with slippage against the position (a long sells lower) and the taker fee.
  - A liquidation fills without slippage, taker fee, its loss capped at the position's margin.
- **Then the favourable extreme**: take profit when H >= TP (long) or L <= TP (short), at the
  TP price even when O is beyond it (no improvement on a favourable gap: conservative), taker
  fee (trigger orders are market-on-trigger), no slippage.
- **Ambiguous**: when an adverse exit fires inside the range (not at a gap) and the TP was
  crossed too, the order of the two in the candle is unknown: the adverse exit wins and the fill
  is flagged `ambiguous`. With 1m candles for that candle the symbol is re-scanned on them
  (`intrabar: 1m`), where an ambiguous 1m candle again resolves against the position.
A trigger closes the whole position.

Funding: `charge_funding` settles one funding time. Settle a funding time **before** any fill at
the same timestamp: a position closed exactly then still pays (it was open at the settlement),
and one opened exactly then does not (`opened_at_ms >= at_ms` is skipped, so this holds even if a
caller orders them the other way round).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from domain.paper import (
    BPS,
    ZERO,
    PaperAccount,
    PaperConfig,
    PaperFill,
    PaperPosition,
    _close,
    position_token,
    q_price,
)
from domain.paper_liquidation import LIQUIDATION, liquidate, liquidation_price
from domain.vocabulary import PositionSide

STOP_LOSS = "stop_loss"
TAKE_PROFIT = "take_profit"
_TOKEN = {LIQUIDATION: "liq", STOP_LOSS: "sl", TAKE_PROFIT: "tp"}


@dataclass(frozen=True)
class Bar:
    """One candle's prices; `at_ms` (its open time) orders a sequence of 1m candles."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    at_ms: int = 0


@dataclass(frozen=True)
class BarFill:
    """A trigger's fill with what a backtest reports about it."""

    fill: PaperFill  # fill.is_liquidation_or_trigger: liquidation | stop_loss | take_profit
    reference: Decimal  # the price before slippage (the level, or O on a gap)
    gap: bool = False  # the open was already beyond the level
    ambiguous: bool = False  # TP also crossed in the candle: resolved against the position
    liquidation_shortfall: Decimal = ZERO  # loss beyond the margin (liquidations only)
    funding: Decimal = ZERO  # the closed position's funding total (its round trip's funding)

    @property
    def reason(self) -> str:
        return self.fill.is_liquidation_or_trigger or ""


@dataclass(frozen=True)
class FundingCharge:
    symbol: str
    at_ms: int
    rate: Decimal
    mark: Decimal
    size: Decimal
    amount: Decimal  # paid by the position; negative when it received


def _beyond(pos: PaperPosition, price: Decimal, level: Decimal) -> bool:
    """`price` is at or past `level` on the position's losing side."""
    return price <= level if pos.side is PositionSide.LONG else price >= level


def _adverse(pos: PaperPosition, bar: Bar, cfg: PaperConfig) -> tuple[str, Decimal] | None:
    """The adverse exit the candle fires, if any: (kind, level)."""
    extreme = bar.low if pos.side is PositionSide.LONG else bar.high
    liq = liquidation_price(pos, cfg)
    crossed: list[tuple[str, Decimal]] = []
    if liq > 0 and _beyond(pos, extreme, liq):
        crossed.append((LIQUIDATION, liq))
    sl = pos.stop_loss_price
    if sl is not None and _beyond(pos, extreme, sl):
        crossed.append((STOP_LOSS, sl))
    if not crossed:
        return None
    # nearer the open = the one the price passes first; a tie keeps liquidation (listed first)
    if pos.side is PositionSide.LONG:
        return max(crossed, key=lambda c: c[1])
    return min(crossed, key=lambda c: c[1])


def _tp_crossed(pos: PaperPosition, bar: Bar) -> bool:
    tp = pos.take_profit_price
    if tp is None:
        return False
    return bar.high >= tp if pos.side is PositionSide.LONG else bar.low <= tp


def _trigger_one(
    account: PaperAccount, symbol: str, bar: Bar, cfg: PaperConfig
) -> tuple[PaperAccount, BarFill | None]:
    pos = account.positions[symbol]
    tp_hit = _tp_crossed(pos, bar)
    adverse = _adverse(pos, bar, cfg)
    if adverse is None and not tp_hit:
        return account, None
    if adverse is None:
        kind, reference, gap, ambiguous = TAKE_PROFIT, pos.take_profit_price, False, False
    else:
        kind, level = adverse
        gap = _beyond(pos, bar.open, level)
        reference, ambiguous = (bar.open if gap else level), tp_hit and not gap
    assert reference is not None  # a TP fill has a TP price
    tid = f"{symbol}-{_TOKEN[kind]}-{position_token(pos)}"
    shortfall = ZERO
    if kind == LIQUIDATION:
        account, fill, shortfall = liquidate(account, symbol, reference, cfg, tid)
    else:
        price = reference
        if kind == STOP_LOSS:  # against the position: a long's stop sells lower
            price = q_price(reference * (1 - pos.side.sign * cfg.slippage_bps / BPS))
        account, fill = _close(account, pos, pos.size, price, cfg, tid, tid, kind)
    return account, BarFill(fill, reference, gap, ambiguous, shortfall, pos.funding)


def check_triggers_bar(
    account: PaperAccount,
    ohlc_by_symbol: Mapping[str, Bar],
    cfg: PaperConfig = PaperConfig(),
    minutes_by_symbol: Mapping[str, Sequence[Bar]] | None = None,
) -> tuple[PaperAccount, list[BarFill]]:
    """Fire the triggers one candle per symbol crosses (rules in the module docstring).

    `minutes_by_symbol`: the 1m candles inside that candle, per symbol; a symbol whose candle is
    ambiguous is re-scanned on them (`intrabar: auto`), and keeps the candle's pessimistic fill
    if they fire nothing (incomplete 1m data)."""
    fills: list[BarFill] = []
    for symbol in sorted(account.positions):
        bar = ohlc_by_symbol.get(symbol)
        if bar is None:
            continue
        after, fill = _trigger_one(account, symbol, bar, cfg)
        minutes = (minutes_by_symbol or {}).get(symbol)
        if fill is not None and fill.ambiguous and minutes:
            rescanned, minute_fills = check_triggers_path(account, {symbol: minutes}, cfg)
            if minute_fills:
                after, fill = rescanned, minute_fills[0]
        account = after
        if fill is not None:
            fills.append(fill)
    return account, fills


def check_triggers_path(
    account: PaperAccount,
    candles_by_symbol: Mapping[str, Sequence[Bar]],
    cfg: PaperConfig = PaperConfig(),
) -> tuple[PaperAccount, list[BarFill]]:
    """The same rules walked over a sequence of (1m) candles per symbol, in open-time order
    (`Bar.at_ms`), symbols in sorted order at each time."""
    by_time: dict[int, dict[str, Bar]] = {}
    for symbol, candles in candles_by_symbol.items():
        for candle in candles:
            by_time.setdefault(candle.at_ms, {})[symbol] = candle
    fills: list[BarFill] = []
    for at in sorted(by_time):
        account, fired = check_triggers_bar(account, by_time[at], cfg)
        fills += fired
    return account, fills


def equity_low(account: PaperAccount, ohlc_by_symbol: Mapping[str, Bar]) -> Decimal:
    """Cash plus every open position marked at its candle's adverse extreme (L for a long, H for
    a short; a symbol without a candle at its entry price): the bar's lowest equity for the
    intra-bar drawdown. Call it after the bar's triggers: a position they closed is in cash at
    its fill, one that survived was never beyond its stop or liquidation price."""
    low = account.cash
    for symbol, pos in account.positions.items():
        bar = ohlc_by_symbol.get(symbol)
        if bar is None:
            low += pos.unrealized_pnl(pos.entry_price)
        else:
            low += pos.unrealized_pnl(bar.low if pos.side is PositionSide.LONG else bar.high)
    return low


def charge_funding(
    account: PaperAccount, symbol: str, rate: Decimal, mark: Decimal, at_ms: int
) -> tuple[PaperAccount, FundingCharge | None]:
    """Settle the funding `rate` (a fraction per period) at `at_ms`, marked at `mark`: the open
    position in `symbol` pays `size x mark x rate` (a long pays when the rate is positive, a
    short receives), taken from cash and added to `funding_paid` and to the position's
    `funding` (its round trip's funding). No position, or one opened at or after `at_ms`: no
    charge (see the module docstring for the timing rule)."""
    if not rate.is_finite() or not mark.is_finite() or mark <= 0:
        raise ValueError(f"funding needs a finite rate and a positive mark: {rate}, {mark}")
    pos = account.positions.get(symbol)
    if pos is None or (pos.opened_at_ms is not None and pos.opened_at_ms >= at_ms):
        return account, None
    amount = q_price(pos.side.sign * pos.size * mark * rate)
    charged = replace(pos, funding=pos.funding + amount)
    new = replace(
        account,
        cash=account.cash - amount,
        funding_paid=account.funding_paid + amount,
        positions={**account.positions, symbol: charged},
    )
    return new, FundingCharge(symbol, at_ms, rate, mark, pos.size, amount)
