"""The System page: what the API knows of its own health and its neighbours' (database,
Temporal, the worker), links to the Temporal Web UI and the API docs, and the licences of the
vendored JavaScript (with TradingView's attribution notice)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

import web
from api.web.login import SignedIn
from api.web.render import pages

router = APIRouter(include_in_schema=False)
CHECK_TIMEOUT_S = 3.0
# A worker polls its task queue continuously; one unseen this long is not there.
WORKER_SEEN_WITHIN = timedelta(minutes=2)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def _database(request: Request) -> Check:
    async with request.app.state.sessions() as s:
        await s.execute(text("SELECT 1"))
    return Check("Database", True, "answers queries")


async def _temporal(request: Request) -> Check:
    await request.app.state.temporal.service_client.check_health()
    return Check("Temporal", True, f"namespace {request.app.state.settings.temporal_namespace}")


async def _worker(request: Request) -> Check:
    settings = request.app.state.settings
    found = await request.app.state.temporal.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace,
            task_queue=TaskQueue(name=settings.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    now = datetime.now(UTC)
    seen = [p.last_access_time.ToDatetime(tzinfo=UTC) for p in found.pollers]
    recent = [at for at in seen if now - at <= WORKER_SEEN_WITHIN]
    if not recent:
        return Check("Worker", False, f"no worker polls task queue {settings.task_queue}")
    return Check("Worker", True, f"{len(recent)} polling task queue {settings.task_queue}")


async def _checked(name: str, probe: object) -> Check:
    try:
        return await asyncio.wait_for(probe, CHECK_TIMEOUT_S)  # type: ignore[arg-type]
    except Exception as err:
        return Check(name, False, f"not answering ({type(err).__name__})")


def _licences() -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for folder in sorted((web.STATIC / "vendor").iterdir()):
        if folder.is_dir():
            name, _, ver = folder.name.rpartition("-")
            files = sorted(p.name for p in folder.iterdir() if p.name in ("LICENSE", "NOTICE"))
            found.append({"name": name, "version": ver, "folder": folder.name, "files": files})
    return found


def _version() -> str:
    try:
        return package_version("hyperoru")
    except PackageNotFoundError:
        return "unknown"


@router.get("/system", response_class=HTMLResponse)
async def system_page(request: Request, who: SignedIn) -> Response:
    settings = request.app.state.settings
    checks = [Check("API", True, "serving this page")]
    checks += await asyncio.gather(
        _checked("Database", _database(request)),
        _checked("Temporal", _temporal(request)),
        _checked("Worker", _worker(request)),
    )
    # The embedded dev server's Web UI; a cluster of your own serves its UI where you put it.
    temporal_ui = (
        f"http://127.0.0.1:{settings.temporal_ui_port}/namespaces/{settings.temporal_namespace}"
        if settings.temporal_address is None
        else ""
    )
    return pages(request).html(
        request, "system.html", who=who, checks=checks, temporal_ui=temporal_ui,
        licences=_licences(), version=_version(),
    )  # fmt: skip
