"""A trader's circuit breakers in the database: its settings (on `accounts`), what they remember
(`breaker_states`) and the equity point that opens a UTC day (`equity_snapshots`).

Each function takes a plain `Session` and runs inside the caller's transaction (see
db/transactions.py); domain/breakers.py decides.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from db.tables import ACCOUNTS, BREAKER_STATES, EQUITY_SNAPSHOTS
from domain.breakers import BreakerSettings, BreakerState
from domain.equity import utc

# Built once, values bound at execution (see db/decisions.py).
_SETTINGS = select(
    ACCOUNTS.c.daily_loss_limit_pct,
    ACCOUNTS.c.max_drawdown_pct,
    ACCOUNTS.c.breaker_closes_positions,
).where(ACCOUNTS.c.id == bindparam("b_account"))
_STATE = select(
    BREAKER_STATES.c.armed_at,
    BREAKER_STATES.c.day_start,
    BREAKER_STATES.c.day_start_equity,
    BREAKER_STATES.c.peak_equity,
).where(BREAKER_STATES.c.account_id == bindparam("b_account"))
_DAY_OPEN = (
    select(EQUITY_SNAPSHOTS.c.equity)
    .where(
        EQUITY_SNAPSHOTS.c.account_id == bindparam("b_account"),
        EQUITY_SNAPSHOTS.c.time >= bindparam("b_from"),
        EQUITY_SNAPSHOTS.c.time < bindparam("b_until"),
    )
    .order_by(EQUITY_SNAPSHOTS.c.time.desc(), EQUITY_SNAPSHOTS.c.id.desc())
    .limit(1)
)


def settings_of(s: Session, account_id: int) -> BreakerSettings:
    row = s.connection().execute(_SETTINGS, {"b_account": account_id}).first()
    if row is None:
        return BreakerSettings()
    return BreakerSettings(
        daily_loss_limit_pct=row.daily_loss_limit_pct,
        max_drawdown_pct=row.max_drawdown_pct,
        closes_positions=bool(row.breaker_closes_positions),
    )


def state_of(s: Session, account_id: int) -> BreakerState | None:
    row = s.connection().execute(_STATE, {"b_account": account_id}).first()
    if row is None:
        return None
    return BreakerState(
        armed_at=utc(row.armed_at),
        day_start=utc(row.day_start),
        day_start_equity=row.day_start_equity,
        peak_equity=row.peak_equity,
    )


def day_open_equity(
    s: Session, account_id: int, since: datetime, until: datetime
) -> Decimal | None:
    """The last recorded equity in [since, until): the equity a UTC day starting at `until`
    opened with (None: no point in that span)."""
    params = {"b_account": account_id, "b_from": utc(since), "b_until": utc(until)}
    found = s.connection().execute(_DAY_OPEN, params).scalar()
    return Decimal(found) if found is not None else None


def save(s: Session, account_id: int, before: BreakerState | None, state: BreakerState) -> None:
    """Store `state` (written only when it differs from `before`, what was read)."""
    if state == before:
        return
    values = state.model_dump()
    conn = s.connection()
    if before is None:
        conn.execute(insert(BREAKER_STATES), {"account_id": account_id, **values})
    else:
        conn.execute(
            update(BREAKER_STATES).where(BREAKER_STATES.c.account_id == account_id), values
        )


def disarm(s: Session, account_id: int) -> None:
    """Forget what the breakers remember: they are armed afresh at the next sync (after a change
    of the settings)."""
    s.connection().execute(delete(BREAKER_STATES).where(BREAKER_STATES.c.account_id == account_id))
