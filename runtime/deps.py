"""The dependency container: the clients every process builds once from its settings (database
sessions, market feed, exchanges, key wrapper, sandbox limits). The API and the worker share it;
the worker's activities are wired to it in runtime/wiring.py."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from adapters.exchanges.live import LiveExchanges
from adapters.exchanges.paper import PaperExchange
from adapters.exchanges.router import ExchangeRouter
from adapters.market.feed import MarketFeed
from adapters.market.live import BinancePublicFeed, HyperliquidPublicFeed
from adapters.market.simulated import SimulatedFeed
from config.settings import Settings
from domain.paper import PaperConfig
from domain.vocabulary import MarketSource
from sandbox.runner import SandboxLimits
from vault import KeyWrapper
from vault.key_loading import master_key_wrapper


def market_feed(settings: Settings) -> MarketFeed:
    source = settings.market_source.strip().lower()
    if source == MarketSource.HYPERLIQUID:
        return HyperliquidPublicFeed(settings.market_base_url)
    if source == MarketSource.BINANCE:
        return BinancePublicFeed(settings.market_base_url)
    if source != MarketSource.SIMULATED:
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
    notify_allow_private_hosts: bool = False
    order_resolve_seconds: float = 180.0
    sandbox_mode: str = "fork"  # see Settings.sandbox_mode


def default_deps(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], client: Client | None = None
) -> Deps:
    feed = market_feed(settings)
    feed_source = settings.market_source.strip().lower()
    cfg = PaperConfig(
        taker_fee_bps=Decimal(settings.paper_taker_fee_bps),
        slippage_bps=Decimal(settings.paper_slippage_bps),
        maker_fee_bps=Decimal(settings.paper_maker_fee_bps),
    )
    vault = master_key_wrapper(settings)
    router = ExchangeRouter(
        sessions,
        PaperExchange(sessions, cfg),
        LiveExchanges(sessions, vault, settings.exchange_timeout_seconds),
        feed,
        paper_source=None if feed_source == MarketSource.SIMULATED else feed_source,
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
        notify_allow_private_hosts=settings.notify_allow_private_hosts,
        order_resolve_seconds=settings.order_resolve_seconds,
        sandbox_mode=settings.sandbox_mode,
    )
