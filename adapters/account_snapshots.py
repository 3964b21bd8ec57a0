"""A live trader's venue account stored as a snapshot (db/account_snapshots.py): by the API's
state reads and by the worker's account syncs (adapters/account_sync.py)."""

from __future__ import annotations

from adapters.exchanges.base import AccountView
from db import account_snapshots
from db.account_snapshots import Reading, Stored
from db.session import Sessions
from db.transactions import write


def reading_of(view: AccountView) -> Reading:
    """The venue's balances: `balance_total` is the account's value with unrealized PnL
    (Hyperliquid's accountValue, Binance's totalMarginBalance), `balance_available` what it
    says is free (withdrawable, availableBalance)."""
    return Reading(
        balance_total=view.equity_usd,
        balance_available=view.available_usd,
        margin_used=view.used_margin_usd,
        unrealized_pnl=view.unrealized_pnl_usd,
    )


async def record_view(sessions: Sessions, account_id: int, view: AccountView) -> Stored | None:
    """Store `view` under the trader's exchange and environment, in one write transaction;
    None for a trader without a venue environment."""
    reading = reading_of(view)
    return await write(sessions, lambda s: account_snapshots.record_live(s, account_id, reading))
