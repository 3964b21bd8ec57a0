"""A signal pool evaluated on market data: the candles it needs are fetched from the feed and
stored (gaps backfilled), then the pool is evaluated from storage (domain.signals)."""

from __future__ import annotations

from adapters.market.feed import MarketFeed
from db.candles import load_candles, store_candles
from db.session import Sessions
from db.signal_pools import pool_with_definitions
from db.transactions import read
from domain.contracts import EvaluatePoolResult
from domain.market import Candle, Interval
from domain.signals import evaluate_pool

EVAL_CANDLES = 300  # enough history for every indicator's warm-up


async def evaluate_stored_pool(
    sessions: Sessions, feed: MarketFeed, pool_id: int, now_ms: int
) -> EvaluatePoolResult:
    """The pool's results at `now_ms` (none: no such pool)."""
    pool, defs = await read(sessions, lambda s: pool_with_definitions(s, pool_id))
    if pool is None:
        return EvaluatePoolResult()
    timeframes = {d.timeframe for d in defs.values() if d.enabled}
    candles = await pool_candles(sessions, feed, pool.symbols, timeframes, now_ms)
    return EvaluatePoolResult(results=evaluate_pool(pool, defs, candles, now_ms=now_ms))


async def pool_candles(
    sessions: Sessions,
    feed: MarketFeed,
    symbols: list[str],
    timeframes: set[Interval],
    now_ms: int,
) -> dict[str, dict[str, list[Candle]]]:
    """Closed candles per symbol and interval, up to `now_ms`, as stored after this fetch."""
    candles: dict[str, dict[str, list[Candle]]] = {}
    for symbol in symbols:
        candles[symbol] = {}
        for tf in timeframes:
            fresh = await feed.get_klines(symbol, tf, EVAL_CANDLES, now_ms)
            await store_candles(sessions, feed.name, symbol, tf, fresh)
            candles[symbol][tf.value] = await load_candles(
                sessions, feed.name, symbol, tf, now_ms, EVAL_CANDLES
            )
    return candles
