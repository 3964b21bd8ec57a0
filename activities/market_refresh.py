"""The market-history refresh's activity (domain/market_refresh.py): each venue series' last
settlements through the backfill's venue client (polite: one request at a time per venue), and
the aged open-interest samples deleted. Run on the backfill queue."""

from __future__ import annotations

import logging
from functools import partial

from temporalio import activity

from adapters.market.history import HistoryClient, RateLimited, VenueRefused, VenueUnavailable
from db.factor_history import store_funding, trim_open_interest, venue_series
from db.session import Sessions
from db.transactions import read, write
from domain.backfill import history_source
from domain.market_refresh import REFRESH_MARKET_HISTORY, MarketRefreshInput, MarketRefreshResult
from domain.vocabulary import Exchange

log = logging.getLogger("hyperoru.market_refresh")


class MarketRefreshActivities:
    def __init__(self, sessions: Sessions, venues: HistoryClient, paper_source: str | None) -> None:
        self.sessions = sessions
        self.venues = venues
        self.paper_source = paper_source

    @activity.defn(name=REFRESH_MARKET_HISTORY)
    async def refresh(self, req: MarketRefreshInput) -> MarketRefreshResult:
        assert req.now_ms is not None  # the workflow sets it
        now = req.now_ms
        series = await read(
            self.sessions, lambda s: venue_series(s.connection(), self.paper_source)
        )
        out = MarketRefreshResult(series=len(series))
        for exchange, environment, symbol in sorted(series):
            source = history_source(exchange, environment)
            try:
                rates, _ = await self.venues.funding(
                    Exchange(exchange), environment, symbol, now - req.lookback_ms, now
                )
            except (RateLimited, VenueRefused, VenueUnavailable) as err:
                # One venue or symbol failing leaves the others' history fresh; the next pass
                # asks again (a day's lookback covers a missed pass).
                out.failed.append(f"{source}:{symbol}: {err}")
                continue
            store = partial(store_funding, source=source, symbol=symbol, rates=rates)
            out.funding_rows += await write(self.sessions, store)
        cutoff = now - req.open_interest_retention_ms
        out.open_interest_trimmed = await write(
            self.sessions, partial(trim_open_interest, before_ms=cutoff)
        )
        if out.failed:
            log.warning("market history refresh: %d series failed: %s", len(out.failed), out.failed)
        return out
