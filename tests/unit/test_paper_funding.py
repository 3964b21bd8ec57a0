"""Funding settlements on the paper account (domain/paper_bars.charge_funding): the sign, the
timing at a funding time, and where the money is booked."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from domain.paper import (
    PaperAccount,
    PaperConfig,
    PaperOrder,
    PaperPosition,
    account_from_dict,
    account_to_dict,
    execute_market_order,
)
from domain.paper_bars import Bar, charge_funding, check_triggers_bar

CFG = PaperConfig(taker_fee_bps=D("5"), slippage_bps=D("0"))
H = 3_600_000  # an hour in ms
T0 = 1_700_000_000_000 // H * H  # a funding time


def held(side: str, size: str = "2", opened_at: int | None = None) -> PaperAccount:
    stop = D("95") if side == "long" else D("105")
    p = PaperPosition(
        "BTC", side, D(size), D("100"), D("10"), None, stop, "t-1", opened_at_ms=opened_at
    )
    return PaperAccount(cash=D("1000"), positions={"BTC": p})


def test_short_across_three_fundings_receives_pays_receives() -> None:
    """Rates +0.0001, -0.0002, +0.0003 at marks 100, 101, 102 on a 2 BTC short."""
    acct = held("short")
    paid = []
    for i, (rate, mark) in enumerate([("0.0001", "100"), ("-0.0002", "101"), ("0.0003", "102")]):
        acct, charge = charge_funding(acct, "BTC", D(rate), D(mark), T0 + i * H)
        assert charge is not None and charge.size == D("2") and charge.at_ms == T0 + i * H
        paid.append(charge.amount)
    assert paid == [D("-0.02"), D("0.0404"), D("-0.0612")]  # 2 x mark x rate, short side
    assert acct.funding_paid == D("-0.0408") and acct.positions["BTC"].funding == D("-0.0408")
    assert acct.cash == D("1000.0408")
    assert acct.realized_pnl == 0 and acct.fees_paid == 0


def test_long_pays_a_positive_rate() -> None:
    acct, charge = charge_funding(held("long"), "BTC", D("0.0001"), D("100"), T0)
    assert charge is not None and charge.amount == D("0.02")
    assert acct.cash == D("999.98") and acct.funding_paid == D("0.02")


def test_a_position_opened_exactly_at_a_funding_time_does_not_pay_it() -> None:
    order = PaperOrder("o1", "BTC", "buy", size=D("1"), leverage=D("5"))
    opened = execute_market_order(PaperAccount(cash=D("1000")), order, D("100"), CFG, at_ms=T0)
    assert opened.account.positions["BTC"].opened_at_ms == T0
    same, charge = charge_funding(opened.account, "BTC", D("0.001"), D("100"), T0)
    assert charge is None and same is opened.account
    later, charge = charge_funding(opened.account, "BTC", D("0.001"), D("100"), T0 + H)
    assert charge is not None and charge.amount == D("0.1")
    assert later.cash == opened.account.cash - D("0.1")


def test_a_position_closed_exactly_at_a_funding_time_pays_it() -> None:
    """Funding settles before the fills of the same time: the close carries the payment into
    its round trip."""
    acct, charge = charge_funding(held("long", "1", T0 - H), "BTC", D("0.001"), D("100"), T0)
    assert charge is not None and charge.amount == D("0.1")
    new, (f,) = check_triggers_bar(acct, {"BTC": Bar(D("96"), D("97"), D("94"), D("95"))}, CFG)
    assert f.reason == "stop_loss" and f.funding == D("0.1")
    assert new.funding_paid == D("0.1") and new.positions == {}


def test_no_position_no_charge_and_bad_inputs_refused() -> None:
    flat = PaperAccount(cash=D("1000"))
    assert charge_funding(flat, "BTC", D("0.001"), D("100"), T0) == (flat, None)
    with pytest.raises(ValueError):
        charge_funding(held("long"), "BTC", D("NaN"), D("100"), T0)
    with pytest.raises(ValueError):
        charge_funding(held("long"), "BTC", D("0.001"), D("0"), T0)


def test_funding_fields_round_trip_and_are_absent_until_used() -> None:
    """A live paper account (no funding, no open time) is stored exactly as before."""
    plain = held("long")
    d = account_to_dict(plain)
    assert "funding_paid" not in d and "liquidation_shortfall" not in d
    assert set(d["positions"]["BTC"]) == {
        "symbol", "side", "size", "entry_price", "leverage", "take_profit_price",
        "stop_loss_price", "last_trade_id",
    }  # fmt: skip
    charged, _ = charge_funding(held("short", opened_at=T0 - H), "BTC", D("0.01"), D("100"), T0)
    assert account_from_dict(account_to_dict(charged)) == charged
    assert account_to_dict(charged)["positions"]["BTC"]["opened_at_ms"] == T0 - H
