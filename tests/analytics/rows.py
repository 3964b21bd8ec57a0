"""Rows the analytics tests insert: decisions, candles and round trips at known times, so
every figure an endpoint answers can be worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from db.base import utcnow
from db.models import CandleRecord, DecisionRecord, RoundTripRecord

D = Decimal
# Midnight UTC three days ago: every row sits inside the default 30 days.
DAY0 = datetime.combine(utcnow().date(), datetime.min.time(), UTC) - timedelta(days=3)
HOUR_MS = 3_600_000


def at(hours: float) -> datetime:
    return DAY0 + timedelta(hours=hours)


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def decision(
    account_id: int,
    n: int,
    when: datetime,
    operation: str | None = None,
    symbol: str | None = None,
    *,
    status: str = "executed",
    llm: dict[str, Any] | None = None,
    program_id: int | None = None,
    run_ms: int | None = None,
    error_code: str | None = None,
    snapshot: dict[str, Any] | None = None,
    trigger_type: str = "schedule",
) -> DecisionRecord:
    """A decision row as the trader writes one: `output` holds the decision (and, for a
    program, its id and run time), `llm_exchange` what a prompt's model call recorded."""
    output: dict[str, Any] | None = None
    if operation is not None or program_id is not None:
        made = None
        if operation is not None:
            made = {"operation": operation, "symbol": symbol, "reasoning": f"{operation} call"}
        output = {"decision": made}
        if program_id is not None:
            output.update(program_id=program_id, run_ms=run_ms)
    return DecisionRecord(
        id=f"d-{account_id}-{n}",
        account_id=account_id,
        seq=n,
        trigger_type=trigger_type,
        trigger_context={},
        status=status,
        input_snapshot=snapshot
        if snapshot is not None
        else {"now": when.isoformat(), "default_interval": "1h", "symbols": ["BTC"]},
        output=output,
        error_code=error_code,
        llm_exchange=llm,
        created_at=when,
    )


def candle(source: str, symbol: str, open_ms: int, o: str, c: str, iv: str = "1h") -> CandleRecord:
    hi, lo = max(D(o), D(c)), min(D(o), D(c))
    return CandleRecord(
        source=source,
        symbol=symbol,
        interval=iv,
        open_time_ms=open_ms,
        open=D(o),
        high=hi,
        low=lo,
        close=D(c),
        volume=D(1),
    )


def round_trip(
    account_id: int,
    n: int,
    closed: datetime,
    net: str,
    entry: str | None = None,
    exit_: str | None = None,
    **kw: Any,
) -> RoundTripRecord:
    fields: dict[str, Any] = {
        "symbol": "BTC",
        "side": "long",
        "notional": D(1000),
        "leverage": D(2),
        "fees": D(1),
        "funding": D(0),
        "exit_reason": "decision",
        "opened_at": closed - timedelta(hours=2),
        "first_fill_id": 2 * n + 1,
        "last_fill_id": 2 * n + 2,
        **kw,
    }
    return RoundTripRecord(
        account_id=account_id,
        closed_at=closed,
        entry_price=D(100),
        exit_price=D(100),
        size=D(10),
        gross_pnl=D(net) + fields["fees"],
        net_pnl=D(net),
        fill_count=2,
        entry_decision_id=entry,
        exit_decision_id=exit_,
        **fields,
    )
