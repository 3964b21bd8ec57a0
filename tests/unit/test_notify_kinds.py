"""Which live-stream events a notification channel can hear of, and as what kind: a protective
leg's fill is a TP/SL close, a decision failed with ORDER_UNKNOWN is an order halted as unknown,
a pause is a circuit breaker only with the breakers' reason prefix; everything else is silent."""

from __future__ import annotations

from typing import Any

import pytest

from domain.notifications import NotifyKind, kind_of

CASES: list[tuple[str, dict[str, Any], NotifyKind | None]] = [
    ("trade_update", {"kind": "fill", "trigger": None}, NotifyKind.FILL),
    ("trade_update", {"kind": "fill", "trigger": "take_profit"}, NotifyKind.TP_SL_CLOSE),
    ("trade_update", {"kind": "fill", "trigger": "stop_loss"}, NotifyKind.TP_SL_CLOSE),
    ("trade_update", {"kind": "fill", "trigger": "liquidation"}, NotifyKind.TP_SL_CLOSE),
    ("trade_update", {"kind": "cancel"}, None),
    ("model_chat_update", {"status": "failed", "error_code": "NO_MARKET_DATA"},
     NotifyKind.DECISION_FAILED),
    ("model_chat_update", {"status": "failed", "error_code": "ORDER_UNKNOWN"},
     NotifyKind.ORDER_UNKNOWN),
    ("model_chat_update", {"status": "executed"}, None),
    ("status_update", {"status": "Error", "reason": "boom"}, NotifyKind.TRADER_ERROR),
    ("status_update", {"status": "Paused", "reason": "CIRCUIT_BREAKER_MAX_DRAWDOWN: -20%"},
     NotifyKind.CIRCUIT_BREAKER),
    ("status_update", {"status": "Paused", "reason": "paused by the owner"}, None),
    ("status_update", {"status": "Active"}, None),
    ("position_update", {"kind": "closed"}, None),
    ("asset_curve_update", {}, None),
]  # fmt: skip


@pytest.mark.parametrize(("event_type", "data", "kind"), CASES)
def test_each_event_has_its_kind(
    event_type: str, data: dict[str, Any], kind: NotifyKind | None
) -> None:
    assert kind_of(event_type, data) == kind
