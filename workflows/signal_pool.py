"""SignalPoolWorkflow: one per active pool (`signal-pool-<id>`), evaluating on each candle close.

The edge state (was the condition already true? when did it last fire?) lives in this
workflow's state, so a worker or server restart neither drops a due evaluation (timers are
durable) nor fires the same edge twice (fire ids are deterministic and traders dedupe them).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.contracts import (
        EvaluatePoolInput,
        FanOutInput,
        PoolConfig,
        PoolConfigInput,
    )
    from domain.signal_pool import SignalPoolInput, SignalPoolStatus
    from domain.signals import PoolFire, step_pool
    from workflows import steps

# Evaluate a little after the close, so the candle is final at the source.
SETTLE_SECONDS = 2


@workflow.defn(name="SignalPoolWorkflow")
class SignalPoolWorkflow:
    @workflow.init
    def __init__(self, input: SignalPoolInput) -> None:
        self.input = input
        self.edges = dict(input.edges)
        self.last_candle_ms = input.last_candle_ms
        self.cfg: PoolConfig | None = None
        self.dirty = True
        self.stopping = False
        self.evaluate_requested = False
        self.fires = 0
        self.evaluations = 0

    @workflow.run
    async def run(self, input: SignalPoolInput) -> None:
        while not self.stopping:
            if self.dirty:
                self.cfg = await steps.run(steps.LOAD_POOL, PoolConfigInput(pool_id=input.pool_id))
                self.dirty = False
                if not self.cfg.found or not self.cfg.enabled:
                    return  # the API starts it again when the pool is enabled
            assert self.cfg is not None
            interval_ms = self.cfg.interval_seconds * 1000
            now_ms = int(workflow.now().timestamp() * 1000)
            next_close = (now_ms // interval_ms + 1) * interval_ms
            wait = timedelta(milliseconds=next_close - now_ms) + timedelta(seconds=SETTLE_SECONDS)
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self.dirty or self.stopping or self.evaluate_requested, timeout=wait
                )
            if self.stopping or self.dirty:
                continue
            self.evaluate_requested = False
            await self._evaluate(int(workflow.now().timestamp() * 1000))
            self.evaluations += 1
            info = workflow.info()
            if info.is_continue_as_new_suggested() or (
                info.get_current_history_length() >= input.continue_as_new_events
            ):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    SignalPoolInput(
                        pool_id=input.pool_id,
                        edges=self.edges,
                        last_candle_ms=self.last_candle_ms,
                        continue_as_new_events=input.continue_as_new_events,
                    )
                )

    async def _evaluate(self, now_ms: int) -> None:
        assert self.cfg is not None and self.cfg.pool is not None
        try:
            evaluated = await steps.run(
                steps.EVALUATE_POOL, EvaluatePoolInput(pool_id=self.input.pool_id, now_ms=now_ms)
            )
        except ActivityError as err:
            workflow.logger.warning("pool %s evaluation failed: %s", self.input.pool_id, err)
            return  # the next candle is evaluated as usual
        self.edges, fires = step_pool(
            self.input.pool_id, self.cfg.pool, self.edges, evaluated.results, now_ms
        )
        times = [r.candle_time_ms for r in evaluated.results.values() if r.candle_time_ms]
        if times:
            self.last_candle_ms = max(times)
        for fire in fires:
            await self._deliver(fire)

    async def _deliver(self, fire: PoolFire) -> None:
        # Why from an activity with the client: fan-out is N signals sent client-side, not N
        # signals commanded from workflow history (cheaper, and bounded in concurrency).
        await steps.run(steps.FAN_OUT_FIRE, FanOutInput(fire=fire))
        self.fires += 1

    @workflow.signal
    def config_changed(self) -> None:
        self.dirty = True

    @workflow.signal
    def stop(self) -> None:
        self.stopping = True

    # Why an update: the caller (API "evaluate now", tests) wants to know it was accepted.
    @workflow.update
    async def evaluate_now(self) -> int:
        self.evaluate_requested = True
        before, target = self.fires, self.evaluations + 1
        await workflow.wait_condition(lambda: self.evaluations >= target)
        return self.fires - before

    @workflow.query
    def status(self) -> SignalPoolStatus:
        return SignalPoolStatus(
            pool_id=self.input.pool_id,
            enabled=bool(self.cfg and self.cfg.enabled),
            interval_seconds=self.cfg.interval_seconds if self.cfg else 0,
            last_candle_ms=self.last_candle_ms,
            fires=self.fires,
            edges=self.edges,
        )
