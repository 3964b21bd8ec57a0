"""Prompt backtest tasks on the web app, over task rows stored directly (no model, no worker):
the list on /backtests and a task's page answer signed in and redirect signed out, show what
GET /api/prompt-backtest/tasks/{id}[/results] answer, escape a task name made of markup, refuse
Cancel without the CSRF token, and are the 404 page for another user.

Why: a prompt backtest spends real money on a model; its page must say what it cost and let
its owner, and only its owner, stop it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest_asyncio
from sqlalchemy import select
from temporalio.client import Client

from db.prompt_backtests import PromptBacktestTask
from db.users import User
from tests.support.stack import DEFAULT_EMAIL, Stack, full_stack, make_settings
from tests.web.support import browser, parse, sign_in

SCRIPT = "<script>alert(1)</script>"


@pytest_asyncio.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as st:
        yield st


async def _task(st: Stack, status: str) -> int:
    account = (await st.create_trader(name="Prompted", account_type="prompt"))["account_id"]
    async with st.deps.sessions() as s, s.begin():
        owner = await s.scalar(select(User.id).where(User.email == DEFAULT_EMAIL))
        assert owner is not None
        task = PromptBacktestTask(
            owner_id=owner, account_id=account, prompt_id=None, mode="replay",
            config={"name": SCRIPT}, status=status, sample_count=4, completed_count=2,
            spent_cost_usd=Decimal("0.0123"),
        )  # fmt: skip
        s.add(task)
        await s.flush()
        return task.id


async def test_the_list_and_a_tasks_page(st: Stack) -> None:
    done, running = await _task(st, "completed"), await _task(st, "running")
    urls = ["/backtests", f"/backtests/prompt/{done}", f"/backtests/prompt/{running}/progress"]
    async with browser(st) as anon:
        for url in urls:
            assert (await anon.get(url)).status_code == 303, url
    rest = (await st.api.get(f"/api/prompt-backtest/tasks/{done}/results")).json()
    async with browser(st) as http:
        csrf = await sign_in(http)
        for url in urls:
            r = await http.get(url)
            assert r.status_code == 200, (url, r.text)
            assert SCRIPT not in r.text and parse(r.text).handlers == [], url
        listed = (await http.get("/backtests")).text
        assert f'data-task-id="{done}"' in listed and "&lt;script&gt;" in listed
        page = (await http.get(f"/backtests/prompt/{done}")).text
        assert 'data-testid="prompt-task-summary"' in page and "0.0123" in page
        for key, value in rest["summary"].items():
            if isinstance(value, int) and not isinstance(value, bool):
                assert f'data-value="{value}"' in page, key
        progress = await http.get(f"/backtests/prompt/{running}/progress")
        assert 'data-testid="prompt-task-cancel"' in progress.text
        assert "HX-Refresh" not in progress.headers
        r = await http.post(f"/backtests/prompt/{running}/cancel")
        assert r.status_code == 403
        assert (await st.api.get(f"/api/prompt-backtest/tasks/{running}")).json()["status"] == (
            "running"
        )
        r = await http.post(f"/backtests/prompt/{running}/cancel", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 204 and r.headers["HX-Refresh"] == "true"
        assert (await st.api.get(f"/api/prompt-backtest/tasks/{running}")).json()["status"] == (
            "cancelled"
        )


async def test_another_users_task_is_a_404_page(st: Stack) -> None:
    theirs = await _task(st, "running")
    async with st.user_client("other@example.com", "other-password-1"):
        pass
    async with browser(st) as http:
        csrf = await sign_in(http, "other@example.com", "other-password-1")
        for url in (f"/backtests/prompt/{theirs}", f"/backtests/prompt/{theirs}/progress"):
            r = await http.get(url)
            assert r.status_code == 404 and "Not found" in r.text, url
        r = await http.post(f"/backtests/prompt/{theirs}/cancel", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 404
        assert f'data-task-id="{theirs}"' not in (await http.get("/backtests")).text
    assert (await st.api.get(f"/api/prompt-backtest/tasks/{theirs}")).json()["status"] == "running"
