"""Pure perpetual-futures paper account: market orders, TP/SL triggers, serialisation.
Limit orders (resting, IOC, post-only) are in domain/paper_limits.py; liquidation in
domain/paper_liquidation.py; funding and the bar-aware triggers (backtests) in
domain/paper_bars.py.

Functions never mutate their inputs; they return a new PaperAccount. Money is Decimal.
Cash is collateral: opening a position does not move cash, fees and realised PnL do.
Base sizes are rounded down to 8 decimals, prices/fees/PnL rounded half-even to 8 decimals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from domain.vocabulary import PositionSide, Side

Q8 = Decimal("0.00000001")
BPS = Decimal(10000)
ZERO = Decimal(0)


class RejectReason(StrEnum):
    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"
    NO_POSITION_TO_REDUCE = "NO_POSITION_TO_REDUCE"
    INVALID_SIZE = "INVALID_SIZE"
    POSITION_SIDE_CONFLICT = "POSITION_SIDE_CONFLICT"
    INVALID_LEVERAGE = "INVALID_LEVERAGE"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_TP_SL = "INVALID_TP_SL"


def q_size(x: Decimal) -> Decimal:
    return x.quantize(Q8, rounding=ROUND_DOWN)


def q_price(x: Decimal) -> Decimal:
    return x.quantize(Q8, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class PaperConfig:
    taker_fee_bps: Decimal = Decimal("4.5")
    slippage_bps: Decimal = Decimal("5")
    maker_fee_bps: Decimal = Decimal("1.5")  # a resting limit order's fill
    # Liquidation (domain/paper_liquidation.py): a symbol's maintenance margin rate is its entry
    # in maintenance_margin_rates, else 1 / (2 * max_leverage), Hyperliquid's rule (half the
    # initial margin at the venue's max leverage; 50x -> 1 %).
    max_leverage: Decimal = Decimal(50)
    maintenance_margin_rates: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True)
class PaperPosition:
    symbol: str
    side: PositionSide
    size: Decimal
    entry_price: Decimal
    leverage: Decimal
    take_profit_price: Decimal | None = None
    stop_loss_price: Decimal | None = None
    last_trade_id: str | None = None  # fill that last changed this position (trigger-id token)
    funding: Decimal = ZERO  # funding paid while open (negative: received); domain/paper_bars.py
    opened_at_ms: int | None = None  # when it opened, if the caller said (funding timing)

    def __post_init__(self) -> None:
        # Stored accounts give the side as its text: the member it names (a bad one raises).
        object.__setattr__(self, "side", PositionSide(self.side))

    def notional(self, mark: Decimal) -> Decimal:
        return self.size * mark

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        diff = mark - self.entry_price
        return q_price(diff * self.size * self.side.sign)

    @property
    def margin(self) -> Decimal:
        return q_price(self.size * self.entry_price / self.leverage)


@dataclass(frozen=True)
class RestingOrder:
    """A limit order on the paper book, by its client order id. `reserved`: the margin and
    maker fee it holds back from the available balance until it fills or is cancelled (none
    for a reduce-only order, which opens nothing)."""

    client_order_id: str
    symbol: str
    side: Side
    size: Decimal  # base units
    limit_price: Decimal
    leverage: Decimal
    reserved: Decimal
    reduce_only: bool = False
    take_profit_pct: Decimal | None = None
    stop_loss_pct: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", Side(self.side))


@dataclass(frozen=True)
class PaperAccount:
    cash: Decimal
    realized_pnl: Decimal = ZERO  # gross trading PnL; fees are tracked in fees_paid
    fees_paid: Decimal = ZERO
    positions: dict[str, PaperPosition] = field(default_factory=dict)
    orders: dict[str, RestingOrder] = field(default_factory=dict)  # resting limit orders
    funding_paid: Decimal = ZERO  # funding paid, negative when received (domain/paper_bars.py)
    # liquidation losses beyond a position's margin, not charged to cash (paper_liquidation.py)
    liquidation_shortfall: Decimal = ZERO

    def equity(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Cash + unrealised PnL; a position without a mark is valued at its entry price."""
        upnl = sum(
            (p.unrealized_pnl(marks.get(s, p.entry_price)) for s, p in self.positions.items()),
            ZERO,
        )
        return self.cash + upnl

    def used_margin(self) -> Decimal:
        held = sum((p.margin for p in self.positions.values()), ZERO)
        return held + sum((o.reserved for o in self.orders.values()), ZERO)

    def available(self, marks: Mapping[str, Decimal]) -> Decimal:
        return max(ZERO, self.equity(marks) - self.used_margin())


@dataclass(frozen=True)
class PaperOrder:
    """A market order. Give exactly one of size_usd / size (base units); with reduce_only,
    giving neither means "close the whole position". Percents are plain (5 = 5 %)."""

    client_order_id: str
    symbol: str
    side: Side
    size_usd: Decimal | None = None
    size: Decimal | None = None
    reduce_only: bool = False
    leverage: Decimal = Decimal(1)
    take_profit_pct: Decimal | None = None
    stop_loss_pct: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", Side(self.side))


@dataclass(frozen=True)
class PaperFill:
    trade_id: str
    client_order_id: str
    symbol: str
    side: Side
    size: Decimal
    price: Decimal
    fee: Decimal
    realized_pnl: Decimal  # gross, before the fee
    is_liquidation_or_trigger: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", Side(self.side))


@dataclass(frozen=True)
class ExecutionResult:
    account: PaperAccount  # new state when filled, the unchanged input when rejected
    fill: PaperFill | None = None
    reject_reason: RejectReason | None = None

    @property
    def ok(self) -> bool:
        return self.fill is not None


def _fee(size: Decimal, price: Decimal, cfg: PaperConfig, bps: Decimal | None = None) -> Decimal:
    return q_price(size * price * (cfg.taker_fee_bps if bps is None else bps) / BPS)


def _bad(x: Decimal | None) -> bool:
    return x is not None and (not x.is_finite() or x <= 0)


def _close(
    acct: PaperAccount,
    pos: PaperPosition,
    size: Decimal,
    price: Decimal,
    cfg: PaperConfig,
    trade_id: str,
    coid: str,
    trigger: str | None,
    fee_bps: Decimal | None = None,
) -> tuple[PaperAccount, PaperFill]:
    pnl = q_price((price - pos.entry_price) * size * pos.side.sign)
    fee = _fee(size, price, cfg, fee_bps)
    positions = dict(acct.positions)
    left = pos.size - size
    if left > 0:
        positions[pos.symbol] = replace(pos, size=left, last_trade_id=trade_id)
    else:
        del positions[pos.symbol]
    new = replace(
        acct,
        cash=acct.cash + pnl - fee,
        realized_pnl=acct.realized_pnl + pnl,
        fees_paid=acct.fees_paid + fee,
        positions=positions,
    )
    side = pos.side.exit_side
    return new, PaperFill(trade_id, coid, pos.symbol, side, size, price, fee, pnl, trigger)


def execute_market_order(
    account: PaperAccount,
    order: PaperOrder,
    mark: Decimal,
    cfg: PaperConfig = PaperConfig(),
    marks: Mapping[str, Decimal] | None = None,
    limit: Decimal | None = None,
    at_ms: int | None = None,
) -> ExecutionResult:
    """Fill `order` at mark ± slippage. `marks` (optional) values other positions for margin.
    `limit`: a crossing limit order's price, which the fill is never worse than. `at_ms`: the
    fill's time, kept as a new position's `opened_at_ms` (funding timing)."""

    def reject(reason: RejectReason) -> ExecutionResult:
        return ExecutionResult(account, None, reason)

    if not mark.is_finite() or mark <= 0:
        return reject(RejectReason.INVALID_PRICE)
    if not order.leverage.is_finite() or order.leverage <= 0:
        return reject(RejectReason.INVALID_LEVERAGE)
    both = order.size is not None and order.size_usd is not None
    neither = order.size is None and order.size_usd is None
    if both or _bad(order.size) or _bad(order.size_usd) or (neither and not order.reduce_only):
        return reject(RejectReason.INVALID_SIZE)
    if _bad(order.take_profit_pct) or _bad(order.stop_loss_pct):
        return reject(RejectReason.INVALID_TP_SL)
    slip = cfg.slippage_bps / BPS
    price = q_price(mark * (1 + slip if order.side is Side.BUY else 1 - slip))
    if limit is not None:
        price = min(price, limit) if order.side is Side.BUY else max(price, limit)
    return execute_at(account, order, price, mark, cfg, marks, at_ms=at_ms)


def execute_at(
    account: PaperAccount,
    order: PaperOrder,
    price: Decimal,
    mark: Decimal,
    cfg: PaperConfig,
    marks: Mapping[str, Decimal] | None = None,
    fee_bps: Decimal | None = None,
    at_ms: int | None = None,
) -> ExecutionResult:
    """Fill a validated `order` at `price` (the fee at `fee_bps`, default the taker fee);
    `mark` values its own symbol for the margin check."""

    def reject(reason: RejectReason) -> ExecutionResult:
        return ExecutionResult(account, None, reason)

    size = order.size if order.size_usd is None else order.size_usd / price
    size = q_size(size) if size is not None else None
    if size is not None and size <= 0:
        return reject(RejectReason.INVALID_SIZE)
    trade_id = f"{order.client_order_id}-1"
    pos = account.positions.get(order.symbol)
    order_dir = order.side.opens

    if order.reduce_only:
        if pos is None or pos.side == order_dir:
            return reject(RejectReason.NO_POSITION_TO_REDUCE)
        qty = pos.size if size is None else min(size, pos.size)
        coid = order.client_order_id
        new, fill = _close(account, pos, qty, price, cfg, trade_id, coid, None, fee_bps)
        return ExecutionResult(new, fill)

    if size is None:  # unreachable: size is only None for reduce_only orders
        return reject(RejectReason.INVALID_SIZE)
    if pos is not None and pos.side != order_dir:
        return reject(RejectReason.POSITION_SIDE_CONFLICT)
    fee = _fee(size, price, cfg, fee_bps)
    if pos is None:
        new_pos = PaperPosition(
            order.symbol, order_dir, size, price, order.leverage, opened_at_ms=at_ms
        )
    else:
        total = pos.size + size
        entry = q_price((pos.size * pos.entry_price + size * price) / total)
        new_pos = replace(pos, size=total, entry_price=entry, leverage=order.leverage)
    extra_margin = new_pos.margin - (pos.margin if pos is not None else ZERO)
    all_marks = {**(marks or {}), order.symbol: mark}
    if extra_margin + fee > account.available(all_marks):
        return reject(RejectReason.INSUFFICIENT_MARGIN)
    sign = order_dir.sign
    tp, sl = new_pos.take_profit_price, new_pos.stop_loss_price
    if order.take_profit_pct is not None:
        tp = q_price(price * (1 + sign * order.take_profit_pct / 100))
    if order.stop_loss_pct is not None:
        sl = q_price(price * (1 - sign * order.stop_loss_pct / 100))
    # a short's TP at >= 100 % (or a long's SL at >= 100 %) can never trigger: drop it
    tp, sl = (x if x is None or x > 0 else None for x in (tp, sl))
    new_pos = replace(new_pos, take_profit_price=tp, stop_loss_price=sl, last_trade_id=trade_id)
    positions = {**account.positions, order.symbol: new_pos}
    new = replace(
        account, cash=account.cash - fee, fees_paid=account.fees_paid + fee, positions=positions
    )
    fill = PaperFill(
        trade_id, order.client_order_id, order.symbol, order.side, size, price, fee, ZERO, None
    )
    return ExecutionResult(new, fill)


def position_token(pos: PaperPosition) -> str:
    """Deterministic id of a position's current state: the trade id of the fill that last
    changed it (unique per order), or a hash of its fields for hand-built positions."""
    if pos.last_trade_id:
        return pos.last_trade_id
    raw = f"{pos.symbol}|{pos.side}|{pos.size}|{pos.entry_price}|{pos.leverage}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def check_triggers(
    account: PaperAccount, marks: Mapping[str, Decimal], cfg: PaperConfig = PaperConfig()
) -> tuple[PaperAccount, list[PaperFill]]:
    """Close every position whose TP/SL was crossed, at the trigger price (fee, no slippage).

    trade_id = f"{symbol}-{tp|sl}-{position_token(pos)}": same state + marks -> same ids, so a
    retried activity reproduces the ids and storage dedupes on them. SL wins if both crossed.
    """
    fills: list[PaperFill] = []
    for symbol in sorted(account.positions):
        pos, mark = account.positions[symbol], marks.get(symbol)
        if mark is None or not mark.is_finite() or mark <= 0:
            continue
        up = pos.side is PositionSide.LONG
        tp, sl = pos.take_profit_price, pos.stop_loss_price
        if sl is not None and (mark <= sl if up else mark >= sl):
            kind, price = "sl", sl
        elif tp is not None and (mark >= tp if up else mark <= tp):
            kind, price = "tp", tp
        else:
            continue
        tid = f"{symbol}-{kind}-{position_token(pos)}"
        trigger = "take_profit" if kind == "tp" else "stop_loss"
        account, fill = _close(account, pos, pos.size, price, cfg, tid, tid, trigger)
        fills.append(fill)
    return account, fills


_POS_DECIMALS = ("size", "entry_price", "leverage", "take_profit_price", "stop_loss_price")
# Fields stored only when they differ from their default, so a live paper account (which never
# pays funding nor stamps open times) is stored exactly as before they existed.
_POS_OPTIONAL: dict[str, Any] = {"funding": "0", "opened_at_ms": None}
_ACCOUNT_OPTIONAL: dict[str, Any] = {"funding_paid": "0", "liquidation_shortfall": "0"}


def _without_defaults(d: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in defaults or v != defaults[k]}


def _plain(obj: Any) -> dict[str, Any]:
    """Dataclass -> dict with every Decimal and enum member as a string (None stays None)."""
    return {k: str(v) if isinstance(v, Decimal | StrEnum) else v for k, v in asdict(obj).items()}


def account_to_dict(account: PaperAccount) -> dict[str, Any]:
    d = _without_defaults(_plain(replace(account, positions={}, orders={})), _ACCOUNT_OPTIONAL)
    d["positions"] = {
        s: _without_defaults(_plain(p), _POS_OPTIONAL) for s, p in sorted(account.positions.items())
    }
    if account.orders:  # an account without resting orders is stored as it always was
        d["orders"] = {c: _plain(o) for c, o in sorted(account.orders.items())}
    else:
        del d["orders"]
    return d


_ORDER_DECIMALS = (
    "size", "limit_price", "leverage", "reserved", "take_profit_pct", "stop_loss_pct"
)  # fmt: skip


def _resting_from_dict(o: Mapping[str, Any]) -> RestingOrder:
    kw: dict[str, Any] = {k: o.get(k) for k in ("client_order_id", "symbol", "side")}
    kw["reduce_only"] = bool(o.get("reduce_only"))
    kw.update({k: None if o.get(k) is None else Decimal(o[k]) for k in _ORDER_DECIMALS})
    return RestingOrder(**kw)


def account_from_dict(d: Mapping[str, Any]) -> PaperAccount:
    positions = {}
    for s, p in d.get("positions", {}).items():
        kw = {k: p.get(k) for k in ("symbol", "side", "last_trade_id")}
        kw.update({k: None if p.get(k) is None else Decimal(p[k]) for k in _POS_DECIMALS})
        kw["funding"] = Decimal(p.get("funding", "0"))
        kw["opened_at_ms"] = None if p.get("opened_at_ms") is None else int(p["opened_at_ms"])
        positions[s] = PaperPosition(**kw)
    return PaperAccount(
        Decimal(d["cash"]),
        Decimal(d.get("realized_pnl", "0")),
        Decimal(d.get("fees_paid", "0")),
        positions,
        {c: _resting_from_dict(o) for c, o in d.get("orders", {}).items()},
        funding_paid=Decimal(d.get("funding_paid", "0")),
        liquidation_shortfall=Decimal(d.get("liquidation_shortfall", "0")),
    )


def fill_to_dict(fill: PaperFill) -> dict[str, Any]:
    return _plain(fill)


def fill_from_dict(d: Mapping[str, Any]) -> PaperFill:
    dec = ("size", "price", "fee", "realized_pnl")
    kw: dict[str, Any] = {k: Decimal(v) if k in dec else v for k, v in d.items()}
    return PaperFill(**kw)
