"""The typed-parsing base of every venue (adapters/exchanges/wire.py)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from adapters.exchanges.client import ErrorCode, ExchangeError, OutcomeUnknown
from adapters.exchanges.wire import Num, OptNum, WireModel, parse, parse_list


class Reply(WireModel):
    total_sz: Num
    avg_px: OptNum = None


def test_numbers_are_exact_decimals() -> None:
    """Floats become the Decimal of their shortest repr, "" and null an absent number."""
    assert parse(Reply, {"totalSz": 0.1, "avgPx": ""}, venue="v", what="w") == Reply(
        total_sz=D("0.1")
    )
    assert parse(Reply, {"totalSz": "65000.5", "avgPx": None}, venue="v", what="w").total_sz == D(
        "65000.5"
    )


@pytest.mark.parametrize("bad", [{"totalSz": "NaN"}, {"totalSz": "Infinity"}, {}, [], "x", None])
def test_a_reply_that_does_not_match_is_a_bad_response(bad: object) -> None:
    with pytest.raises(ExchangeError) as info:
        parse(Reply, bad, venue="v", what="order")
    assert info.value.code == ErrorCode.BAD_RESPONSE and info.value.retryable
    assert not isinstance(info.value, OutcomeUnknown)


def test_a_mutating_reply_that_does_not_match_is_unknown() -> None:
    """The venue answered: it may have acted, so the outcome is settled by lookup."""
    with pytest.raises(OutcomeUnknown):
        parse(Reply, {"avgPx": "1"}, venue="v", what="order", mutating=True)


def test_the_error_names_where_never_what() -> None:
    """A reply can hold anything: the error says where it broke, not what it held."""
    with pytest.raises(ExchangeError) as info:
        parse_list(Reply, [{"totalSz": "1"}, {"totalSz": "secret-ish-text"}], venue="v", what="w")
    assert "1.totalSz" in info.value.message
    assert "secret-ish-text" not in str(info.value) and "secret-ish-text" not in repr(info.value)
