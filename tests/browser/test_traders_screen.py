"""The AI Traders screen in a real browser: sign in, see a paper trader, drive it with the
confirm dialogs, and watch it change live (no reload) as the trader acts."""

from __future__ import annotations

import re

from playwright.async_api import Dialog, Locator, Page, expect

from tests import programs
from tests.browser.conftest import log_in
from tests.browser.server import WebStack

LIVE = 20_000  # ms: a change pushed over /ws reaches the page well within this


def row(page: Page, tid: int) -> Locator:
    return page.locator(f'[data-testid="trader-row"][data-account-id="{tid}"]')


def accept_confirm(page: Page) -> list[str]:
    """Accept the next confirm dialog; its text lands in the list returned."""
    seen: list[str] = []

    async def on_dialog(d: Dialog) -> None:
        seen.append(d.message)
        await d.accept()

    page.once("dialog", on_dialog)
    return seen


async def test_log_in_and_see_a_paper_trader_with_its_status(stack: WebStack, shot: Page) -> None:
    """...and the strict CSP refuses nothing the app itself does (no inline style or script)."""
    refused: list[str] = []
    shot.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    tid = await stack.new_trader("Screen paper", programs.HOLD)
    await log_in(shot, stack)
    r = row(shot, tid)
    await expect(r.get_by_test_id("trader-status")).to_have_text("Paused")
    await expect(r.get_by_test_id("trader-environment")).to_have_text("paper")
    await expect(shot.get_by_test_id("ws-status")).to_have_text("live", timeout=LIVE)
    await shot.goto(f"{stack.base_url}/system")
    assert refused == []


async def test_start_then_pause_through_confirm_dialogs_without_reload(
    stack: WebStack, shot: Page
) -> None:
    tid = await stack.new_trader("Start pause", programs.HOLD)
    await log_in(shot, stack)
    await shot.evaluate("window.__noReload = true")  # gone if the page reloads
    r = row(shot, tid)
    seen = accept_confirm(shot)
    await r.get_by_test_id("trader-start").click()
    await expect(r.get_by_test_id("trader-status")).to_have_text("Active", timeout=LIVE)
    assert seen and seen[0].startswith("Start Start pause?"), seen
    seen = accept_confirm(shot)
    await r.get_by_test_id("trader-pause").click()
    await expect(r.get_by_test_id("trader-status")).to_have_text("Paused", timeout=LIVE)
    assert seen and "Open positions stay open" in seen[0], seen
    assert (await stack.call("GET", f"/api/account/{tid}"))["status"] == "Paused"
    assert await shot.evaluate("window.__noReload") is True


async def test_a_decision_triggered_through_the_api_updates_the_row_live(
    stack: WebStack, shot: Page
) -> None:
    tid = await stack.new_trader("Live buyer", programs.ALWAYS_LONG)
    await stack.call("POST", f"/api/account/{tid}/start")
    await log_in(shot, stack)
    await expect(shot.get_by_test_id("ws-status")).to_have_text("live", timeout=LIVE)
    r = row(shot, tid)
    await expect(r.get_by_test_id("trader-open-positions")).to_have_text("0")
    await shot.evaluate("window.__noReload = true")
    await stack.call("POST", f"/api/account/{tid}/trigger")
    await expect(r.get_by_test_id("trader-open-positions")).to_have_text("1", timeout=LIVE)
    await expect(r.get_by_test_id("trader-last-decision")).to_have_text(re.compile("UTC"))
    equity = r.get_by_test_id("trader-equity")
    await expect(equity).to_have_text(re.compile(r"^[0-9,]+\.[0-9]{2}$"))
    assert await shot.evaluate("window.__noReload") is True


async def test_a_dismissed_confirm_changes_nothing(stack: WebStack, shot: Page) -> None:
    tid = await stack.new_trader("Dismissed", programs.HOLD)
    await log_in(shot, stack)
    seen: list[str] = []

    async def dismiss(d: Dialog) -> None:
        seen.append(d.message)
        await d.dismiss()

    shot.once("dialog", dismiss)
    r = row(shot, tid)
    await r.get_by_test_id("trader-start").click()
    for _ in range(50):
        if seen:
            break
        await shot.wait_for_timeout(100)
    assert seen and seen[0].startswith("Start Dismissed?"), seen
    await shot.wait_for_timeout(500)  # time for a request, had one been sent
    await expect(r.get_by_test_id("trader-status")).to_have_text("Paused")
    assert (await stack.call("GET", f"/api/account/{tid}"))["status"] == "Paused"


async def test_utc_local_toggle_is_the_only_thing_stored(stack: WebStack, shot: Page) -> None:
    tid = await stack.new_trader("Clock", programs.HOLD)
    await stack.call("POST", f"/api/account/{tid}/start")
    await stack.call("POST", f"/api/account/{tid}/trigger")
    await log_in(shot, stack)
    when = row(shot, tid).get_by_test_id("trader-last-decision")
    await expect(when).to_have_text(re.compile(r"UTC$"))
    await shot.get_by_test_id("tz-toggle").click()
    await expect(when).to_have_text(re.compile(r"local$"))
    await shot.reload()
    await expect(when).to_have_text(re.compile(r"local$"))  # kept across pages
    stored = await shot.evaluate("Object.keys(localStorage)")
    assert stored == ["hyperoru.timezone"], stored
    assert await shot.evaluate("document.cookie") == ""  # the session cookie is HttpOnly
