"""The histories behind the funding and open-interest factors (domain/factors.py): settled funding
rates (funding_rates, db/market_history.py) and open-interest samples, read into a decision's
snapshot point in time, and the writes that keep them.

Open-interest samples are what decisions saw: a decision that gathers its venue's current open
interest records it (at most one sample per source, symbol and minute: the time is the minute,
the first one stands), and a later decision reads the samples before its own minute back.

On the decision path: the statements are built once (values bound at execution, see
db/decisions.py) and each reads every symbol at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Connection,
    Index,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.base import Base
from db.market_history import FundingRateRecord
from db.tables import ACCOUNTS
from domain.backfill import FundingRate
from domain.factors import HISTORY_SAMPLES
from domain.vocabulary import Exchange, ExchangeEnvironment

MINUTE_MS = 60_000


class OpenInterestSample(Base):
    """A venue's open interest for a symbol as a decision saw it, at the minute `time_ms`."""

    __tablename__ = "open_interest_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    time_ms: Mapped[int] = mapped_column(BigInteger)
    open_interest: Mapped[Decimal]

    __table_args__ = (
        UniqueConstraint("source", "symbol", "time_ms", name="uq_open_interest_samples_key"),
        Index("ix_open_interest_samples_time", "time_ms"),
    )


FUNDING = cast(Table, FundingRateRecord.__table__)
OI = cast(Table, OpenInterestSample.__table__)
_SYMBOLS: BindParameter[list[str]] = bindparam("b_symbols", expanding=True)


def _last_n(table: Table, time_col: str, value_col: str, bound: Any) -> Any:
    """Per symbol, the last HISTORY_SAMPLES values whose time satisfies `bound`, oldest first."""
    t = table.c[time_col]
    ranked = (
        select(
            table.c.symbol,
            t.label("t"),
            table.c[value_col].label("v"),
            func.row_number().over(partition_by=table.c.symbol, order_by=t.desc()).label("n"),
        )
        .where(table.c.source == bindparam("b_source"), table.c.symbol.in_(_SYMBOLS), bound(t))
        .subquery()
    )
    return (
        select(ranked.c.symbol, ranked.c.v)
        .where(ranked.c.n <= HISTORY_SAMPLES)
        .order_by(ranked.c.symbol, ranked.c.t)
    )


# Settled on or before the decision time: a rate settled after it is not known then.
FUNDING_HISTORY = _last_n(FUNDING, "funding_time_ms", "rate", lambda t: t <= bindparam("b_at"))
# Before the decision's own minute: the decision adds its current value itself.
OI_HISTORY = _last_n(OI, "time_ms", "open_interest", lambda t: t < bindparam("b_before"))
_INSERT_OI = {
    "postgresql": postgresql.insert(OI).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(OI).on_conflict_do_nothing(),
}
_INSERT_FUNDING = {
    "postgresql": postgresql.insert(FUNDING).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(FUNDING).on_conflict_do_nothing(),
}
_TRIM_OI = delete(OI).where(OI.c.time_ms < bindparam("b_before"))


def minute_of(at_ms: int) -> int:
    return at_ms - at_ms % MINUTE_MS


def _grouped(rows: Iterable[Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for symbol, value in rows:
        out.setdefault(symbol, []).append(str(value))
    return out


def factor_histories(
    conn: Connection,
    source: str | None,
    symbols: list[str],
    at_ms: int,
    open_interest: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The snapshot's `funding_history` and `open_interest_history` for `symbols` at `at_ms`
    ({symbol: [value, ...] oldest first}, decimal strings), as stored under `source`; nothing
    (the factors answer None) without a source. A symbol with nothing stored is left out. The
    current open interest (`open_interest`, when the venue gave one) is the last sample."""
    if source is None or not symbols:
        return {}
    funding = conn.execute(
        FUNDING_HISTORY, {"b_source": source, "b_symbols": symbols, "b_at": at_ms}
    )
    out: dict[str, Any] = {"funding_history": _grouped(funding)}
    if open_interest:
        before = minute_of(at_ms)
        params = {"b_source": source, "b_symbols": symbols, "b_before": before}
        oi = _grouped(conn.execute(OI_HISTORY, params))
        for symbol, value in open_interest.items():
            if symbol in oi:  # none stored yet: no history (None), not a one-sample one
                oi[symbol] = [*oi[symbol][-(HISTORY_SAMPLES - 1) :], value]
        out["open_interest_history"] = oi
    return out


def record_open_interest(
    conn: Connection, source: str | None, open_interest: dict[str, str], at_ms: int
) -> None:
    """One sample per symbol at `at_ms`'s minute, unless that minute has one already."""
    if source is None or not open_interest:
        return
    minute = minute_of(at_ms)
    rows = [
        {"source": source, "symbol": s, "time_ms": minute, "open_interest": Decimal(v)}
        for s, v in open_interest.items()
    ]
    conn.execute(_INSERT_OI[conn.dialect.name], rows)


def trim_open_interest(s: Session, before_ms: int) -> int:
    return s.connection().execute(_TRIM_OI, {"b_before": before_ms}).rowcount or 0


def store_funding(s: Session, source: str, symbol: str, rates: list[FundingRate]) -> int:
    """Store settled rates not stored yet (idempotent: the key is source, symbol, time)."""
    if not rates:
        return 0
    conn = s.connection()
    have = set(
        conn.execute(
            select(FUNDING.c.funding_time_ms).where(
                FUNDING.c.source == source,
                FUNDING.c.symbol == symbol,
                FUNDING.c.funding_time_ms >= rates[0].time_ms,
                FUNDING.c.funding_time_ms <= rates[-1].time_ms,
            )
        ).scalars()
    )
    new = [
        {
            "source": source,
            "symbol": symbol,
            "funding_time_ms": f.time_ms,
            "rate": Decimal(f.rate),
            "mark_price": Decimal(f.mark_price) if f.mark_price else None,
        }
        for f in rates
        if f.time_ms not in have
    ]
    if new:
        # On conflict nothing: a backfill of the same range may commit alongside.
        conn.execute(_INSERT_FUNDING[conn.dialect.name], new)
    return len(new)


def venue_series(conn: Connection, paper_source: str | None) -> set[tuple[str, str, str]]:
    """(exchange, environment, symbol) of every symbol a trader reads a venue's market data
    for: live traders' on their venue; paper traders' on the paper feed's venue (mainnet)."""
    rows = conn.execute(
        select(ACCOUNTS.c.exchange, ACCOUNTS.c.exchange_environment, ACCOUNTS.c.symbols).where(
            ACCOUNTS.c.is_deleted.is_(False)
        )
    )
    out: set[tuple[str, str, str]] = set()
    for exchange, environment, symbols in rows:
        if exchange == Exchange.PAPER:
            if paper_source is None:
                continue
            exchange, environment = paper_source, ExchangeEnvironment.MAINNET
        elif not environment:
            continue  # not connected yet
        out.update((str(exchange), str(environment), str(s)) for s in symbols or [])
    return out
