"""Context gathering (strategies/context.py) and account sync (adapters/account_sync.py)."""

from __future__ import annotations

from temporalio import activity

from activities.heartbeat import with_heartbeats
from activities.outage import attempts_unless_database_outage
from adapters.account_sync import AccountSync
from adapters.exchanges.router import ExchangeRouter
from db.session import Sessions
from domain import profiles
from domain.contracts import (
    Activity,
    ContextSummary,
    GatherContextInput,
    SyncAccountInput,
    SyncAccountResult,
)
from strategies.context import ContextGatherer
from strategies.handoff import SnapshotHandOff


class ContextActivities:
    def __init__(
        self, sessions: Sessions, exchange: ExchangeRouter, handoff: SnapshotHandOff | None = None
    ) -> None:
        self.context = ContextGatherer(sessions, exchange, handoff)
        self.accounts = AccountSync(sessions, exchange)

    @activity.defn(name=Activity.GATHER_CONTEXT)
    async def gather_context(self, req: GatherContextInput) -> ContextSummary:
        with attempts_unless_database_outage(profiles.GATHER.attempts):
            return await self.context.gather(req)

    @activity.defn(name=Activity.SYNC_ACCOUNT)
    async def sync_account(self, req: SyncAccountInput) -> SyncAccountResult:
        """Reconcile with the exchange: fills and TP/SL triggers recorded, unsettled orders
        settled, drift recorded (see adapters/exchanges/reconcile.py)."""
        return await with_heartbeats(self.accounts.sync(req))
