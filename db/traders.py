"""Reading a trader's own settings on its decision path (SQLAlchemy Core, see db/decisions.py)."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from db.tables import ACCOUNTS
from domain.risk import RiskLimits

_ACCOUNT_BASICS = select(
    ACCOUNTS.c.symbols,
    ACCOUNTS.c.max_leverage,
    ACCOUNTS.c.max_position_notional_usd,
    ACCOUNTS.c.max_concurrent_positions,
).where(ACCOUNTS.c.id == bindparam("b_account"))  # built once (see db/decisions.py)
SYMBOLS = select(ACCOUNTS.c.symbols).where(ACCOUNTS.c.id == bindparam("b_account"))


def account_basics(s: Session, account_id: int) -> tuple[list[str], RiskLimits] | None:
    """The trader's symbols and risk limits, read fresh for every decision."""
    row = s.connection().execute(_ACCOUNT_BASICS, {"b_account": account_id}).first()
    if row is None:
        return None
    limits = RiskLimits(
        max_leverage=row.max_leverage,
        max_position_notional_usd=row.max_position_notional_usd,
        max_concurrent_positions=row.max_concurrent_positions,
    )
    return list(row.symbols), limits
