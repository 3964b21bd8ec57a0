"""Trader configuration and decision-log writes (db/traders.py, db/notes.py,
db/decided_once.py). Every write is idempotent by its natural id."""

from __future__ import annotations

from temporalio import activity

from db import decided_once, notes, traders
from db.session import Sessions
from db.transactions import read, write
from domain.contracts import (
    Activity,
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


class RecordActivities:
    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    @activity.defn(name=Activity.LOAD_CONFIG)
    async def load_trader_config(self, req: LoadConfigInput) -> TraderConfig:
        return await read(
            self.sessions, lambda s: traders.load_config(s, req.account_id, req.run_id)
        )

    @activity.defn(name=Activity.RECORD_STATUS)
    async def record_trader_status(self, req: RecordStatusInput) -> None:
        await write(
            self.sessions,
            lambda s: traders.record_status(s, req.account_id, req.status, req.reason),
        )

    @activity.defn(name=Activity.RECORD_NOTE)
    async def record_note(self, req: RecordNoteInput) -> RecordNoteResult:
        return await write(self.sessions, lambda s: notes.record_note(s, req))

    @activity.defn(name=Activity.RECORD_INTENTS)
    async def record_order_intents(self, req: RecordIntentsInput) -> RecordIntentsResult:
        return await write(self.sessions, lambda s: decided_once.record_intents(s, req))

    @activity.defn(name=Activity.FINISH_DECISION)
    async def finish_decision(self, req: FinishDecisionInput) -> DecisionOutcome:
        return await write(self.sessions, lambda s: decided_once.finish(s, req))
