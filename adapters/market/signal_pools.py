"""A signal pool evaluated on market data: the candles it needs are fetched from the feed and
stored (gaps backfilled), then the pool is evaluated from storage (domain.signals)."""

from __future__ import annotations

from collections.abc import Iterable

from adapters.market.feed import MarketFeed
from db.candles import load_candles, store_candles
from db.session import Sessions
from db.signal_pools import pool_with_definitions
from db.transactions import read
from domain.contracts import EvaluatePoolResult
from domain.market import Candle, Interval
from domain.signals import SignalDefinition, evaluate_pool

# The history a pool is evaluated on: at least EVAL_CANDLES, and for a long period what its
# definitions need plus WARM_UP (an EMA or RSI is seeded from its first values and settles over
# the candles after them). Without the second term a period above ~300 had no value and its
# signal never matched, silently.
EVAL_CANDLES = 300
WARM_UP = 100


def candles_to_fetch(definitions: Iterable[SignalDefinition]) -> dict[Interval, int]:
    """How many closed candles each timeframe of the enabled `definitions` is evaluated on."""
    need: dict[Interval, int] = {}
    for d in definitions:
        if d.enabled:
            want = max(EVAL_CANDLES, d.candles_needed() + WARM_UP)
            need[d.timeframe] = max(need.get(d.timeframe, 0), want)
    return need


async def evaluate_stored_pool(
    sessions: Sessions, feed: MarketFeed, pool_id: int, now_ms: int
) -> EvaluatePoolResult:
    """The pool's results at `now_ms` (none: no such pool)."""
    pool, defs = await read(sessions, lambda s: pool_with_definitions(s, pool_id))
    if pool is None:
        return EvaluatePoolResult()
    candles = await pool_candles(
        sessions, feed, pool.symbols, candles_to_fetch(defs.values()), now_ms
    )
    return EvaluatePoolResult(results=evaluate_pool(pool, defs, candles, now_ms=now_ms))


async def pool_candles(
    sessions: Sessions,
    feed: MarketFeed,
    symbols: list[str],
    timeframes: dict[Interval, int],
    now_ms: int,
) -> dict[str, dict[str, list[Candle]]]:
    """Closed candles per symbol and interval (as many as `timeframes` says for each), up to
    `now_ms`, as stored after this fetch."""
    candles: dict[str, dict[str, list[Candle]]] = {}
    for symbol in symbols:
        candles[symbol] = {}
        for tf, count in timeframes.items():
            fresh = await feed.get_klines(symbol, tf, count, now_ms)
            await store_candles(sessions, feed.name, symbol, tf, fresh)
            candles[symbol][tf.value] = await load_candles(
                sessions, feed.name, symbol, tf, now_ms, count
            )
    return candles
