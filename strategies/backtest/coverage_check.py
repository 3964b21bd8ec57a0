"""Does the candles table cover a run? The check POST /api/programs/backtest makes before it
starts one, without loading the candles themselves (load_history would hold a year of minutes
in the API process): only the decision interval's open times are read, from the source the run
will read (history.py's own rule), and the same missing ranges are reported as the run's
CoverageError would."""

from __future__ import annotations

from sqlalchemy import select

from adapters.market.snapshot import SNAPSHOT_CANDLES
from db.backtest_history import candle_source
from db.models import CandleRecord
from db.session import Sessions
from strategies.backtest.contract import BacktestConfig
from strategies.backtest.history import first_close, last_close, missing_ranges


async def missing_candles(
    sessions: Sessions, config: BacktestConfig
) -> list[tuple[str, str, int, int]]:
    """(symbol, interval, from_ms, to_ms) ranges of decision bars (warm-up included) with no
    stored candle, oldest first per symbol."""
    iv = config.interval
    c0, ck = first_close(config), last_close(config)
    warm_lo = c0 - SNAPSHOT_CANDLES * iv.ms
    missing: list[tuple[str, str, int, int]] = []
    c = CandleRecord
    async with sessions() as s:
        for symbol in config.symbols:
            source = await candle_source(s, symbol, iv, warm_lo, ck)
            have: set[int] = set()
            if source is not None:
                have = set(
                    await s.scalars(
                        select(c.open_time_ms).where(
                            c.source == source,
                            c.symbol == symbol,
                            c.interval == iv.value,
                            c.open_time_ms >= warm_lo,
                            c.open_time_ms < ck,
                        )
                    )
                )
            missing += missing_ranges(symbol, iv, have, warm_lo, ck)
    return missing
