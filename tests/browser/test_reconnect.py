"""The socket drops (the API restarts): the page says `reconnecting` with a banner, keeps
trying with backoff, and once back says `live` again with a fresh snapshot, showing what
changed while it was away even though no event told it."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page, expect
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from db.models import Account
from tests import programs
from tests.browser.conftest import log_in
from tests.browser.server import WebStack

LIVE = 20_000
BACK = 40_000  # the API's restart plus the longest backoff step


def _rename_behind_the_pages_back(stack: WebStack, tid: int, name: str) -> None:
    engine = create_engine(stack.database_url)
    with Session(engine) as s, s.begin():
        s.execute(update(Account).where(Account.id == tid).values(name=name))
    engine.dispose()


async def test_an_api_restart_shows_reconnecting_then_live_with_fresh_data(
    stack: WebStack, shot: Page
) -> None:
    tid = await stack.new_trader("Before the drop", programs.HOLD)
    await log_in(shot, stack)
    status, banner = shot.get_by_test_id("ws-status"), shot.get_by_test_id("ws-banner")
    await expect(status).to_have_text("live", timeout=LIVE)
    await expect(banner).to_be_hidden()
    await asyncio.to_thread(stack.stop_api)
    try:
        await expect(status).to_have_text("reconnecting", timeout=LIVE)
        await expect(banner).to_be_visible()
        _rename_behind_the_pages_back(stack, tid, "Renamed while away")
    finally:
        await asyncio.to_thread(stack.start_api)
    await expect(status).to_have_text("live", timeout=BACK)
    row = shot.locator(f'[data-testid="trader-row"][data-account-id="{tid}"]')
    await expect(row.get_by_test_id("trader-name")).to_have_text("Renamed while away")
    await expect(banner).to_be_hidden()


async def test_going_offline_shows_reconnecting_then_live(stack: WebStack, shot: Page) -> None:
    """A connection that goes silent without a close (the network gone) is noticed by the
    page's heartbeat, not only a closed socket."""
    await log_in(shot, stack)
    status = shot.get_by_test_id("ws-status")
    await expect(status).to_have_text("live", timeout=LIVE)
    await shot.context.set_offline(True)
    try:
        await expect(status).to_have_text("reconnecting", timeout=LIVE)
    finally:
        await shot.context.set_offline(False)
    await expect(status).to_have_text("live", timeout=BACK)
