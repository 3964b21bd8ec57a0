"""The whole stack in one test process: API (ASGI, in-process), worker, real Temporal, real DB."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Interceptor

from api.main import create_app
from config.settings import Settings
from db.session import make_engine, make_sessionmaker
from runtime.deps import Deps, default_deps
from runtime.temporal import connect
from runtime.worker import running_workers
from runtime.worker_cache import TrackingRunner

DEFAULT_EMAIL = "owner@example.com"
DEFAULT_PASSWORD = "owner-password-1"


async def login(http: httpx.AsyncClient, email: str, password: str) -> str:
    """Register (if new) and log in; returns the session token."""
    r = await http.post("/api/users/register", json={"email": email, "password": password})
    assert r.status_code in (201, 409), r.text
    r = await http.post("/api/users/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["session_token"])


@dataclass
class Stack:
    api: httpx.AsyncClient  # logged in as the stack's default user
    app: FastAPI
    client: Client
    settings: Settings
    deps: Deps
    runner: TrackingRunner | None = None  # the trader worker's runs (None: no worker here)

    def anonymous(self) -> httpx.AsyncClient:
        """A client of the same in-process API without any token (close it after use)."""
        return httpx.AsyncClient(
            transport=self.api._transport, base_url=self.api.base_url, timeout=120
        )

    @asynccontextmanager
    async def user_client(
        self, email: str, password: str = "other-password-1"
    ) -> AsyncIterator[httpx.AsyncClient]:
        """Another user's logged-in client, e.g. for cross-user tests."""
        async with self.anonymous() as http:
            token = await login(http, email, password)
            http.headers["Authorization"] = f"Bearer {token}"
            yield http

    async def post(self, url: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.api.post(url, json=json, **kw)

    async def create_trader(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "t", "account_type": "program", **fields}
        r = await self.api.post("/api/account/", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    async def create_program(self, code: str, name: str = "p") -> dict[str, Any]:
        r = await self.api.post("/api/programs/", json={"name": name, "code": code})
        assert r.status_code == 201, r.text
        return r.json()

    async def bind(self, account_id: int, program_id: int, **fields: Any) -> dict[str, Any]:
        r = await self.api.post(
            f"/api/account/{account_id}/bindings", json={"program_id": program_id, **fields}
        )
        assert r.status_code == 201, r.text
        return r.json()


def make_settings(temporal_address: str, database_url: str, **overrides: Any) -> Settings:
    """Each test gets its own namespace: account ids restart at 1 in every fresh database, so
    workflow ids (`trader-1`) would otherwise collide across tests."""
    fields: dict[str, Any] = {
        "data_dir": Path(tempfile.mkdtemp(prefix="hyperoru-data-")),
        "temporal_address": temporal_address,
        "temporal_namespace": f"test-{uuid.uuid4().hex[:10]}",
        "database_url": database_url,
        "task_queue": f"tq-{uuid.uuid4().hex[:8]}",
        "sandbox_wall_seconds": 3.0,
        "sandbox_cpu_seconds": 2,
        "sandbox_memory_mb": 256,
        # Every workflow in the suite runs under the strict sandbox: a clock, random or I/O
        # call in workflow code fails the test that reaches it.
        "worker_workflow_sandbox": "strict",
        # The equity sample and thinning schedules are off unless a test is about them: they
        # would outlive the test's worker in its namespace, each waking the server every tick.
        "equity_sample_seconds": 0,
        "equity_thin_seconds": 0,
        # The notifier's schedules likewise (tests/notifications turn the pass on).
        "notify_poll_seconds": 0,
        "notify_daily_summary_time": "",
        # The market-history refresh likewise (tests/factors run its workflow directly).
        "market_refresh_seconds": 0,
    }
    return Settings(**{**fields, **overrides})


@asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, interceptors: Sequence[Interceptor] = ()
) -> AsyncIterator[TrackingRunner]:
    engine = make_engine(settings.resolved_database_url)
    deps = default_deps(settings, make_sessionmaker(engine), client)
    async with running_workers(client, settings, deps, interceptors) as runner:
        yield runner
    await engine.dispose()


@asynccontextmanager
async def api_only(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", timeout=120
        ) as http:
            token = await login(http, DEFAULT_EMAIL, DEFAULT_PASSWORD)
            http.headers["Authorization"] = f"Bearer {token}"
            yield app, http


async def namespace_client(settings: Settings) -> Client:
    """Register the settings' namespace on the dev server and connect to it."""
    admin = await Client.connect(settings.resolved_temporal_address)
    await admin.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=settings.temporal_namespace,
            workflow_execution_retention_period=Duration(seconds=86400),
        )
    )
    for _ in range(100):
        try:
            await admin.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=settings.temporal_namespace)
            )
            break
        except RPCError:
            await asyncio.sleep(0.05)
    return await connect(settings)


@asynccontextmanager
async def full_stack(
    _client: Client | None,
    settings: Settings,
    worker: bool = True,
    interceptors: Sequence[Interceptor] = (),
) -> AsyncIterator[Stack]:
    client = await namespace_client(settings)
    async with api_only(settings) as (app, http):
        deps = Deps(
            sessions=app.state.sessions,
            feed=app.state.feed,
            exchange=app.state.exchange,
            sandbox_limits=app.state.sandbox_limits,
        )
        if worker:
            async with running_worker(client, settings, interceptors) as runner:
                yield Stack(http, app, client, settings, deps, runner)
        else:
            yield Stack(http, app, client, settings, deps)
