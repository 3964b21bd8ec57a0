"""Signal pools: loading a pool (db/signal_pools.py), evaluating it on stored candles
(adapters/market/signal_pools.py), and delivering a fire to bound traders
(runtime.temporal.deliver_fire)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio import activity
from temporalio.client import Client

from adapters.market.feed import MarketFeed
from adapters.market.signal_pools import evaluate_stored_pool
from db.session import Sessions
from db.signal_pools import bound_traders, pool_config
from db.transactions import read
from domain.contracts import (
    Activity,
    EvaluatePoolInput,
    EvaluatePoolResult,
    FanOutInput,
    FanOutResult,
    PoolConfig,
    PoolConfigInput,
)
from domain.signal_pool import trader_signal
from runtime.temporal import deliver_fire

# Signals in flight at once; also the batch after which the fan-out heartbeats its progress.
FAN_OUT_CONCURRENCY = 200


class SignalActivities:
    def __init__(
        self, sessions: Sessions, feed: MarketFeed, client: Client | None, task_queue: str
    ) -> None:
        self.sessions = sessions
        self.feed = feed
        self.client = client
        self.task_queue = task_queue

    @activity.defn(name=Activity.LOAD_POOL)
    async def load_signal_pool(self, req: PoolConfigInput) -> PoolConfig:
        return await read(self.sessions, lambda s: pool_config(s, req.pool_id))

    @activity.defn(name=Activity.EVALUATE_POOL)
    async def evaluate_signal_pool(self, req: EvaluatePoolInput) -> EvaluatePoolResult:
        """Ingest the candles the pool needs (backfilling gaps), then evaluate from storage."""
        return await evaluate_stored_pool(self.sessions, self.feed, req.pool_id, req.now_ms)

    @activity.defn(name=Activity.FAN_OUT_FIRE)
    async def fan_out_fire(self, req: FanOutInput) -> FanOutResult:
        """Signal every live trader bound to the pool, in id order, heartbeating the last one
        reached after each batch; a retry resumes after it. Traders dedupe by fire id, so a
        retry delivers nothing twice; deleted traders never get it. Returns the traders this
        attempt reached."""
        assert self.client is not None
        targets = await read(self.sessions, lambda s: bound_traders(s, req.fire.pool_id))
        # A retry resumes after the last trader the previous attempt heartbeated.
        done_up_to = _heartbeat_cursor(activity.info().heartbeat_details)
        targets = [a for a in targets if done_up_to is None or a > done_up_to]
        delivered = await deliver_fire(
            self.client, targets, trader_signal(req.fire), FAN_OUT_CONCURRENCY, activity.heartbeat
        )
        return FanOutResult(delivered=sorted(delivered))


def _heartbeat_cursor(details: Sequence[Any]) -> int | None:
    """The last trader id a previous attempt reached, or None (first attempt, or unreadable)."""
    try:
        return int(details[0]) if details else None
    except (TypeError, ValueError):
        return None
