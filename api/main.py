"""The FastAPI control plane: thin routes over the database and the trader workflows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import select

from api import errors
from api.auth import current_user
from api.limits import BodyLimit, RateLimit, VerifiedTokens
from api.pools import PoolControl
from api.routes import (
    account_summary,
    accounts,
    analytics,
    analytics_extras,
    backtest_results,
    backtests,
    bindings,
    crypto,
    equity,
    exchange,
    exchange_config,
    exports,
    funding,
    history,
    klines,
    klines_backfill,
    klines_import,
    notifications,
    orders,
    positions,
    program_choices,
    program_guide,
    programs,
    prompt_backtest,
    prompts,
    signals,
    users,
    venues,
)
from api.traders import TraderControl
from api.web import install as install_web_app
from api.ws import docs as live_docs
from api.ws import endpoint as live_stream
from api.ws.broadcaster import stop
from config.settings import Settings, get_settings
from db.models import Account, SignalPoolRecord
from db.session import make_engine, make_sessionmaker
from runtime.deps import default_deps
from runtime.temporal import connect


async def _ensure_traders_running(app: FastAPI) -> None:
    """Every live trader has its workflow (e.g. after the Temporal data was reset)."""
    async with app.state.sessions() as s:
        rows = (
            await s.execute(
                select(Account.id, Account.trading_enabled).where(Account.is_deleted.is_(False))
            )
        ).all()
    for account_id, enabled in rows:
        await app.state.control.ensure_started(account_id, paused=not enabled)
    async with app.state.sessions() as s:
        pools = list(
            await s.scalars(select(SignalPoolRecord.id).where(SignalPoolRecord.enabled.is_(True)))
        )
    for pool_id in pools:
        await app.state.pools.ensure_running(pool_id)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.resolved_database_url)
        app.state.sessions = make_sessionmaker(engine)
        deps = default_deps(settings, app.state.sessions)
        app.state.feed, app.state.exchange = deps.feed, deps.exchange
        app.state.sandbox_limits = deps.sandbox_limits
        app.state.vault = deps.vault
        app.state.temporal = await connect(settings)
        app.state.control = TraderControl(
            app.state.temporal,
            settings.task_queue,
            settings.continue_as_new_events,
            settings.idle_continue_as_new_seconds,
        )
        app.state.pools = PoolControl(app.state.temporal, settings.pools_task_queue)
        await _ensure_traders_running(app)
        app.state.ws_hub = live_stream.start_hub(app.state.sessions, settings)
        ws_task = asyncio.create_task(app.state.ws_hub.run())
        yield
        app.state.ws_hub.close_all(live_stream.GOING_AWAY, "SERVER_SHUTDOWN: reconnect and resume")
        await stop(ws_task)
        await engine.dispose()

    # Why FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from the installed
    # fastapi-offline package (served under /static-offline-docs), not from a CDN, so the docs
    # work without internet.
    app = FastAPIOffline(
        title="hyperoru",
        version="0.1.0",
        description="Durable AI traders on Temporal: control plane API.\n" + live_docs.PROTOCOL,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.verified_tokens = VerifiedTokens()  # filled by auth, read by the rate limit
    errors.install(app)
    # Added last = outermost: limits answer before any route reads a byte or touches the DB.
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        read_timeout_s=settings.body_read_timeout_seconds,
        path_limits={klines_import.IMPORT_PATH: settings.klines_import_max_bytes},
    )
    app.add_middleware(
        RateLimit,
        rate=settings.rate_limit_per_second,
        burst=settings.rate_limit_burst,
        verified=app.state.verified_tokens,
    )

    @app.get("/api/health", tags=["health"])
    async def health() -> dict[str, str]:
        """Liveness: no token needed."""
        return {"status": "healthy"}

    app.include_router(users.public)
    # Every other /api/ route needs a valid session token (routes also read who it is).
    signed_in = [Depends(current_user)]
    # Order matters where a fixed path shares a prefix with a `{id}` one: equity,
    # account_summary and positions (its /kill-switch) before accounts; program_choices and
    # program_guide before programs; backtests (its /backtests) before programs too.
    routers = (
        users,
        exchange_config,
        equity,
        account_summary,
        positions,
        accounts,
        exchange,
        exports,
        bindings,
        history,
        funding,
        program_choices,
        program_guide,
        backtests,
        backtest_results,
        programs,
        prompts,
        signals,
        klines,
        crypto,
        venues,
        notifications,
        orders,
        klines_import,
        klines_backfill,
        analytics,
        analytics_extras,
        prompt_backtest,
    )
    for module in routers:
        app.include_router(module.router, dependencies=signed_in)
    app.include_router(live_stream.router)  # authenticates its upgrade itself (?session_token=)
    install_web_app(app)  # the web app's pages (README "Web app"), signed in by cookie
    return app
