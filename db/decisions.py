"""The decision row every step writes to: created once, by whichever step gets there first.

Decided once. A workflow task that ran a decision's local steps can be lost after they committed
(its completion refused, the worker killed or stalled past the task timeout): Temporal then runs
the task again from the last recorded event, and the steps run again. So each step's result is
kept the first time it commits and every later attempt gets that result back instead of making
a new one: the row is claimed by its trigger's key (`claim`), the context and the strategy's
output are first-write-wins (`record_output`), and intents and outcome likewise
(db/decided_once.py). A rerun therefore walks the same path to the same orders, which the venues
deduplicate by client order id.

The functions run inside a synchronous transaction (db/transactions.py). The per-decision ones
(`found`, `insert_new`, `claim`, `record_output`) are SQLAlchemy Core statements on the
session's connection: the ORM's identity map and unit of work cost more CPU than the statements
themselves, several times per decision. The statements are built once (values are bound at
execution): building one costs several times more than running it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.tables import DECISIONS

_ID: BindParameter[str] = bindparam("b_id")
INSERT = insert(DECISIONS)
# One statement for the usual case, a new decision: nothing is inserted if the id or the
# trigger's key is taken (then `claim` says which).
# Why RETURNING, not the rowcount: psycopg reports a row for a conflict that inserted nothing.
_INSERT_NEW = {
    "postgresql": postgresql.insert(DECISIONS).on_conflict_do_nothing().returning(DECISIONS.c.id),
    "sqlite": sqlite.insert(DECISIONS).on_conflict_do_nothing().returning(DECISIONS.c.id),
}
_ACCOUNT: BindParameter[int] = bindparam("b_account")
_CLAIM_COLUMNS = (
    DECISIONS.c.id,
    DECISIONS.c.seq,
    DECISIONS.c.trigger_key,
    DECISIONS.c.completed_at,
    DECISIONS.c.context_summary,
)
BY_KEY = select(*_CLAIM_COLUMNS).where(
    DECISIONS.c.account_id == _ACCOUNT, DECISIONS.c.trigger_key == bindparam("b_key")
)
BY_ID = select(*_CLAIM_COLUMNS).where(DECISIONS.c.id == _ID)
MAX_SEQ = select(func.max(DECISIONS.c.seq)).where(DECISIONS.c.account_id == _ACCOUNT)
SET_OUTPUT = (
    update(DECISIONS)
    .where(DECISIONS.c.id == _ID, DECISIONS.c.strategy_output.is_(None))
    .returning(DECISIONS.c.id)
)
OUTPUT = select(DECISIONS.c.strategy_output).where(DECISIONS.c.id == _ID)


@dataclass
class Claim:
    """The row a trigger's decision lives in.

    `found`: the row exists already (this trigger's, from an earlier attempt; or, without a
    key, the proposed id's). Otherwise the caller inserts it under `decision_id`/`seq`: the
    proposed ones, or the next free ones when another trigger's decision holds the proposed id.
    """

    decision_id: str
    seq: int
    found: bool
    completed: bool = False
    context_summary: dict[str, Any] | None = None


def claim(
    s: Session,
    account_id: int,
    trigger_key: str,
    decision_id: str,
    seq: int,
    mint: Callable[[int], str],
) -> Claim:
    """`mint(seq)`: the id of decision number `seq` (domain.trader.decision_id)."""
    conn = s.connection()
    if trigger_key:
        row = conn.execute(BY_KEY, {"b_account": account_id, "b_key": trigger_key}).first()
        if row is not None:
            return Claim(row.id, row.seq, True, row.completed_at is not None, row.context_summary)
    row = conn.execute(BY_ID, {"b_id": decision_id}).first()
    if row is None:
        return Claim(decision_id, seq, False)
    if not trigger_key:  # a caller without keys (older histories): the id is the key
        return Claim(row.id, row.seq, True, row.completed_at is not None, row.context_summary)
    # Taken by another trigger's decision (made by a workflow task that was lost after its
    # steps committed): this trigger gets the next free number.
    free = (conn.execute(MAX_SEQ, {"b_account": account_id}).scalar() or 0) + 1
    return Claim(mint(free), free, False)


def found(s: Session, account_id: int, trigger_key: str, decision_id: str) -> Claim | None:
    """The row this trigger already has (by its key; without one, by the id), else None."""
    conn = s.connection()
    if trigger_key:
        row = conn.execute(BY_KEY, {"b_account": account_id, "b_key": trigger_key}).first()
    else:
        row = conn.execute(BY_ID, {"b_id": decision_id}).first()
    if row is None:
        return None
    return Claim(row.id, row.seq, True, row.completed_at is not None, row.context_summary)


def insert_new(s: Session, decision_id: str, **values: Any) -> bool:
    """Insert the decision row unless its id or trigger key is taken; True if inserted."""
    conn = s.connection()
    statement = _INSERT_NEW[conn.dialect.name]
    return conn.execute(statement, {"id": decision_id, **values}).first() is not None


def record_output(s: Session, decision_id: str, result: dict[str, Any], **values: Any) -> Any:
    """Record the strategy's output (with `values`) unless an earlier attempt did: then return
    that attempt's output, which stands. None when this one was recorded."""
    conn = s.connection()
    done = conn.execute(SET_OUTPUT, {"b_id": decision_id, "strategy_output": result, **values})
    if done.first() is not None:
        return None
    row = conn.execute(OUTPUT, {"b_id": decision_id}).first()
    if row is None:
        raise LookupError(f"decision {decision_id} has no row")
    return row.strategy_output


def recorded_output(s: Session, decision_id: str) -> Any:
    """The strategy output recorded for the decision (None: not yet)."""
    return s.connection().execute(OUTPUT, {"b_id": decision_id}).scalar()


def create_row(s: Session, decision_id: str, **values: Any) -> None:
    s.connection().execute(INSERT, {"id": decision_id, **values})


_SNAPSHOT = select(DECISIONS.c.input_snapshot).where(DECISIONS.c.id == _ID)


def input_snapshot(s: Session, decision_id: str) -> Any:
    """The decision's stored input snapshot; LookupError if it has none."""
    snapshot = s.connection().execute(_SNAPSHOT, {"b_id": decision_id}).scalar()
    if snapshot is None:
        raise LookupError(f"decision {decision_id} has no input snapshot")
    return snapshot


_LLM_EXCHANGE = select(DECISIONS.c.llm_exchange).where(DECISIONS.c.id == _ID)


def llm_exchange(s: Session, decision_id: str) -> Any:
    """What the decision recorded of its model call so far (None: nothing)."""
    return s.connection().execute(_LLM_EXCHANGE, {"b_id": decision_id}).scalar()


def insert_or_claim(
    s: Session,
    account_id: int,
    trigger_key: str,
    decision_id: str,
    seq: int,
    mint: Callable[[int], str],
    **values: Any,
) -> Claim:
    """Insert this trigger's decision row with `values`: under the proposed id, or the next free
    one when another trigger's decision holds it. If an attempt running alongside stored the
    row first, nothing is written and its claim (`found`) is the answer: its row stands."""
    row = {"account_id": account_id, "trigger_key": trigger_key or None, **values}
    if insert_new(s, decision_id, seq=seq, **row):
        return Claim(decision_id, seq, False)
    claimed = claim(s, account_id, trigger_key, decision_id, seq, mint)
    if not claimed.found:
        create_row(s, claimed.decision_id, seq=claimed.seq, **row)
    return claimed
