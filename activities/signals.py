"""Signal pools: stored candles, pool evaluation, and delivering a fire to bound traders."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapters.market.feed import MarketFeed
from db.candles import load_candles, store_candles
from db.models import Account, Binding, SignalDefinitionRecord, SignalPoolRecord
from domain.contracts import (
    Activity,
    EvaluatePoolInput,
    EvaluatePoolResult,
    FanOutInput,
    FanOutResult,
    PoolConfig,
    PoolConfigInput,
)
from domain.market import Candle
from domain.signals import PoolLogic, SignalDefinition, SignalPool, evaluate_pool
from domain.trader import SignalFired

log = logging.getLogger("hyperoru.signals")
EVAL_CANDLES = 300  # enough history for every indicator's warm-up
# Signals in flight at once; also the batch after which the fan-out heartbeats its progress.
FAN_OUT_CONCURRENCY = 200


async def pool_with_definitions(
    s: AsyncSession, pool_id: int
) -> tuple[SignalPoolRecord | None, dict[int, SignalDefinition]]:
    rec = await s.get(SignalPoolRecord, pool_id)
    if rec is None:
        return None, {}
    rows = await s.scalars(
        select(SignalDefinitionRecord).where(SignalDefinitionRecord.id.in_(rec.signal_ids or []))
    )
    defs = {
        d.id: SignalDefinition.model_validate({**d.spec, "name": d.name, "enabled": d.enabled})
        for d in rows
    }
    return rec, defs


def pool_model(rec: SignalPoolRecord) -> SignalPool:
    return SignalPool(
        name=rec.name,
        symbols=list(rec.symbols),
        signal_ids=list(rec.signal_ids),
        logic=PoolLogic(rec.logic),
        cooldown_seconds=rec.cooldown_seconds,
        enabled=rec.enabled,
    )


class SignalActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        feed: MarketFeed,
        client: Client | None,
        task_queue: str,
    ) -> None:
        self.sessions = sessions
        self.feed = feed
        self.client = client
        self.task_queue = task_queue

    @activity.defn(name=Activity.LOAD_POOL)
    async def load_signal_pool(self, req: PoolConfigInput) -> PoolConfig:
        async with self.sessions() as s:
            rec, defs = await pool_with_definitions(s, req.pool_id)
        if rec is None:
            return PoolConfig(pool_id=req.pool_id, found=False)
        enabled_defs = [d for d in defs.values() if d.enabled]
        interval = min((d.timeframe.seconds for d in enabled_defs), default=60)
        return PoolConfig(
            pool_id=req.pool_id,
            found=True,
            enabled=rec.enabled,
            pool=pool_model(rec),
            interval_seconds=interval,
        )

    @activity.defn(name=Activity.EVALUATE_POOL)
    async def evaluate_signal_pool(self, req: EvaluatePoolInput) -> EvaluatePoolResult:
        """Ingest the candles the pool needs (backfilling gaps), then evaluate from storage."""
        async with self.sessions() as s:
            rec, defs = await pool_with_definitions(s, req.pool_id)
        if rec is None:
            return EvaluatePoolResult()
        pool = pool_model(rec)
        timeframes = {d.timeframe for d in defs.values() if d.enabled}
        candles: dict[str, dict[str, list[Candle]]] = {}
        for symbol in pool.symbols:
            candles[symbol] = {}
            for tf in timeframes:
                fresh = await self.feed.get_klines(symbol, tf, EVAL_CANDLES, req.now_ms)
                await store_candles(self.sessions, self.feed.name, symbol, tf, fresh)
                candles[symbol][tf.value] = await load_candles(
                    self.sessions, self.feed.name, symbol, tf, req.now_ms, EVAL_CANDLES
                )
        results = evaluate_pool(pool, defs, candles, now_ms=req.now_ms)
        return EvaluatePoolResult(results=results)

    @activity.defn(name=Activity.FAN_OUT_FIRE)
    async def fan_out_fire(self, req: FanOutInput) -> FanOutResult:
        """Signal every live trader bound to the pool, in id order, heartbeating the last one
        reached after each batch; a retry resumes after it. Traders dedupe by fire id, so a
        retry delivers nothing twice; deleted traders never get it. Returns the traders this
        attempt reached."""
        client = self.client
        assert client is not None
        fire = req.fire
        async with self.sessions() as s:
            rows = (
                await s.execute(
                    select(Binding.account_id, Binding.signal_pool_ids)
                    .join(Account, Account.id == Binding.account_id)
                    .where(Account.is_deleted.is_(False), Binding.enabled.is_(True))
                )
            ).all()
        targets = sorted({acct for acct, pools in rows if fire.pool_id in (pools or [])})
        # A retry resumes after the last trader the previous attempt heartbeated.
        done_up_to = _heartbeat_cursor(activity.info().heartbeat_details)
        targets = [a for a in targets if done_up_to is None or a > done_up_to]
        payload = SignalFired(
            fire_id=fire.fire_id,
            pool_id=int(fire.pool_id),
            symbol=fire.symbol,
            context={
                "pool_name": fire.pool_name,
                "logic": fire.logic.value,
                "candle_time_ms": fire.candle_time_ms,
                "fired_at_ms": fire.fired_at_ms,
                "matches": [m.model_dump(mode="json") for m in fire.matches],
            },
        )
        delivered: list[int] = []

        async def send(account_id: int) -> None:
            try:
                await client.get_workflow_handle(f"trader-{account_id}").signal(
                    "signal_fired", payload
                )
                delivered.append(account_id)
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise  # Temporal unavailable: the activity retries; traders dedupe
                log.warning("fire %s: trader %s is not running", fire.fire_id, account_id)

        for i in range(0, len(targets), FAN_OUT_CONCURRENCY):
            batch = targets[i : i + FAN_OUT_CONCURRENCY]
            await asyncio.gather(*(send(a) for a in batch))
            activity.heartbeat(batch[-1])
        return FanOutResult(delivered=sorted(delivered))


def _heartbeat_cursor(details: Sequence[Any]) -> int | None:
    """The last trader id a previous attempt reached, or None (first attempt, or unreadable)."""
    try:
        return int(details[0]) if details else None
    except (TypeError, ValueError):
        return None
