"""Order placement, written once for every live venue; each venue supplies small hooks.

``place`` runs these steps in this order (a venue adapter's ``place`` only calls it):

1. Look the client order id up first. An order the venue already has is returned, never sent
   again; a filled entry found this way still gets its missing TP/SL legs.
2. The instrument's rules, and for a reduce-only order the position it reduces.
3. Price and size. A limit order's price goes onto the venue's grid toward the passive side (a
   buy down, a sell up) or the order is refused with the rule's code. A base size
   (``size_base``) is taken as it is, a USD amount becomes a quantity at the limit price (a
   market order: at the mark); both are rounded down by the rules. A close is capped at the
   position, and a close without an amount closes all of it.
4. The venue's own pre-send checks (``refusal``), then leverage for entries: an integer (rounded
   down, never up), within the instrument's maximum, set at the venue. Leverage is set before
   the order, so a lost answer here is safe to retry whole.
5. Submit once. An answer lost after sending is ``OutcomeUnknown`` carrying our id, for the
   caller to settle by lookups, never by resending (``domain/profiles.py``, CONFIRM_ABSENT_*).
6. The fee of a fill, read back from the venue (best effort).
7. A filled entry gets its TP/SL legs, each looked up first (``ProtectiveOrderError`` names the
   missing leg; ``place`` again places only what is missing); a full close cancels the
   symbol's remaining triggers (best effort). A limit entry that rests gets none yet: its legs
   are placed once its fill is learnt (``LiveExchanges`` sync), never on a size not filled.

A limit order's outcome: resting -> SUBMITTED (with ``filled_size`` if partly filled already);
filled at once -> FILLED; IOC with nothing filled -> CANCELLED, partly filled -> FILLED with its
size; post-only that would cross -> REJECTED ``POST_ONLY_WOULD_CROSS: ...``.

A refusal that the venue's rules or the venue itself prove (too small, no position, leverage
refused, insufficient margin) is a REJECTED outcome, not an exception.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from adapters.exchanges.client import (
    ErrorCode,
    ExchangeError,
    LivePosition,
    OutcomeUnknown,
    ProtectiveOrderError,
)
from domain.exchange_rules import (
    InstrumentRules,
    SizeDeny,
    SizeResult,
    check_quantity,
    passive_limit_price,
    protective_trigger_price,
    quantity_for_notional,
)
from domain.ids import ProtectiveKind, protective_client_order_id
from domain.orders import OrderIntent, OrderOutcome, OrderStatus, OrderType, TimeInForce
from domain.vocabulary import Side

log = logging.getLogger(__name__)

# What the venue proves it refused: the order is REJECTED with the code, never retried.
_REFUSALS = (
    ErrorCode.INSUFFICIENT_MARGIN,
    ErrorCode.INVALID_ORDER,
    ErrorCode.POST_ONLY_WOULD_CROSS,
)


@dataclass(frozen=True)
class VenueOrder:
    """An order ready to send, sized by the instrument's rules: a market order priced off
    ``mark``, or a limit order at ``limit_price`` (already on the venue's grid)."""

    intent: OrderIntent
    rules: InstrumentRules
    quantity: Decimal
    mark: Decimal
    limit_price: Decimal | None = None  # None: a market order

    @property
    def is_buy(self) -> bool:
        return self.intent.side is Side.BUY

    @property
    def time_in_force(self) -> TimeInForce:
        """A limit order's; GTC when the intent names none."""
        return self.intent.time_in_force or TimeInForce.GTC


@dataclass(frozen=True)
class ProtectiveLeg:
    """A reduce-only trigger that closes a filled entry at ``trigger``."""

    intent: OrderIntent  # the entry's intent
    rules: InstrumentRules
    kind: ProtectiveKind
    client_order_id: str
    trigger: Decimal
    entry: OrderOutcome  # filled: its size and average price are known

    @property
    def is_buy(self) -> bool:
        return self.intent.side is not Side.BUY  # the opposite side of the entry


class VenueHooks(Protocol):
    """What one venue supplies to the algorithm. Every hook raises ``ExchangeError`` (classified)
    when the venue cannot be read or refuses in a way that is not a rejection of the order."""

    venue: str

    async def lookup(self, client_order_id: str, symbol: str | None = None) -> OrderOutcome | None:
        """The order by our id; None only when the venue proves it is absent."""
        ...

    async def rules(self, symbol: str) -> InstrumentRules: ...

    async def position(self, rules: InstrumentRules) -> LivePosition | None:
        """The open position in the instrument, if any."""
        ...

    def refusal(self, order: VenueOrder) -> str | None:
        """Why the venue's rules refuse ``order`` before anything is sent (None: they do not)."""
        ...

    async def set_leverage(self, rules: InstrumentRules, leverage: int) -> str | None:
        """Set the instrument's leverage; the venue's refusal text, or None when set."""
        ...

    async def submit(self, order: VenueOrder) -> OrderOutcome:
        """Send the order once and read the venue's answer."""
        ...

    async def fee(self, outcome: OrderOutcome) -> Decimal | None:
        """The fees of the order's fills (``exchange_order_id`` is set); None: none listed yet."""
        ...

    async def place_trigger(self, leg: ProtectiveLeg) -> None:
        """Send one TP/SL leg; raises unless the venue holds it."""
        ...

    async def cancel_triggers(self, rules: InstrumentRules) -> None:
        """Cancel the instrument's resting TP/SL orders."""
        ...

    async def cancel_resting(
        self, client_order_id: str, order: OrderOutcome, symbol: str | None
    ) -> bool:
        """Cancel a resting order (``order``: as a lookup just found it); True when cancelled."""
        ...


def decided(intent: OrderIntent, status: OrderStatus, reason: str | None = None) -> OrderOutcome:
    """The intent's outcome as the platform states it (``reason``: why, for a reject/unknown)."""
    return OrderOutcome(
        client_order_id=intent.client_order_id,
        status=status,
        symbol=intent.symbol,
        side=intent.side,
        reject_reason=reason,
    )


def rejected(intent: OrderIntent, reason: str) -> OrderOutcome:
    return decided(intent, OrderStatus.REJECTED, reason)


async def place(
    venue: VenueHooks, intent: OrderIntent, mark: Decimal, known: OrderOutcome | None = None
) -> OrderOutcome:
    """Idempotent by client order id (see the module docstring for the steps).

    ``known``: the order as a lookup just found it; then nothing is submitted except the missing
    TP/SL legs of a filled entry."""
    existing = known or await venue.lookup(intent.client_order_id, intent.symbol)
    if existing is not None:
        if existing.status is OrderStatus.FILLED and not intent.reduce_only:
            await ensure_protection(venue, intent, existing)
        return existing
    rules = await venue.rules(intent.symbol)
    limit_price = _limit_price(intent, rules)
    if isinstance(limit_price, str):
        return rejected(intent, limit_price)
    quantity = await _quantity(venue, intent, limit_price or mark, rules, limit_price is None)
    if isinstance(quantity, str):
        return rejected(intent, quantity)
    order = VenueOrder(intent, rules, quantity, mark, limit_price)
    refused = venue.refusal(order)
    if refused is None and not intent.reduce_only:
        refused = await _leverage(venue, intent, rules)
    if refused is not None:
        return rejected(intent, refused)
    outcome = await _submit(venue, order)
    if outcome.status is OrderStatus.FILLED or outcome.filled_size:
        outcome = await with_fee(venue, outcome)
    if outcome.status is OrderStatus.FILLED:
        if not intent.reduce_only:
            await ensure_protection(venue, intent, outcome)
        elif intent.size_usd is None and intent.size_base is None:
            await _cancel_triggers(venue, rules)
    return outcome


def _limit_price(intent: OrderIntent, rules: InstrumentRules) -> Decimal | str | None:
    """A limit order's price on the venue's grid (None: a market order), or why there is none."""
    if intent.order_type is not OrderType.LIMIT:
        return None
    if intent.limit_price is None:
        return f"{SizeDeny.PRICE_INVALID.value}: a limit order needs a price"
    priced = passive_limit_price(intent.limit_price, intent.side, rules)
    if priced.price is None:
        return f"{(priced.deny or SizeDeny.PRICE_INVALID).value}: {priced.detail}"
    return priced.price


async def _quantity(
    venue: VenueHooks, intent: OrderIntent, price: Decimal, rules: InstrumentRules, market: bool
) -> Decimal | str:
    """The quantity to send at ``price`` (a limit order's, or the mark), or why there is none."""
    sizing: SizeResult
    asked = intent.size_base
    if asked is None and intent.size_usd is not None:
        # an unusable price sizes nothing: the rules below refuse it with PRICE_INVALID
        usable = price.is_finite() and price > 0
        asked = intent.size_usd / price if usable else Decimal(0)
    if intent.reduce_only:
        pos = await venue.position(rules)
        if pos is None:
            return "NO_POSITION_TO_CLOSE"
        if pos.side.entry_side is intent.side:  # a close trades against the position
            return "POSITION_SIDE_MISMATCH"
        qty = pos.size if asked is None else min(pos.size, asked)
        sizing = check_quantity(qty, price, rules, market=market, reduce_only=True)
    elif asked is None:
        return SizeDeny.QUANTITY_BELOW_MINIMUM.value
    elif intent.size_base is not None:
        sizing = check_quantity(asked, price, rules, market=market)
    else:
        assert intent.size_usd is not None
        sizing = quantity_for_notional(intent.size_usd, price, rules, market=market)
    if not sizing.ok or sizing.quantity is None:
        return sizing.deny.value if sizing.deny else "QUANTITY_INVALID"
    return sizing.quantity


async def _leverage(venue: VenueHooks, intent: OrderIntent, rules: InstrumentRules) -> str | None:
    """Set the entry's leverage; why not, or None when set."""
    lev = int(intent.leverage)  # venue leverage is an integer: round down, never up
    if lev < 1:
        return "LEVERAGE_INVALID"
    if rules.max_leverage is not None and lev > rules.max_leverage:
        return "LEVERAGE_EXCEEDS_MAX"
    try:
        refused = await venue.set_leverage(rules, lev)
    except OutcomeUnknown as err:
        # no order was sent yet: the whole placement is safe to retry
        raise ExchangeError(
            ErrorCode.TIMEOUT, f"leverage: {err.message}", retryable=True, venue=venue.venue
        ) from None
    return None if refused is None else f"LEVERAGE_REJECTED: {refused}"


async def _submit(venue: VenueHooks, order: VenueOrder) -> OrderOutcome:
    intent = order.intent
    try:
        return await venue.submit(order)
    except OutcomeUnknown as err:
        err.client_order_id = intent.client_order_id
        raise
    except ExchangeError as err:
        if err.code == ErrorCode.DUPLICATE:  # it exists after all: report it, never resend
            found = await venue.lookup(intent.client_order_id, intent.symbol)
            if found is not None:
                return found
            raise OutcomeUnknown(
                err.message, venue=venue.venue, client_order_id=intent.client_order_id
            ) from None
        if err.code in _REFUSALS:
            return rejected(intent, f"{err.code}: {err.message}")
        raise


async def with_fee(venue: VenueHooks, outcome: OrderOutcome) -> OrderOutcome:
    """``outcome`` with the fee of its fills when the venue lists them (best effort: an order is
    never failed for its fee)."""
    if outcome.exchange_order_id is None or outcome.fee is not None:
        return outcome
    try:
        fee = await venue.fee(outcome)
    except ExchangeError as err:
        log.warning("%s: fee lookup for %s failed: %s", venue.venue, outcome.client_order_id, err)
        return outcome
    return outcome if fee is None else outcome.model_copy(update={"fee": fee})


async def ensure_protection(venue: VenueHooks, intent: OrderIntent, entry: OrderOutcome) -> None:
    """Place the filled entry's missing TP/SL legs, each looked up first."""
    asked: list[tuple[ProtectiveKind, Decimal | None]] = [
        ("tp", intent.take_profit_pct),
        ("sl", intent.stop_loss_pct),
    ]
    legs = [(kind, pct) for kind, pct in asked if pct is not None]
    if not legs:
        return
    rules = await venue.rules(intent.symbol)
    for kind, pct in legs:
        leg_id = protective_client_order_id(intent.client_order_id, kind)
        try:
            if await venue.lookup(leg_id, intent.symbol) is not None:
                continue
            if entry.avg_price is None or not entry.filled_size:
                raise ExchangeError(
                    ErrorCode.BAD_RESPONSE,
                    "entry fill price not known yet",
                    retryable=True,
                    venue=venue.venue,
                )
            trigger = protective_trigger_price(entry.avg_price, intent.side, kind, pct, rules)
            if trigger is None:
                raise ExchangeError(
                    ErrorCode.INVALID_ORDER,
                    f"{SizeDeny.PRICE_INVALID.value}: no valid {kind} trigger price",
                    retryable=False,
                    venue=venue.venue,
                )
            leg = ProtectiveLeg(intent, rules, kind, leg_id, trigger, entry)
            await venue.place_trigger(leg)
        except ExchangeError as err:
            raise ProtectiveOrderError(err, entry=entry, leg_client_order_id=leg_id) from None


async def _cancel_triggers(venue: VenueHooks, rules: InstrumentRules) -> None:
    """After a full close, the symbol's TP/SL protect nothing: cancel them (best effort)."""
    try:
        await venue.cancel_triggers(rules)
    except ExchangeError as err:
        log.warning("%s: could not cancel %s TP/SL after close: %s", venue.venue, rules.symbol, err)


async def cancel(venue: VenueHooks, client_order_id: str, symbol: str | None = None) -> bool:
    """Cancel a resting order by our id; False when the venue holds none that rests."""
    current = await venue.lookup(client_order_id, symbol)
    if current is None or current.status is not OrderStatus.SUBMITTED:
        return False
    return await venue.cancel_resting(client_order_id, current, symbol)
