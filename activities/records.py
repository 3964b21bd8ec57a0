"""Trader configuration and decision-log writes. Every write is idempotent by its natural id."""

from __future__ import annotations

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from temporalio import activity

from db import decided_once
from db.base import utcnow
from db.decisions import claim, create_row
from db.tables import ACCOUNTS, BINDINGS, DECISIONS
from db.transactions import read, write
from domain.contracts import (
    Activity,
    BindingConfig,
    DecisionOutcome,
    FinishDecisionInput,
    LoadConfigInput,
    RecordIntentsInput,
    RecordIntentsResult,
    RecordNoteInput,
    RecordNoteResult,
    RecordStatusInput,
    TraderConfig,
)
from domain.ids import decision_id

# Built once, values bound at execution (see db/decisions.py).
_ACCOUNT_STATUS = update(ACCOUNTS).where(
    ACCOUNTS.c.id == bindparam("b_account"), ACCOUNTS.c.is_deleted.is_(False)
)
_ACCOUNT = select(ACCOUNTS.c.is_deleted, ACCOUNTS.c.exchange).where(
    ACCOUNTS.c.id == bindparam("b_account")
)
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


def _load_config(s: Session, req: LoadConfigInput) -> TraderConfig:
    conn = s.connection()
    key = {"b_account": req.account_id}
    acct = conn.execute(_ACCOUNT, key).first()
    if acct is None:
        return TraderConfig(account_id=req.account_id, found=False)
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
        conn.execute(_LAST_SEQ_BEFORE_RUN, {**key, "b_run": req.run_id}).scalar()
        if req.run_id
        else conn.execute(_LAST_SEQ, key).scalar()
    )
    return TraderConfig(
        account_id=req.account_id,
        found=True,
        deleted=acct.is_deleted,
        bindings=bindings,
        last_seq=last_seq or 0,
        paper=acct.exchange == "paper",
    )


class RecordActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name=Activity.LOAD_CONFIG)
    async def load_trader_config(self, req: LoadConfigInput) -> TraderConfig:
        return await read(self.sessions, lambda s: _load_config(s, req))

    @activity.defn(name=Activity.RECORD_STATUS)
    async def record_trader_status(self, req: RecordStatusInput) -> None:
        values = {
            "b_account": req.account_id,
            "status": req.status,
            "status_reason": req.reason,
            "trading_enabled": req.status != "Paused",
        }
        await write(self.sessions, lambda s: s.connection().execute(_ACCOUNT_STATUS, values))

    @activity.defn(name=Activity.RECORD_NOTE)
    async def record_note(self, req: RecordNoteInput) -> RecordNoteResult:
        def note(s: Session) -> RecordNoteResult:
            claimed = claim(
                s,
                req.account_id,
                req.trigger_key,
                req.decision_id,
                req.seq,
                lambda seq: decision_id(req.account_id, seq),
            )
            if not claimed.found:  # recorded once: a rerun finds the note by its key
                create_row(
                    s,
                    claimed.decision_id,
                    account_id=req.account_id,
                    seq=claimed.seq,
                    trigger_type=req.trigger_type,
                    trigger_context=req.context,
                    trigger_key=req.trigger_key or None,
                    status=req.status,
                    error_code=req.status.upper(),
                    error=req.error,
                    workflow_id=req.workflow_id,
                    run_id=req.run_id,
                    completed_at=utcnow(),
                )
            return RecordNoteResult(decision_id=claimed.decision_id, seq=claimed.seq)

        return await write(self.sessions, note)

    @activity.defn(name=Activity.RECORD_INTENTS)
    async def record_order_intents(self, req: RecordIntentsInput) -> RecordIntentsResult:
        return await write(self.sessions, lambda s: decided_once.record_intents(s, req))

    @activity.defn(name=Activity.FINISH_DECISION)
    async def finish_decision(self, req: FinishDecisionInput) -> DecisionOutcome:
        return await write(self.sessions, lambda s: decided_once.finish(s, req))
