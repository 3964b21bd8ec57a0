"""The market-history refresh (MarketRefreshWorkflow, a Temporal Schedule's job on the backfill
queue): the last day's funding settlements of every symbol a trader reads a venue's market data
for, stored in funding_rates, and the open-interest samples past their retention trimmed.

Why: the funding factor reads stored settlements (db/factor_history.py); without this job they
would exist only where a user ran a backfill, and stop at its end.
"""

from __future__ import annotations

from pydantic import BaseModel

REFRESH_MARKET_HISTORY = "refresh_market_history"  # the activity's name
DAY_MS = 86_400_000


class MarketRefreshInput(BaseModel):
    # The pass's time (the schedule starts it without one: the workflow's time then).
    now_ms: int | None = None
    lookback_ms: int = DAY_MS
    open_interest_retention_ms: int = 7 * DAY_MS


class MarketRefreshResult(BaseModel):
    funding_rows: int = 0  # settlements stored that were not stored yet
    series: int = 0  # (source, symbol) pairs asked of the venues
    failed: list[str] = []  # "source:symbol: error" for the ones a venue did not answer
    open_interest_trimmed: int = 0
