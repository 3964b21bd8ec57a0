"""The shared placement algorithm's branches (adapters/exchanges/placement.py), over an in-memory
venue that implements the hooks. The emulator tests cover the paths both venues take over real
HTTP; these cover the branches no emulator scenario reaches, in milliseconds."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal as D

import pytest

from adapters.exchanges import placement
from adapters.exchanges.client import (
    ErrorCode,
    ExchangeError,
    LivePosition,
    OutcomeUnknown,
    ProtectiveOrderError,
)
from adapters.exchanges.placement import ProtectiveLeg, VenueOrder
from domain.exchange_rules import InstrumentRules, hyperliquid_rules
from domain.ids import protective_client_order_id
from domain.orders import OrderIntent, OrderOutcome, OrderStatus, OrderType


@dataclass
class FakeVenue:
    """A venue in memory: it holds orders by our id and fills market orders at the mark."""

    venue: str = "fake"
    held: dict[str, OrderOutcome] = field(default_factory=dict)
    held_position: LivePosition | None = None
    refuse: str | None = None
    leverage_refusal: str | None = None
    errors: dict[str, ExchangeError] = field(default_factory=dict)  # hook name -> raised
    fill_price_known: bool = True
    calls: list[str] = field(default_factory=list)
    rules_: InstrumentRules = hyperliquid_rules("BTC", 5, max_leverage=40)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.errors:
            raise self.errors[name]

    async def lookup(self, client_order_id: str, symbol: str | None = None) -> OrderOutcome | None:
        self._call("lookup")
        return self.held.get(client_order_id)

    async def rules(self, symbol: str) -> InstrumentRules:
        return self.rules_

    async def position(self, rules: InstrumentRules) -> LivePosition | None:
        self._call("position")
        return self.held_position

    def refusal(self, order: VenueOrder) -> str | None:
        return self.refuse

    async def set_leverage(self, rules: InstrumentRules, leverage: int) -> str | None:
        self._call("set_leverage")
        return self.leverage_refusal

    async def submit(self, order: VenueOrder) -> OrderOutcome:
        self._call("submit")
        out = OrderOutcome(
            client_order_id=order.intent.client_order_id,
            status=OrderStatus.FILLED,
            symbol=order.intent.symbol,
            side=order.intent.side,
            exchange_order_id=str(len(self.held) + 1),
            filled_size=order.quantity,
            avg_price=order.mark if self.fill_price_known else None,
        )
        self.held[out.client_order_id] = out
        return out

    async def fee(self, outcome: OrderOutcome) -> D | None:
        self._call("fee")
        return D("0.5")

    async def place_trigger(self, leg: ProtectiveLeg) -> None:
        self._call(f"place_trigger {leg.kind}")
        self.held[leg.client_order_id] = OrderOutcome(
            client_order_id=leg.client_order_id, status=OrderStatus.SUBMITTED
        )

    async def cancel_triggers(self, rules: InstrumentRules) -> None:
        self._call("cancel_triggers")

    async def cancel_resting(
        self, client_order_id: str, order: OrderOutcome, symbol: str | None
    ) -> bool:
        self._call("cancel_resting")
        return True


def entry(
    cid: str = "ho-1-1-entry", leverage: str = "5", size_usd: str | None = "1000"
) -> OrderIntent:
    return OrderIntent(
        client_order_id=cid,
        account_id=1,
        decision_id="d-1",
        leg="entry",
        symbol="BTC",
        side="buy",
        reduce_only=False,
        size_usd=D(size_usd) if size_usd else None,
        leverage=D(leverage),
        take_profit_pct=D(10),
        stop_loss_pct=D(5),
    )


def close(side: str = "sell", size_usd: str | None = None) -> OrderIntent:
    return OrderIntent(
        client_order_id="ho-1-2-close",
        account_id=1,
        decision_id="d-2",
        leg="close",
        symbol="BTC",
        side=side,
        reduce_only=True,
        size_usd=D(size_usd) if size_usd else None,
        leverage=D(5),
    )


def long_position() -> LivePosition:
    return LivePosition(
        symbol="BTC",
        side="long",
        size=D("0.01538"),
        entry_price=D(65000),
        mark_price=D(65000),
        leverage=D(5),
        unrealized_pnl=D(0),
    )


MARK = D(65000)


async def test_a_filled_entry_found_gets_only_its_missing_leg() -> None:
    """A retry finds the entry filled and its TP resting: only the SL is placed, nothing resent."""
    venue = FakeVenue()
    first = await placement.place(venue, entry(), MARK)
    del venue.held[protective_client_order_id(first.client_order_id, "sl")]
    venue.calls.clear()
    again = await placement.place(venue, entry(), MARK)
    assert again.exchange_order_id == first.exchange_order_id
    assert "submit" not in venue.calls and venue.calls.count("place_trigger sl") == 1
    assert "place_trigger tp" not in venue.calls


async def test_a_close_on_the_wrong_side_is_rejected_unsent() -> None:
    """A reduce-only buy cannot close a long: the venue would open a position instead."""
    venue = FakeVenue(held_position=long_position())
    out = await placement.place(venue, close(side="buy"), MARK)
    assert (out.status, out.reject_reason) == (OrderStatus.REJECTED, "POSITION_SIDE_MISMATCH")
    assert "submit" not in venue.calls


async def test_an_entry_without_a_size_is_rejected_unsent() -> None:
    venue = FakeVenue()
    out = await placement.place(venue, entry(size_usd=None), MARK)
    assert out.reject_reason == "QUANTITY_BELOW_MINIMUM"
    assert venue.calls == ["lookup"]


async def test_the_venues_own_refusal_comes_before_leverage() -> None:
    """A refused order changes nothing at the venue, not even the leverage."""
    venue = FakeVenue(refuse="PRICE_INVALID")
    out = await placement.place(venue, entry(), MARK)
    assert out.reject_reason == "PRICE_INVALID"
    assert "set_leverage" not in venue.calls and "submit" not in venue.calls


async def test_leverage_below_one_is_rejected_unsent() -> None:
    """Venue leverage is an integer rounded down: 0.5x would be 0x."""
    venue = FakeVenue()
    out = await placement.place(venue, entry(leverage="0.5"), MARK)
    assert out.reject_reason == "LEVERAGE_INVALID"
    assert "set_leverage" not in venue.calls


async def test_a_refused_leverage_rejects_the_order() -> None:
    venue = FakeVenue(leverage_refusal="Invalid leverage value")
    out = await placement.place(venue, entry(), MARK)
    assert out.reject_reason == "LEVERAGE_REJECTED: Invalid leverage value"
    assert "submit" not in venue.calls


async def test_a_lost_leverage_answer_is_retryable_not_unknown() -> None:
    """No order was sent yet: the whole placement may be retried, nothing needs settling."""
    venue = FakeVenue(errors={"set_leverage": OutcomeUnknown("lost", venue="fake")})
    with pytest.raises(ExchangeError) as info:
        await placement.place(venue, entry(), MARK)
    assert not isinstance(info.value, OutcomeUnknown)
    assert info.value.code == ErrorCode.TIMEOUT and info.value.retryable
    assert "submit" not in venue.calls


async def test_a_lost_order_answer_is_unknown_and_names_our_id() -> None:
    venue = FakeVenue(errors={"submit": OutcomeUnknown("lost", venue="fake")})
    with pytest.raises(OutcomeUnknown) as info:
        await placement.place(venue, entry(), MARK)
    assert info.value.client_order_id == "ho-1-1-entry"


async def test_a_duplicate_is_looked_up_never_resent() -> None:
    """The venue says the id exists: what it holds is the answer."""
    venue = FakeVenue(errors={"submit": ExchangeError("DUPLICATE", "dup", retryable=False)})
    held = OrderOutcome(client_order_id="ho-1-1-entry", status=OrderStatus.SUBMITTED)

    async def appears(client_order_id: str, symbol: str | None = None) -> OrderOutcome | None:
        venue.calls.append("lookup")
        return held if venue.calls.count("lookup") > 1 else None

    venue.lookup = appears  # type: ignore[method-assign]
    assert await placement.place(venue, entry(), MARK) == held
    assert venue.calls.count("submit") == 1


async def test_a_duplicate_the_venue_cannot_show_is_unknown() -> None:
    venue = FakeVenue(errors={"submit": ExchangeError("DUPLICATE", "dup", retryable=False)})
    with pytest.raises(OutcomeUnknown) as info:
        await placement.place(venue, entry(), MARK)
    assert info.value.client_order_id == "ho-1-1-entry"
    assert venue.calls.count("submit") == 1


async def test_insufficient_margin_is_a_rejection_other_refusals_raise() -> None:
    margin = ExchangeError(ErrorCode.INSUFFICIENT_MARGIN, "no margin", retryable=False)
    out = await placement.place(FakeVenue(errors={"submit": margin}), entry(), MARK)
    assert (out.status, out.reject_reason) == (
        OrderStatus.REJECTED,
        "INSUFFICIENT_MARGIN: no margin",
    )
    auth = ExchangeError(ErrorCode.AUTH, "bad key", retryable=False)
    with pytest.raises(ExchangeError) as info:
        await placement.place(FakeVenue(errors={"submit": auth}), entry(), MARK)
    assert info.value.code == ErrorCode.AUTH


async def test_a_failed_fee_lookup_keeps_the_fill(caplog: pytest.LogCaptureFixture) -> None:
    """An order is never failed for its fee: the fill stands, the fee comes with the fills."""
    timeout = ExchangeError(ErrorCode.TIMEOUT, "slow", retryable=True)
    venue = FakeVenue(errors={"fee": timeout})
    out = await placement.place(venue, entry(), MARK)
    assert out.status is OrderStatus.FILLED and out.fee is None
    assert "fee lookup for ho-1-1-entry failed" in caplog.text


async def test_protection_waits_for_a_known_fill_price() -> None:
    """TP/SL prices derive from the fill: without it the leg is a retryable protective error."""
    venue = FakeVenue(fill_price_known=False)
    with pytest.raises(ProtectiveOrderError) as info:
        await placement.place(venue, entry(), MARK)
    err = info.value
    assert err.retryable and err.cause_code == ErrorCode.BAD_RESPONSE
    assert err.entry.status is OrderStatus.FILLED and err.leg_client_order_id.endswith(":tp")


async def test_a_partial_close_leaves_the_triggers() -> None:
    venue = FakeVenue(held_position=long_position())
    out = await placement.place(venue, close(size_usd="500"), MARK)
    assert out.status is OrderStatus.FILLED and out.filled_size == D("0.00769")
    assert "cancel_triggers" not in venue.calls


async def test_a_partial_close_by_base_size_leaves_the_triggers() -> None:
    """A close of a base size (a manual order's quantity) is partial: the TP/SL keep guarding
    the rest. Only a close without any amount closes all and cancels them."""
    venue = FakeVenue(held_position=long_position())
    out = await placement.place(venue, close().model_copy(update={"size_base": D("0.005")}), MARK)
    assert out.status is OrderStatus.FILLED and out.filled_size == D("0.005")
    assert "cancel_triggers" not in venue.calls


async def test_a_limit_order_without_a_price_is_rejected_unsent() -> None:
    venue = FakeVenue()
    intent = entry().model_copy(update={"order_type": OrderType.LIMIT})
    out = await placement.place(venue, intent, MARK)
    assert out.status is OrderStatus.REJECTED
    assert (out.reject_reason or "").startswith("PRICE_INVALID")
    assert venue.calls == ["lookup"]


async def test_a_post_only_crossing_refusal_is_a_rejection_with_its_code() -> None:
    """Binance's -5022, classified POST_ONLY_WOULD_CROSS: the venue proved it did not act."""
    cross = ExchangeError(ErrorCode.POST_ONLY_WOULD_CROSS, "would cross", retryable=False)
    intent = entry().model_copy(update={"order_type": OrderType.LIMIT, "limit_price": D(66000)})
    out = await placement.place(FakeVenue(errors={"submit": cross}), intent, MARK)
    assert (out.status, out.reject_reason) == (
        OrderStatus.REJECTED,
        "POST_ONLY_WOULD_CROSS: would cross",
    )


async def test_a_full_close_cancels_triggers_best_effort(caplog: pytest.LogCaptureFixture) -> None:
    """The close stands even when the now-pointless TP/SL cannot be cancelled."""
    caplog.set_level(logging.WARNING)
    down = ExchangeError(ErrorCode.NETWORK, "down", retryable=True)
    venue = FakeVenue(held_position=long_position(), errors={"cancel_triggers": down})
    out = await placement.place(venue, close(), MARK)
    assert out.status is OrderStatus.FILLED and out.filled_size == D("0.01538")
    assert "cancel_triggers" in venue.calls and "could not cancel BTC TP/SL" in caplog.text


async def test_cancel_sends_nothing_for_an_order_not_resting() -> None:
    venue = FakeVenue()
    await placement.place(venue, entry(), MARK)
    assert await placement.cancel(venue, "ho-1-1-entry") is False  # filled
    assert await placement.cancel(venue, "ho-9-9-never") is False
    assert await placement.cancel(venue, "ho-1-1-entry:sl") is True  # resting
    assert venue.calls.count("cancel_resting") == 1
