"""A trader's own settings on its decision path: its configuration, limits, bound program and
status (SQLAlchemy Core, see db/decisions.py). Each function runs inside one transaction
(db/transactions.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from db import account_status
from db.tables import ACCOUNTS, BINDINGS, DECISIONS, PROGRAMS
from domain.contracts import BindingConfig, TraderConfig
from domain.risk import RiskLimits
from domain.vocabulary import Exchange

# Built once, values bound at execution (see db/decisions.py).
_ACCOUNT_BASICS = select(
    ACCOUNTS.c.symbols,
    ACCOUNTS.c.max_leverage,
    ACCOUNTS.c.max_position_notional_usd,
    ACCOUNTS.c.max_concurrent_positions,
).where(ACCOUNTS.c.id == bindparam("b_account"))
_SYMBOLS = select(ACCOUNTS.c.symbols).where(ACCOUNTS.c.id == bindparam("b_account"))
_ACCOUNT = select(
    ACCOUNTS.c.is_deleted,
    ACCOUNTS.c.exchange,
    ACCOUNTS.c.daily_loss_limit_pct,
    ACCOUNTS.c.max_drawdown_pct,
).where(ACCOUNTS.c.id == bindparam("b_account"))
_BINDINGS = (
    select(
        BINDINGS.c.id,
        BINDINGS.c.program_id,
        BINDINGS.c.prompt_id,
        BINDINGS.c.schedule_interval_seconds,
        BINDINGS.c.signal_pool_ids,
    )
    .where(BINDINGS.c.account_id == bindparam("b_account"), BINDINGS.c.enabled.is_(True))
    .order_by(BINDINGS.c.id)
)
_LAST_SEQ = select(func.max(DECISIONS.c.seq)).where(
    DECISIONS.c.account_id == bindparam("b_account")
)
# The asking run's own rows do not count: if its first workflow task died unrecorded, the rerun
# mints the same decision ids.
_LAST_SEQ_BEFORE_RUN = _LAST_SEQ.where(
    or_(DECISIONS.c.run_id.is_(None), DECISIONS.c.run_id != bindparam("b_run"))
)
_BOUND_PROGRAM = (
    select(PROGRAMS.c.id, PROGRAMS.c.code)
    .join_from(BINDINGS, PROGRAMS, BINDINGS.c.program_id == PROGRAMS.c.id)
    .where(BINDINGS.c.id == bindparam("b_binding"))
)


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


def symbols_of(s: Session, account_id: int) -> list[str]:
    """The trader's symbols (none: no such trader)."""
    found = s.connection().execute(_SYMBOLS, {"b_account": account_id}).scalar()
    return list(found or [])


def load_config(s: Session, account_id: int, run_id: str | None) -> TraderConfig:
    """What a trader's workflow starts from: its enabled bindings and its last decision number
    (`run_id`'s own rows left out, see LoadConfigInput)."""
    conn = s.connection()
    key = {"b_account": account_id}
    acct = conn.execute(_ACCOUNT, key).first()
    if acct is None:
        return TraderConfig(account_id=account_id, found=False)
    bindings = [
        BindingConfig(
            id=b.id,
            program_id=b.program_id,
            prompt_id=b.prompt_id,
            schedule_interval_seconds=b.schedule_interval_seconds,
            signal_pool_ids=list(b.signal_pool_ids or []),
        )
        for b in conn.execute(_BINDINGS, key)
    ]
    last_seq = (
        conn.execute(_LAST_SEQ_BEFORE_RUN, {**key, "b_run": run_id}).scalar()
        if run_id
        else conn.execute(_LAST_SEQ, key).scalar()
    )
    return TraderConfig(
        account_id=account_id,
        found=True,
        deleted=acct.is_deleted,
        bindings=bindings,
        last_seq=last_seq or 0,
        paper=acct.exchange == Exchange.PAPER,
        breakers=acct.daily_loss_limit_pct is not None or acct.max_drawdown_pct is not None,
    )


def record_status(s: Session, account_id: int, status: str, reason: str | None) -> None:
    """The trader's status as its workflow sees it (a deleted trader's row is left alone; a
    change is reported on the live stream: db/account_status.py)."""
    account_status.record(s, account_id, status, reason)


@dataclass
class ProgramSource:
    id: int
    code: str


def bound_program(s: Session, binding_id: int | None) -> ProgramSource | None:
    """The current source of the program bound by `binding_id` (None: no program bound)."""
    row = s.connection().execute(_BOUND_PROGRAM, {"b_binding": binding_id}).first()
    return None if row is None else ProgramSource(id=row.id, code=row.code)
