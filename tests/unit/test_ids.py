"""Every id the platform mints has one constructor and one parser (domain/ids.py)."""

from __future__ import annotations

import pytest

from domain import ids
from domain.ids import OrderLeg


def test_a_decision_id_parses_back() -> None:
    assert ids.parse_decision_id(ids.decision_id(7, 12)) == ids.DecisionRef(7, 12)


def test_an_order_id_parses_back_with_its_leg() -> None:
    coid = ids.client_order_id(7, 12, OrderLeg.ENTRY)
    assert coid == "ho-7-12-entry"
    assert ids.parse_client_order_id(coid) == ids.OrderRef(7, 12, OrderLeg.ENTRY)


def test_a_protective_leg_parses_back_to_its_entry() -> None:
    entry = ids.client_order_id(7, 12, OrderLeg.ENTRY)
    ref = ids.parse_client_order_id(ids.protective_client_order_id(entry, "sl"))
    assert ref.protective == "sl" and ref.entry == entry


def test_a_protective_leg_names_its_entry() -> None:
    assert ids.entry_of("ho-7-12-entry:tp") == "ho-7-12-entry"
    assert ids.entry_of("ho-7-12-entry") == "ho-7-12-entry"


def test_an_unknown_leg_is_not_minted() -> None:
    with pytest.raises(ValueError):
        ids.client_order_id(7, 12, "exit")


@pytest.mark.parametrize(
    "text",
    ["ho-7-12", "ho-7-12-exit", "ho-07-12-entry", "ho-7-12-entry:xx", "ho--1-2-entry",
     " ho-7-1-entry", "dec-7-12", "", "x" * 10_000],
)  # fmt: skip
def test_text_that_is_not_an_order_id_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a client order id"):
        ids.parse_client_order_id(text)


def test_whose_order_an_id_is() -> None:
    coid = ids.client_order_id(1, 3, OrderLeg.CLOSE)
    assert ids.is_order_of(coid, 1)
    assert not ids.is_order_of(coid, 12)
    assert not ids.is_order_of("ho-1-garbage", 1)  # a prefix is not an id


def test_a_decision_parser_refuses_an_order_id() -> None:
    with pytest.raises(ValueError, match="not a decision id"):
        ids.parse_decision_id("ho-1-2-entry")


def test_workflow_ids_parse_back() -> None:
    assert ids.parse_trader_workflow_id(ids.trader_workflow_id(42)) == 42
    assert ids.parse_pool_workflow_id(ids.pool_workflow_id(5)) == 5
    with pytest.raises(ValueError):
        ids.parse_trader_workflow_id(ids.pool_workflow_id(5))


def test_a_fire_id_parses_back_with_the_symbol_upper_cased() -> None:
    fid = ids.fire_id(3, " btc", 1_700_000_000_000)
    assert fid == "signal-pool-3:BTC@1700000000000"
    assert ids.parse_fire_id(fid) == ids.FireRef(3, "BTC", 1_700_000_000_000)


def test_ids_fit_binance_client_id_length_for_large_numbers() -> None:
    """Binance refuses client ids over 36 characters; a decision deep into a busy trader's life
    must still fit."""
    coid = ids.protective_client_order_id(ids.client_order_id(10**6, 10**9, OrderLeg.ENTRY), "tp")
    assert len(coid) <= 36
