"""The product's payload converter: temporalio's pydantic encoding, adapters shared per process."""

from __future__ import annotations

from decimal import Decimal

from temporalio.contrib.pydantic import pydantic_data_converter

from domain.contracts import ContextSummary
from domain.risk import RiskLimits
from runtime.temporal import DATA_CONVERTER, PayloadConverter


def _summary() -> ContextSummary:
    return ContextSummary(
        decision_id="dec-1-1",
        ok=True,
        symbols=["BTC"],
        prices={"BTC": Decimal("97123.45")},
        available_usd=Decimal("1000.10"),
        limits=RiskLimits(
            max_leverage=Decimal(3),
            max_position_notional_usd=Decimal(500),
            max_concurrent_positions=2,
        ),
        paper=True,
    )


def test_same_bytes_as_temporalio_pydantic_converter_and_exact_decimals() -> None:
    ours, theirs = DATA_CONVERTER.payload_converter, pydantic_data_converter.payload_converter
    value = _summary()
    [p1], [p2] = ours.to_payloads([value]), theirs.to_payloads([value])
    assert p1 == p2
    [back] = ours.from_payloads([p1], [ContextSummary])
    assert back == value and back.prices["BTC"] == Decimal("97123.45")


def test_workflow_instances_share_type_adapters() -> None:
    a, b = PayloadConverter(), PayloadConverter()  # as two workflow instances would make
    [p] = a.to_payloads([_summary()])
    a.from_payloads([p], [ContextSummary])
    b.from_payloads([p], [ContextSummary])
    from runtime.temporal import _adapter

    assert _adapter.cache_info().hits >= 1
    assert isinstance(b.from_payloads([p], [dict])[0], dict)  # other hints still work
