"""Trader configuration and decision-log writes. Every write is idempotent by its natural id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from temporalio import activity

from db.base import utcnow
from db.decisions import create_row, decision_row, decision_state, set_fields
from db.tables import ACCOUNTS, BINDINGS, DECISIONS, ORDERS
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
    RecordStatusInput,
    TraderConfig,
)
from domain.orders import OrderStatus

# Built once, values bound at execution (see db/decisions.py).
_KNOWN_ORDERS = select(ORDERS.c.client_order_id).where(
    ORDERS.c.client_order_id.in_(bindparam("b_ids", expanding=True))
)
_INSERT_ORDER = insert(ORDERS)
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
    async def record_note(self, req: RecordNoteInput) -> None:
        def note(s: Session) -> None:
            decision_row(
                s,
                req.decision_id,
                account_id=req.account_id,
                seq=req.seq,
                trigger_type=req.trigger_type,
                trigger_context=req.context,
                status=req.status,
                error_code=req.status.upper(),
                error=req.error,
                workflow_id=req.workflow_id,
                run_id=req.run_id,
                completed_at=utcnow(),
            )

        await write(self.sessions, note)

    @activity.defn(name=Activity.RECORD_INTENTS)
    async def record_order_intents(self, req: RecordIntentsInput) -> RecordIntentsResult:
        def intents(s: Session) -> None:
            conn = s.connection()
            ids = [i.client_order_id for i in req.intents]
            known = set(conn.scalars(_KNOWN_ORDERS, {"b_ids": ids}))
            rows = []
            for intent in req.intents:
                if intent.client_order_id in known:
                    continue
                known.add(intent.client_order_id)
                rows.append(
                    {
                        "client_order_id": intent.client_order_id,
                        "decision_id": req.decision_id,
                        "account_id": intent.account_id,
                        "leg": intent.leg,
                        "symbol": intent.symbol,
                        "side": intent.side,
                        "reduce_only": intent.reduce_only,
                        "size_usd": intent.size_usd,
                        "leverage": intent.leverage,
                        "take_profit_pct": intent.take_profit_pct,
                        "stop_loss_pct": intent.stop_loss_pct,
                        "status": OrderStatus.INTENT.value,
                    }
                )
            if rows:
                conn.execute(_INSERT_ORDER, rows)

        await write(self.sessions, intents)
        return RecordIntentsResult(recorded=len(req.intents))

    @activity.defn(name=Activity.FINISH_DECISION)
    async def finish_decision(self, req: FinishDecisionInput) -> DecisionOutcome:
        await write(self.sessions, lambda s: _finish(s, req))
        return DecisionOutcome(
            decision_id=req.decision_id,
            status=req.status,
            risk_verdict=req.risk_verdict,
            error_code=req.error_code,
            error=req.error,
            orders=req.orders,
        )


def _finish(s: Session, req: FinishDecisionInput) -> None:
    values: dict[str, Any] = {
        "status": req.status,
        "risk_verdict": req.risk_verdict.model_dump(mode="json") if req.risk_verdict else None,
    }
    if req.error_code or req.error:
        values.update(error_code=req.error_code, error=req.error)
    now = utcnow()
    row = decision_state(s, req.decision_id)
    if row is None:  # context gathering never created it
        if req.llm:
            values["llm_exchange"] = req.llm
        if req.decision is not None:
            values["output"] = {"decision": req.decision.model_dump(mode="json")}
        create_row(
            s,
            req.decision_id,
            account_id=req.account_id,
            seq=req.seq,
            binding_id=req.binding_id,
            trigger_type=req.trigger_type,
            trigger_context=req.trigger_context,
            completed_at=now,
            **values,
        )
    else:
        if req.llm:
            values["llm_exchange"] = {**(row.llm_exchange or {}), **req.llm}
        if req.decision is not None and row.output is None:  # prompt strategies
            values["output"] = {"decision": req.decision.model_dump(mode="json")}
        if row.completed_at is None:
            values["completed_at"] = now
            if row.created_at is not None:
                created = row.created_at
                if created.tzinfo is None:
                    created = created.replace(tzinfo=now.tzinfo)
                values["duration_ms"] = int((now - created).total_seconds() * 1000)
        set_fields(s, req.decision_id, **values)
    s.connection().execute(
        _ACCOUNT_STATUS,
        {
            "b_account": req.account_id,
            "status": req.trader_status,
            "status_reason": req.trader_status_reason,
        },
    )
