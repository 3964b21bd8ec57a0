"""What AI attribution, program analytics and trade replay read (api/routes/analytics_extras.py,
domain/attribution.py): decisions with the few fields of their JSON columns these need, round
trips with their decision links, and stored candles. For traders the caller has already checked.

Why JSON paths in SQL: a decision's snapshot is ~75 KB and its LLM exchange holds the whole
prompt; the paths read the few values needed (the same statement on SQLite and PostgreSQL)
instead of loading every document. Sync functions over a plain `Session` (run through
`AsyncSession.run_sync`), like db/analytics.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.analytics import TRIP_COLUMNS, trip_of
from db.models import Account, CandleRecord, DecisionRecord, RoundTripRecord, TradeRecord
from db.tables import DECISIONS, ROUND_TRIPS
from domain.attribution import DecisionFacts
from domain.equity import utc
from domain.market import Candle
from domain.metrics import Trip

D = DECISIONS.c
R = ROUND_TRIPS.c
DEFAULT_INTERVAL = "1h"  # a live snapshot's default_interval (adapters/market/snapshot.py)

_FACTS = (
    D.id,
    D.account_id,
    D.created_at,
    D.status,
    D.error_code,
    D.output[("decision", "operation")].as_string().label("operation"),
    D.output[("decision", "symbol")].as_string().label("symbol"),
    D.output["program_id"].as_integer().label("program_id"),
    D.output["run_ms"].as_integer().label("run_ms"),
    D.llm_exchange["prompt_id"].as_integer().label("prompt_id"),
    D.llm_exchange["model"].as_string().label("model"),
    D.llm_exchange["prompt_tokens"].as_integer().label("prompt_tokens"),
    D.llm_exchange["completion_tokens"].as_integer().label("completion_tokens"),
    D.llm_exchange["cost_usd"].as_string().label("cost_usd"),
)
_SNAPSHOT_FACTS = (
    D.input_snapshot["now"].as_string().label("now"),
    D.input_snapshot["default_interval"].as_string().label("default_interval"),
    D.input_snapshot["symbols"].label("symbols"),
)
_IS_PROMPT = D.llm_exchange["prompt_id"].as_integer().is_not(None)
_IS_PROGRAM = D.output["program_id"].as_integer().is_not(None)


def _decimal(text: str | None) -> Decimal | None:
    try:
        return None if text is None else Decimal(text)
    except InvalidOperation:
        return None


def _time(text: str | None, fallback: datetime) -> datetime:
    try:
        return utc(datetime.fromisoformat(text)) if text else utc(fallback)
    except ValueError:
        return utc(fallback)


def _facts(r: Any, snapshot: bool) -> DecisionFacts:
    symbols = r.symbols if snapshot and isinstance(r.symbols, list) else []
    return DecisionFacts(
        id=r.id,
        account_id=r.account_id,
        at=_time(r.now, r.created_at) if snapshot else utc(r.created_at),
        interval=(r.default_interval if snapshot else None) or DEFAULT_INTERVAL,
        status=r.status,
        operation=r.operation,
        symbol=r.symbol,
        symbols=tuple(str(x) for x in symbols),
        error_code=r.error_code,
        program_id=r.program_id,
        run_ms=r.run_ms,
        prompt_id=r.prompt_id,
        model=r.model,
        prompt_tokens=r.prompt_tokens,
        completion_tokens=r.completion_tokens,
        cost_usd=_decimal(r.cost_usd),
    )


def decisions(
    s: Session, account_ids: Iterable[int], start: datetime, end: datetime, *, prompts: bool
) -> list[DecisionFacts]:
    """The decisions of `account_ids` made from `start` to `end` that asked a model (`prompts`)
    or ran a program, oldest first."""
    ids = sorted(set(account_ids))
    if not ids:
        return []
    columns = (*_FACTS, *_SNAPSHOT_FACTS) if prompts else _FACTS
    stmt = (
        select(*columns)
        .where(
            D.account_id.in_(ids),
            D.created_at >= utc(start),
            D.created_at <= utc(end),
            _IS_PROMPT if prompts else _IS_PROGRAM,
        )
        .order_by(D.created_at, D.id)
    )
    return [_facts(r, prompts) for r in s.connection().execute(stmt)]


def decision_facts(s: Session, decision_ids: Iterable[str]) -> dict[str, DecisionFacts]:
    """The facts of these decisions (round trips' entry decisions), by id."""
    ids = sorted(set(decision_ids))
    if not ids:
        return {}
    stmt = select(*_FACTS, *_SNAPSHOT_FACTS).where(D.id.in_(ids))
    return {r.id: _facts(r, True) for r in s.connection().execute(stmt)}


def linked_trips(
    s: Session, account_ids: Iterable[int], start: datetime, end: datetime
) -> list[tuple[Trip, str | None]]:
    """The round trips closed from `start` to `end` (as db.analytics.round_trips) with the id of
    the decision that opened each (None: no decision did, e.g. a fill learnt from the venue)."""
    ids = sorted(set(account_ids))
    if not ids:
        return []
    stmt = (
        select(R.entry_decision_id, *TRIP_COLUMNS)
        .where(R.account_id.in_(ids), R.closed_at >= utc(start), R.closed_at <= utc(end))
        .order_by(R.closed_at, R.id)
    )
    return [(trip_of(r), r.entry_decision_id) for r in s.connection().execute(stmt)]


def snapshot_candles(
    s: Session, ids_by_symbol: Mapping[str, Sequence[str]], interval: str
) -> dict[tuple[str, str], Any]:
    """The `interval` kline rows each decision's snapshot held for a symbol:
    (decision id, symbol) -> rows (None when the snapshot has none)."""
    out: dict[tuple[str, str], Any] = {}
    for symbol, ids in sorted(ids_by_symbol.items()):
        rows = D.input_snapshot[("klines", symbol, interval)]
        stmt = select(D.id, rows.label("rows")).where(D.id.in_(sorted(set(ids))))
        out.update(((r.id, symbol), r.rows) for r in s.connection().execute(stmt))
    return out


C = CandleRecord.__table__.c


def candles(
    s: Session, symbol: str, interval: str, first_ms: int, last_ms: int
) -> dict[str, dict[int, Candle]]:
    """The stored candles of `symbol` and `interval` opening from `first_ms` to `last_ms`, by
    source, then open time."""
    stmt = (
        select(C.source, C.open_time_ms, C.open, C.high, C.low, C.close, C.volume)
        .where(
            C.symbol == symbol,
            C.interval == interval,
            C.open_time_ms >= first_ms,
            C.open_time_ms <= last_ms,
        )
        .order_by(C.source, C.open_time_ms)
    )
    out: dict[str, dict[int, Candle]] = {}
    for r in s.connection().execute(stmt):
        candle = Candle(r.open_time_ms, r.open, r.high, r.low, r.close, r.volume)
        out.setdefault(r.source, {})[r.open_time_ms] = candle
    return out


# --- trade replay --------------------------------------------------------------------------


def owned_trip(s: Session, trip_id: int, owner: int) -> tuple[RoundTripRecord, Account] | None:
    """The round trip `trip_id` and its trader, if the trader is `owner`'s; else None."""
    stmt = (
        select(RoundTripRecord, Account)
        .join(Account, Account.id == RoundTripRecord.account_id)
        .where(RoundTripRecord.id == trip_id, Account.owner_id == owner)
    )
    row = s.execute(stmt).first()
    return None if row is None else (row[0], row[1])


def trip_fills(s: Session, trip: RoundTripRecord) -> list[TradeRecord]:
    """The round trip's fills: its symbol's trades rows from its first fill to its last."""
    stmt = (
        select(TradeRecord)
        .where(
            TradeRecord.account_id == trip.account_id,
            TradeRecord.symbol == trip.symbol,
            TradeRecord.id >= trip.first_fill_id,
            TradeRecord.id <= trip.last_fill_id,
        )
        .order_by(TradeRecord.id)
    )
    return list(s.scalars(stmt))


def trip_decisions(s: Session, trip: RoundTripRecord) -> dict[str, DecisionRecord]:
    """The round trip's entry and exit decision rows (the trader's), by id."""
    ids = sorted({i for i in (trip.entry_decision_id, trip.exit_decision_id) if i})
    if not ids:
        return {}
    stmt = select(DecisionRecord).where(
        DecisionRecord.id.in_(ids), DecisionRecord.account_id == trip.account_id
    )
    return {r.id: r for r in s.scalars(stmt)}
