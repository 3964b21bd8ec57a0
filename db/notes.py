"""A note in the decision log: a trigger that made no decision (skipped, paused, failed before a
decision row existed), recorded once by its key (see db/decisions.py). Runs inside one write
transaction (db/transactions.py), which also reports the note on the live stream."""

from __future__ import annotations

from sqlalchemy.orm import Session

from db import events, stream_events
from db.base import utcnow
from db.decisions import claim, create_row
from domain.contracts import RecordNoteInput, RecordNoteResult
from domain.ids import decision_id


def record_note(s: Session, req: RecordNoteInput) -> RecordNoteResult:
    """Record the note unless this trigger's row exists; either way, say where it lives."""
    claimed = claim(
        s,
        req.account_id,
        req.trigger_key,
        req.decision_id,
        req.seq,
        lambda seq: decision_id(req.account_id, seq),
    )
    if not claimed.found:  # recorded once: a rerun finds the note by its key
        now, code = utcnow(), req.status.upper()
        create_row(
            s,
            claimed.decision_id,
            account_id=req.account_id,
            seq=claimed.seq,
            trigger_type=req.trigger_type,
            trigger_context=req.context,
            trigger_key=req.trigger_key or None,
            status=req.status,
            error_code=code,
            error=req.error,
            workflow_id=req.workflow_id,
            run_id=req.run_id,
            completed_at=now,
        )
        # The decision log's new line, on the live stream too (a note has no decision).
        events.append(
            s,
            stream_events.decision_finished(
                req.account_id, claimed.decision_id, claimed.seq, req.trigger_type, req.status,
                None, None, code, now,
            ),
        )  # fmt: skip
    return RecordNoteResult(decision_id=claimed.decision_id, seq=claimed.seq)
