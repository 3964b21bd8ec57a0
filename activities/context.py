"""Context gathering: market data and account state for one decision, stored as its snapshot."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from temporalio import activity

from activities.heartbeat import with_heartbeats
from activities.outage import attempts_unless_database_outage
from adapters.exchanges.client import ExchangeError
from adapters.exchanges.reconcile import Reconciler, last_trade_row
from adapters.exchanges.router import ExchangeRouter
from adapters.market.snapshot import market_snapshot, now_ms, snapshot_dict, snapshot_json
from db.base import utcnow
from db.decisions import Claim, claim, create_row, found, insert_new
from db.session import EncodedJSON
from db.traders import account_basics, symbols_of
from db.transactions import read, write
from domain import profiles
from domain.contracts import (
    Activity,
    ContextSummary,
    GatherContextInput,
    SyncAccountInput,
    SyncAccountResult,
)
from domain.risk import RiskLimits
from domain.trader import decision_id
from strategies.handoff import SnapshotHandOff

_NOT_STORED = {"decision_id", "seq", "completed"}


def _claim(s: Session, req: GatherContextInput) -> Claim:
    return claim(
        s,
        req.account_id,
        req.trigger_key,
        req.decision_id,
        req.seq,
        lambda seq: decision_id(req.account_id, seq),
    )


def _recorded(claimed: Claim) -> ContextSummary:
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


class ContextActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        exchange: ExchangeRouter,
        handoff: SnapshotHandOff | None = None,
    ) -> None:
        self.sessions = sessions
        self.exchange = exchange
        self.handoff = handoff
        self.reconciler = Reconciler(sessions, exchange)

    @activity.defn(name=Activity.GATHER_CONTEXT)
    async def gather_context(self, req: GatherContextInput) -> ContextSummary:
        with attempts_unless_database_outage(profiles.GATHER.attempts):
            return await self._gather(req)

    async def _gather(self, req: GatherContextInput) -> ContextSummary:
        started = utcnow()

        def look(s: Session) -> tuple[Claim | None, tuple[list[str], RiskLimits] | None]:
            earlier = found(s, req.account_id, req.trigger_key, req.decision_id)
            return earlier, account_basics(s, req.account_id)

        earlier, acct = await read(self.sessions, look)
        if earlier is not None:
            return _recorded(earlier)
        if acct is None:
            return ContextSummary(decision_id=req.decision_id, ok=False, error="account not found")
        symbols, limits = acct
        at = now_ms()
        feed = await self.exchange.feed_for(req.account_id)
        prices, klines = await market_snapshot(feed, symbols, at)
        view = await self.exchange.sync(req.account_id, prices)
        trigger = {"type": req.trigger_type, **req.trigger_context}
        snap = snapshot_dict(symbols, at, prices, klines, view, trigger)
        snap.update(await self.exchange.market_extras(req.account_id, symbols))
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
            values = {
                "input_snapshot": EncodedJSON(encoded.decode()),
                "account_id": req.account_id,
                "binding_id": req.binding_id,
                "trigger_type": req.trigger_type,
                "trigger_context": req.trigger_context,
                "trigger_key": req.trigger_key or None,
                "context_summary": EncodedJSON(summary.model_dump_json(exclude=_NOT_STORED)),
                "workflow_id": req.workflow_id,
                "run_id": req.run_id,
                "created_at": started,
            }
            if insert_new(s, req.decision_id, seq=req.seq, **values):
                return Claim(req.decision_id, req.seq, False)
            claimed = _claim(s, req)  # an attempt alongside stored first, or the id is taken
            if not claimed.found:
                create_row(s, claimed.decision_id, seq=claimed.seq, **values)
            return claimed

        claimed = await write(self.sessions, store)
        if claimed.found:
            return _recorded(claimed)
        if self.handoff is not None:
            # Stored first: the row stays the record.
            self.handoff.put(claimed.decision_id, snap, encoded)
        return summary.model_copy(update={"decision_id": claimed.decision_id, "seq": claimed.seq})

    @activity.defn(name=Activity.SYNC_ACCOUNT)
    async def sync_account(self, req: SyncAccountInput) -> SyncAccountResult:
        """Reconcile with the exchange: fills and TP/SL triggers recorded, unsettled orders
        settled, drift recorded (see adapters/exchanges/reconcile.py)."""
        return await with_heartbeats(self._sync(req))

    async def _sync(self, req: SyncAccountInput) -> SyncAccountResult:
        def before_sync(s: Session) -> tuple[list[str], int]:
            # The last trade row before the sync: fills after it are the sync's findings.
            return symbols_of(s, req.account_id), last_trade_row(s, req.account_id)

        symbols, trades_before = await read(self.sessions, before_sync)
        try:
            before = await self.exchange.view(req.account_id, {})
        except ExchangeError as err:
            if err.code == "NOT_CONNECTED":  # a live trader without keys yet holds nothing
                return SyncAccountResult(open_positions=0)
            raise
        held = sorted({*symbols, *(p.symbol for p in before.positions)})
        at = now_ms()
        feed = await self.exchange.feed_for(req.account_id)
        marks = {sym: await feed.get_price(sym, at) for sym in held}
        after = await self.exchange.sync(req.account_id, marks)
        report = await self.reconciler.run(req.account_id, req.reason, after, trades_before)
        closed = len(before.positions) - len(after.positions)
        return SyncAccountResult(
            open_positions=len(after.positions),
            trigger_fills=max(closed, 0),
            fills_recorded=report.fills_recorded,
            orders_resolved=report.orders_resolved,
            drift=report.drift,
        )
