"""Prompt backtest tasks' pages (`/backtests/prompt/{id}`; the list is on `/backtests`): a
task's progress, polled every second like a program backtest's (no live-stream events), Cancel,
and its results as GET /api/prompt-backtest/tasks/{id}/results answers them (replay: what
changed; simulate: the engine's report). Another user's task is the 404 page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.errors import ApiError
from api.queries import MAX_ID
from api.routes import prompt_backtest as routes
from api.web.figures import html
from api.web.login import SignedIn, checked_form
from api.web.traders import PageNotFound
from domain.prompt_backtest import TaskStatus

router = APIRouter(include_in_schema=False)
ITEMS_SHOWN = 500


async def _task(request: Request, who: SignedIn, task_id: int) -> dict[str, object]:
    if not 0 < task_id <= MAX_ID:
        raise PageNotFound()
    try:
        return await routes.get_task(request, task_id, who.caller)
    except ApiError as err:
        raise PageNotFound() from err


def _final(task: dict[str, object]) -> bool:
    return TaskStatus(str(task["status"])).final


@router.get("/backtests/prompt/{task_id}", response_class=HTMLResponse)
async def task_page(request: Request, who: SignedIn, task_id: int) -> Response:
    task = await _task(request, who, task_id)
    res = await routes.task_results(request, task_id, who.caller) if _final(task) else None
    return html(request, "prompt_task.html", who=who, task=task, res=res, limit=ITEMS_SHOWN)


@router.get("/backtests/prompt/{task_id}/progress", response_class=HTMLResponse)
async def task_progress(request: Request, who: SignedIn, task_id: int) -> Response:
    task = await _task(request, who, task_id)
    response = html(request, "prompt_task_progress.html", who=who, task=task)
    if _final(task):
        response.headers["HX-Refresh"] = "true"
    return response


@router.post("/backtests/prompt/{task_id}/cancel", response_class=HTMLResponse)
async def task_cancel(request: Request, who: SignedIn, task_id: int) -> Response:
    await checked_form(request, who)
    await _task(request, who, task_id)
    await routes.cancel_task(request, task_id, who.caller)
    return Response(status_code=204, headers={"HX-Refresh": "true"})
