"""Round trips: a position from the fill that opened it to the fill that left it flat.

Pure: one symbol's fills in (oldest first), the round trips they close out. A round trip's
fills are every fill from the opening one to the one that left the position flat: adds and
partial closes are fills of the same round trip. A fill that more than closes the position (a
flip, long to short in one fill) closes one round trip and opens the next with the rest of its
size; its fee is shared by size, its realised PnL belongs to the close.

Amounts: `size` is the total size opened (which, once flat, is the total size closed), entry
and exit prices are averages weighted by size, `notional` is the size opened at its entry
prices. `gross_pnl` is the sum of the fills' realised PnL as the venue (or the paper engine)
reported it, `net_pnl` that minus the fees of every fill and the funding paid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from domain.exchange_rules import binance_client_order_id, hyperliquid_cloid
from domain.ids import OrderLeg, decision_id, parse_client_order_id, protective_kind
from domain.vocabulary import PositionSide, Side

ZERO = Decimal(0)
Q10 = Decimal("1E-10")  # the scale of the money columns

# The trigger key of a decision the owner asked for (workflows/trader.py close_positions: a
# close one / close all / kill switch, a close before deleting the trader), and of a circuit
# breaker's close (workflows/trader_breakers.py); every other decision is the strategy's.
OWNER_CLOSE_KEY_PREFIX = "close-"
BREAKER_CLOSE_KEY_PREFIX = "breaker-"


# Why a round trip ended: the fill that left the position flat.
class ExitReason(StrEnum):
    DECISION = "decision"  # an order of a strategy's decision
    TAKE_PROFIT = "take_profit"  # the position's take-profit trigger
    STOP_LOSS = "stop_loss"  # the position's stop-loss trigger
    LIQUIDATION = "liquidation"  # the venue liquidated it
    MANUAL_CLOSE = "manual_close"  # the owner closed it (e.g. deleting the trader)
    CIRCUIT_BREAKER = "circuit_breaker"  # a tripped breaker closed it (breaker_closes_positions)
    RECONCILIATION = "reconciliation"  # a fill learnt from the venue that no order of ours made


# trades.trigger (domain/paper.py check_triggers) -> the exit it is
_TRIGGERS = {
    ExitReason.TAKE_PROFIT.value: ExitReason.TAKE_PROFIT,
    ExitReason.STOP_LOSS.value: ExitReason.STOP_LOSS,
    ExitReason.LIQUIDATION.value: ExitReason.LIQUIDATION,
}
_PROTECTIVE = {"tp": ExitReason.TAKE_PROFIT, "sl": ExitReason.STOP_LOSS}
_DECIDED = (ExitReason.DECISION, ExitReason.MANUAL_CLOSE, ExitReason.CIRCUIT_BREAKER)


def is_owner_close(trigger_key: str | None) -> bool:
    """Whether a decision with this trigger key carried out the owner's close."""
    return trigger_key is not None and trigger_key.startswith(OWNER_CLOSE_KEY_PREFIX)


def decided_exit(trigger_key: str | None) -> ExitReason:
    """The exit a close order of the decision with this trigger key makes: the owner's, a
    circuit breaker's, or else the strategy's."""
    if is_owner_close(trigger_key):
        return ExitReason.MANUAL_CLOSE
    if trigger_key is not None and trigger_key.startswith(BREAKER_CLOSE_KEY_PREFIX):
        return ExitReason.CIRCUIT_BREAKER
    return ExitReason.DECISION


def q(x: Decimal) -> Decimal:
    return x.quantize(Q10, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class OrderFacts:
    """What the platform recorded of one of its orders: the decision that placed it."""

    decision_id: str
    leverage: Decimal | None = None
    owner_close: bool = False  # that decision carried out the owner's close
    breaker_close: bool = False  # that decision carried out a circuit breaker's close


@dataclass(frozen=True)
class TripFill:
    """One recorded fill (a `trades` row), with the order of ours it filled, if any."""

    row: int  # trades.id: orders the fills
    side: Side
    size: Decimal
    price: Decimal
    fee: Decimal
    realized_pnl: Decimal
    at: datetime
    trigger: str | None = None  # trades.trigger: take_profit | stop_loss | liquidation
    order_id: str | None = None  # our client order id (see `our_order_id`)
    order: OrderFacts | None = None

    @property
    def decision_id(self) -> str | None:
        """The decision whose order this fill is (none for a trigger or a venue's own fill)."""
        if self.trigger is not None or self.order_id is None:
            return None
        if self.order is not None:
            return self.order.decision_id
        ref = parse_client_order_id(self.order_id)
        return decision_id(ref.account_id, ref.seq)

    @property
    def exit_reason(self) -> ExitReason:
        """What ended a round trip if this fill is the one that left it flat."""
        if self.trigger is not None:
            return _TRIGGERS.get(self.trigger, ExitReason.RECONCILIATION)
        kind = protective_kind(self.order_id or "")
        if kind is not None:
            return _PROTECTIVE[kind]
        if self.order_id is None:
            return ExitReason.RECONCILIATION
        if self.order is not None and self.order.owner_close:
            return ExitReason.MANUAL_CLOSE
        if self.order is not None and self.order.breaker_close:
            return ExitReason.CIRCUIT_BREAKER
        return ExitReason.DECISION

    @property
    def closes_only(self) -> bool:
        """A fill that can only reduce a position (a trigger, a close order): with nothing
        open (history that starts mid-position) it opens nothing."""
        if self.trigger is not None:
            return True
        if self.order_id is None:
            return False
        ref = parse_client_order_id(self.order_id)
        return ref.protective is not None or ref.leg is OrderLeg.CLOSE


@dataclass(frozen=True)
class RoundTrip:
    side: PositionSide
    opened_at: datetime
    closed_at: datetime
    entry_price: Decimal
    exit_price: Decimal
    size: Decimal
    notional: Decimal
    leverage: Decimal | None
    fees: Decimal
    funding: Decimal
    gross_pnl: Decimal
    net_pnl: Decimal
    exit_reason: ExitReason
    entry_decision_id: str | None
    exit_decision_id: str | None
    first_fill_row: int  # the fill that opened it
    last_fill_row: int  # the fill that left it flat
    fill_count: int


@dataclass(frozen=True)
class _Part:
    """A fill, or the share of a flipping fill that belongs to one round trip."""

    fill: TripFill
    size: Decimal
    fee: Decimal
    realized_pnl: Decimal


@dataclass
class _Open:
    side: PositionSide
    entries: list[_Part] = field(default_factory=list)
    exits: list[_Part] = field(default_factory=list)

    @property
    def size(self) -> Decimal:
        return sum((p.size for p in self.entries), ZERO) - sum((p.size for p in self.exits), ZERO)

    def closed(self) -> RoundTrip:
        parts = self.entries + self.exits
        opened = sum((p.size for p in self.entries), ZERO)
        notional = sum((p.size * p.fill.price for p in self.entries), ZERO)
        closed_value = sum((p.size * p.fill.price for p in self.exits), ZERO)
        fees = sum((p.fee for p in parts), ZERO)
        gross = sum((p.realized_pnl for p in parts), ZERO)
        funding = ZERO  # the payments recorded in its span are added by db/round_trips.py
        leverages = [p.fill.order.leverage for p in self.entries if p.fill.order is not None]
        known = [x for x in leverages if x is not None]
        last = self.exits[-1].fill
        reason = last.exit_reason
        return RoundTrip(
            side=self.side,
            opened_at=self.entries[0].fill.at,
            closed_at=last.at,
            entry_price=q(notional / opened),
            exit_price=q(closed_value / opened),
            size=opened,
            notional=q(notional),
            leverage=known[-1] if known else None,  # as the last add set it
            fees=fees,
            funding=funding,
            gross_pnl=gross,
            net_pnl=gross - fees - funding,
            exit_reason=reason,
            entry_decision_id=self.entries[0].fill.decision_id,
            # A trigger's fill belongs to no decision, even where the venue's TP/SL order was
            # placed with the entry (and so carries the entry decision's id).
            exit_decision_id=last.decision_id if reason in _DECIDED else None,
            first_fill_row=self.entries[0].fill.row,
            last_fill_row=last.row,
            fill_count=len({p.fill.row for p in parts}),
        )


def _share(fee: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    return q(fee * part / whole)


def replay(fills: Sequence[TripFill], first_entry: Decimal | None = None) -> list[RoundTrip]:
    """The round trips `fills` (one symbol, oldest first, starting flat) close.

    `first_entry`: only this much of the first fill opens a position (the rest of it closed an
    earlier round trip: a flip); see `reopened_size`.
    """
    trips: list[RoundTrip] = []
    pos: _Open | None = None
    for i, fill in enumerate(fills):
        part = _Part(fill, fill.size, fill.fee, fill.realized_pnl)
        if i == 0 and first_entry is not None and first_entry < fill.size:
            if first_entry <= 0:
                continue
            fee = fill.fee - _share(fill.fee, fill.size - first_entry, fill.size)
            part = _Part(fill, first_entry, fee, ZERO)
        if part.size <= 0:
            continue
        if pos is None:
            if fill.closes_only:
                continue  # closes a position opened before the recorded history
            pos = _Open(fill.side.opens, [part])
            continue
        if fill.side == pos.side.entry_side:
            pos.entries.append(part)
            continue
        held = pos.size
        if part.size <= held:
            pos.exits.append(part)
            rest = None
        else:  # a flip: the close takes its share of the fee and all the realised PnL
            closing_fee = _share(part.fee, held, part.size)
            pos.exits.append(_Part(fill, held, closing_fee, part.realized_pnl))
            rest = _Part(fill, part.size - held, part.fee - closing_fee, ZERO)
        if pos.size == 0:
            trips.append(pos.closed())
            pos = None
        if rest is not None and not fill.closes_only:
            pos = _Open(fill.side.opens, [rest])
    return trips


def reopened_size(side: PositionSide, size: Decimal, later: Iterable[TripFill]) -> Decimal:
    """How much of a recorded round trip's first fill opened it: its size less the adds
    (`later`: its fills after the first, through the one that left it flat). Less than that
    fill's size only when the fill was a flip."""
    adds = sum((f.size for f in later if f.side == side.entry_side), ZERO)
    return size - adds


def venue_ids(order_ids: Iterable[str]) -> dict[str, str]:
    """Each of our client order ids as a venue may report it back (Hyperliquid's cloid, a
    Binance client id) -> our id."""
    found: dict[str, str] = {}
    for ours in order_ids:
        found[hyperliquid_cloid(ours)] = ours
        found[binance_client_order_id(ours)] = ours
    return found


def our_order_id(reported: str | None, known: Mapping[str, str]) -> str | None:
    """Our client order id for the id a fill reports (ours as it is, or a venue's form of it
    found in `known`, see `venue_ids`); None for a fill of no order of ours."""
    if reported is None:
        return None
    try:
        parse_client_order_id(reported)
    except ValueError:
        return known.get(reported)
    return reported
