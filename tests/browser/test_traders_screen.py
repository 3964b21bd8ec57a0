"""The AI Traders screen in a real browser: sign in, see a paper trader, drive it with the
confirm dialogs, and watch it change live (no reload) as the trader acts."""

from __future__ import annotations

import re

from playwright.sync_api import Dialog, Page, expect

from tests import programs
from tests.browser.conftest import log_in
from tests.browser.server import WebStack

LIVE = 20_000  # ms: a change pushed over /ws reaches the page well within this


def row(page: Page, tid: int):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-testid="trader-row"][data-account-id="{tid}"]')


def accept_confirm(page: Page, expect_text: str) -> list[str]:
    seen: list[str] = []

    def on_dialog(d: Dialog) -> None:
        seen.append(d.message)
        d.accept()

    page.once("dialog", on_dialog)
    return seen


def test_log_in_and_see_a_paper_trader_with_its_status(stack: WebStack, shot: Page) -> None:
    tid = stack.trader("Screen paper", programs.HOLD)
    log_in(shot, stack)
    r = row(shot, tid)
    expect(r.get_by_test_id("trader-status")).to_have_text("Paused")
    expect(r.get_by_test_id("trader-environment")).to_contain_text("paper")
    expect(shot.get_by_test_id("ws-status")).to_have_text("live", timeout=LIVE)


def test_start_then_pause_through_confirm_dialogs_without_reload(
    stack: WebStack, shot: Page
) -> None:
    tid = stack.trader("Start pause", programs.HOLD)
    log_in(shot, stack)
    shot.evaluate("window.__noReload = true")  # gone if the page reloads
    r = row(shot, tid)
    seen = accept_confirm(shot, "Start")
    r.get_by_test_id("trader-start").click()
    expect(r.get_by_test_id("trader-status")).to_have_text("Active", timeout=LIVE)
    assert seen and "Start Start pause?" in seen[0], seen
    seen = accept_confirm(shot, "Pause")
    r.get_by_test_id("trader-pause").click()
    expect(r.get_by_test_id("trader-status")).to_have_text("Paused", timeout=LIVE)
    assert seen and "Open positions stay open" in seen[0], seen
    assert stack.rest("GET", f"/api/account/{tid}")["status"] == "Paused"
    assert shot.evaluate("window.__noReload") is True


def test_a_decision_triggered_through_the_api_updates_the_row_live(
    stack: WebStack, shot: Page
) -> None:
    tid = stack.trader("Live buyer", programs.ALWAYS_LONG)
    stack.rest("POST", f"/api/account/{tid}/start")
    log_in(shot, stack)
    expect(shot.get_by_test_id("ws-status")).to_have_text("live", timeout=LIVE)
    r = row(shot, tid)
    expect(r.get_by_test_id("trader-open-positions")).to_have_text("0")
    shot.evaluate("window.__noReload = true")
    stack.rest("POST", f"/api/account/{tid}/trigger")
    expect(r.get_by_test_id("trader-open-positions")).to_have_text("1", timeout=LIVE)
    expect(r.get_by_test_id("trader-last-decision")).to_have_text(re.compile("UTC"))
    expect(r.get_by_test_id("trader-equity")).to_have_text(re.compile(r"^[0-9,]+\.[0-9]{2}$"))
    assert shot.evaluate("window.__noReload") is True
