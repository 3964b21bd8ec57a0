"""Wires activities to their clients (runtime/deps.py); the worker and tests share it so
registration never drifts."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from activities.backfill import BackfillActivities
from activities.backtest import BacktestActivities
from activities.context import ContextActivities
from activities.equity import EquityActivities
from activities.market_refresh import MarketRefreshActivities
from activities.notifications import NotifyActivities
from activities.orders import OrderActivities
from activities.prompt_backtest import PromptBacktestActivities
from activities.prompts import PromptActivities
from activities.records import RecordActivities
from activities.risk import check_risk
from activities.signals import SignalActivities
from activities.strategy import StrategyActivities
from adapters.equity import EquitySampler
from adapters.market.history import HistoryClient
from config.settings import Settings
from domain.paper import PaperConfig
from domain.vocabulary import Exchange
from runtime.deps import Deps
from strategies.handoff import SnapshotHandOff


def build_pool_activities(deps: Deps) -> list[Callable[..., Any]]:
    signals = SignalActivities(deps.sessions, deps.feed, deps.client, deps.task_queue)
    return [signals.load_signal_pool, signals.evaluate_signal_pool, signals.fan_out_fire]


def build_notify_activities(deps: Deps) -> list[Callable[..., Any]]:
    assert deps.vault is not None
    notify = NotifyActivities(deps.sessions, deps.vault, deps.notify_allow_private_hosts)
    return [
        notify.collect_notifications,
        notify.collect_daily_summary,
        notify.deliver_notification,
        notify.give_up_delivery,
    ]


def build_backfill_activities(deps: Deps, settings: Settings) -> list[Callable[..., Any]]:
    venues = HistoryClient(
        {
            Exchange.HYPERLIQUID: settings.backfill_hyperliquid_url,
            Exchange.BINANCE: settings.backfill_binance_url,
        },
        min_interval_s=settings.backfill_page_interval_seconds,
    )
    backfill = BackfillActivities(deps.sessions, venues)
    refresh = MarketRefreshActivities(deps.sessions, venues, deps.exchange.paper_source)
    return [backfill.fetch_page, backfill.record_status, refresh.refresh]


def build_backtest_activities(deps: Deps, settings: Settings) -> list[Callable[..., Any]]:
    assert deps.vault is not None
    paper = PaperConfig(
        taker_fee_bps=Decimal(settings.paper_taker_fee_bps),
        slippage_bps=Decimal(settings.paper_slippage_bps),
        maker_fee_bps=Decimal(settings.paper_maker_fee_bps),
    )
    backtests = BacktestActivities(deps.sessions, deps.sandbox_limits, deps.sandbox_mode, paper)
    prompts = PromptBacktestActivities(
        deps.sessions, deps.vault, deps.llm_timeout_s, deps.llm_allow_private_hosts
    )
    return [
        backtests.run_program_backtest,
        backtests.record_status,
        prompts.start,
        prompts.run_chunk,
        prompts.finish,
    ]


def build_activities(deps: Deps) -> list[Callable[..., Any]]:
    records = RecordActivities(deps.sessions)
    handoff = SnapshotHandOff()  # context -> program on this worker, without a DB round trip
    context = ContextActivities(deps.sessions, deps.exchange, handoff)
    strategy = StrategyActivities(
        deps.sessions, deps.sandbox_limits, mode=deps.sandbox_mode, handoff=handoff
    )
    orders = OrderActivities(deps.exchange, deps.order_resolve_seconds)
    assert deps.vault is not None
    prompts = PromptActivities(
        deps.sessions, deps.vault, deps.llm_timeout_s, deps.llm_allow_private_hosts
    )
    equity = EquityActivities(EquitySampler(deps.sessions, deps.exchange))
    return [
        prompts.run_prompt,
        # Pools started before they had their own queue still run here.
        *build_pool_activities(deps),
        records.load_trader_config,
        records.record_trader_status,
        records.record_note,
        records.record_order_intents,
        records.finish_decision,
        context.gather_context,
        context.sync_account,
        strategy.run_program,
        orders.place_order,
        orders.resolve_order,
        orders.cancel_order,
        check_risk,
        equity.sample_equity,
        equity.thin_equity,
    ]
