"""Wires activities to their clients; worker.py and tests share it so registration never drifts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from activities.context import ContextActivities
from activities.orders import OrderActivities
from activities.prompts import PromptActivities
from activities.records import RecordActivities
from activities.risk import check_risk
from activities.signals import SignalActivities
from activities.strategy import StrategyActivities
from adapters.exchanges.live import LiveExchanges
from adapters.exchanges.paper import PaperExchange
from adapters.exchanges.router import ExchangeRouter
from adapters.market.feed import MarketFeed
from adapters.market.live import BinancePublicFeed, HyperliquidPublicFeed
from adapters.market.simulated import SimulatedFeed
from config.settings import Settings
from domain.paper import PaperConfig
from sandbox.runner import SandboxLimits
from strategies.handoff import SnapshotHandOff
from vault import KeyWrapper
from vault.key_loading import master_key_wrapper


def market_feed(settings: Settings) -> MarketFeed:
    source = settings.market_source.strip().lower()
    if source == "hyperliquid":
        return HyperliquidPublicFeed(settings.market_base_url)
    if source == "binance":
        return BinancePublicFeed(settings.market_base_url)
    if source != "simulated":
        raise ValueError("HYPERORU_MARKET_SOURCE must be simulated, hyperliquid or binance")
    return SimulatedFeed(seed=settings.market_seed)


@dataclass
class Deps:
    sessions: async_sessionmaker[AsyncSession]
    feed: MarketFeed
    exchange: ExchangeRouter
    sandbox_limits: SandboxLimits
    client: Client | None = None  # for activities that message workflows (signal fan-out)
    task_queue: str = ""
    vault: KeyWrapper | None = None  # opens stored secrets, inside the activities that use them
    llm_timeout_s: float = 60.0
    llm_allow_private_hosts: bool = False
    order_resolve_seconds: float = 180.0
    sandbox_mode: str = "fork"  # see Settings.sandbox_mode


def default_deps(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], client: Client | None = None
) -> Deps:
    feed = market_feed(settings)
    cfg = PaperConfig(
        taker_fee_bps=Decimal(settings.paper_taker_fee_bps),
        slippage_bps=Decimal(settings.paper_slippage_bps),
    )
    vault = master_key_wrapper(settings)
    router = ExchangeRouter(
        sessions,
        PaperExchange(sessions, cfg),
        LiveExchanges(sessions, vault, settings.exchange_timeout_seconds),
        feed,
    )
    return Deps(
        sessions=sessions,
        feed=feed,
        exchange=router,
        sandbox_limits=SandboxLimits(
            wall_seconds=settings.sandbox_wall_seconds,
            cpu_seconds=settings.sandbox_cpu_seconds,
            memory_mb=settings.sandbox_memory_mb,
            compile_seconds=settings.sandbox_compile_seconds,
        ),
        client=client,
        task_queue=settings.task_queue,
        vault=vault,
        llm_timeout_s=settings.llm_timeout_seconds,
        llm_allow_private_hosts=settings.llm_allow_private_hosts,
        order_resolve_seconds=settings.order_resolve_seconds,
        sandbox_mode=settings.sandbox_mode,
    )


def build_pool_activities(deps: Deps) -> list[Callable[..., Any]]:
    signals = SignalActivities(deps.sessions, deps.feed, deps.client, deps.task_queue)
    return [signals.load_signal_pool, signals.evaluate_signal_pool, signals.fan_out_fire]


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
    ]
