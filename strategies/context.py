"""A decision's context: market data and account state for one decision, stored as the input
snapshot a strategy decides on (and handed to the strategy step in memory, see handoff.py).

Decided once (db/decisions.py): a trigger whose decision an earlier attempt already gathered
gets that context back, with no new market data and no new snapshot.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.orm import Session

from adapters.exchanges.router import ExchangeRouter
from adapters.market.snapshot import market_snapshot, now_ms, snapshot_dict, snapshot_json
from db.base import utcnow
from db.decisions import Claim, found, insert_or_claim
from db.factor_history import factor_histories, record_open_interest
from db.session import EncodedJSON, Sessions
from db.traders import account_basics
from db.transactions import read, write
from domain.contracts import ContextSummary, GatherContextInput
from domain.ids import decision_id
from domain.risk import RiskLimits
from strategies.handoff import SnapshotHandOff

_NOT_STORED = {"decision_id", "seq", "completed"}


def recorded_context(claimed: Claim) -> ContextSummary:
    """This trigger's decision as an earlier attempt recorded it: the same context again (no
    new market data, no new snapshot), or, if it is finished, just that."""
    ids: dict[str, Any] = {"decision_id": claimed.decision_id, "seq": claimed.seq}
    if claimed.completed or claimed.context_summary is None:
        # Finished, or (a row from before context summaries) not reusable: finish_decision
        # answers with what is recorded.
        return ContextSummary.model_validate(
            {"ok": False, "completed": True, "error": "already decided", **ids}
        )
    return ContextSummary.model_validate({**claimed.context_summary, **ids})


class ContextGatherer:
    def __init__(
        self, sessions: Sessions, exchange: ExchangeRouter, handoff: SnapshotHandOff | None = None
    ) -> None:
        self.sessions = sessions
        self.exchange = exchange
        self.handoff = handoff

    async def gather(self, req: GatherContextInput) -> ContextSummary:
        started = utcnow()

        def look(s: Session) -> tuple[Claim | None, tuple[list[str], RiskLimits] | None]:
            earlier = found(s, req.account_id, req.trigger_key, req.decision_id)
            return earlier, account_basics(s, req.account_id)

        earlier, acct = await read(self.sessions, look)
        if earlier is not None:
            return recorded_context(earlier)
        if acct is None:
            return ContextSummary(decision_id=req.decision_id, ok=False, error="account not found")
        symbols, limits = acct
        at = now_ms()
        feed = await self.exchange.feed_for(req.account_id)
        prices, klines = await market_snapshot(feed, symbols, at)
        view = await self.exchange.sync(req.account_id, prices)
        trigger = {"type": req.trigger_type, **req.trigger_context}
        snap = snapshot_dict(symbols, at, prices, klines, view, trigger)
        extras = await self.exchange.market_extras(req.account_id, symbols)
        snap.update(extras)
        # The funding and open-interest factors' histories, as stored before this decision.
        source = await self.exchange.history_source(req.account_id)
        open_interest = cast(dict[str, str], extras.get("open_interest") or {})
        if source is not None:
            snap.update(
                await read(
                    self.sessions,
                    lambda s: factor_histories(s.connection(), source, symbols, at, open_interest),
                )
            )
        encoded = snapshot_json(snap)
        summary = ContextSummary(
            decision_id=req.decision_id,
            ok=True,
            symbols=symbols,
            prices=prices,
            positions=view.positions,
            available_usd=view.available_usd,
            equity_usd=view.equity_usd,
            limits=limits,
            paper=await self.exchange.is_paper(req.account_id),
        )

        # One write per gathering: the row with its snapshot and the context the decision is
        # made on (a failure before this point leaves no row; finish_decision creates it then).
        # Claimed again inside the write: an attempt running alongside may have stored first,
        # and then its context stands.
        def store(s: Session) -> Claim:
            record_open_interest(s.connection(), source, open_interest, at)
            return insert_or_claim(
                s,
                req.account_id,
                req.trigger_key,
                req.decision_id,
                req.seq,
                lambda seq: decision_id(req.account_id, seq),
                input_snapshot=EncodedJSON(encoded.decode()),
                binding_id=req.binding_id,
                trigger_type=req.trigger_type,
                trigger_context=req.trigger_context,
                context_summary=EncodedJSON(summary.model_dump_json(exclude=_NOT_STORED)),
                workflow_id=req.workflow_id,
                run_id=req.run_id,
                created_at=started,
            )

        claimed = await write(self.sessions, store)
        if claimed.found:
            return recorded_context(claimed)
        if self.handoff is not None:
            # Stored first: the row stays the record.
            self.handoff.put(claimed.decision_id, snap, encoded)
        return summary.model_copy(update={"decision_id": claimed.decision_id, "seq": claimed.seq})
