"""The trader page in a real browser: open a paper trader's page, trigger now through the
confirm dialog, see the decision appear in the feed without a reload and the candle chart's
marker count equal the trades; close the position through its confirm. Then the page on a
375-px phone (no horizontal scroll) and axe-core, light and dark. Screenshots of the page are
kept under test-artifacts/browser/."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests import programs
from tests.browser.conftest import ARTIFACTS, log_in
from tests.browser.server import WebStack
from tests.browser.test_layout_a11y import _bad_violations, _no_horizontal_scroll
from tests.browser.test_traders_screen import LIVE, accept_confirm


async def _keep(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"trader_page_{name}.png"), full_page=True)


async def test_trigger_close_and_see_it_live(stack: WebStack, shot: Page) -> None:
    tid = await stack.new_trader("Page buyer", programs.ALWAYS_LONG)
    await stack.call("POST", f"/api/account/{tid}/start")
    await log_in(shot, stack)
    await shot.get_by_test_id("trader-link").filter(has_text="Page buyer").click()
    await shot.wait_for_url(f"{stack.base_url}/traders/{tid}")
    await expect(shot.get_by_test_id("ws-status")).to_have_text("live", timeout=LIVE)
    await shot.evaluate("window.__noReload = true")  # gone if the page reloads
    feed = shot.get_by_test_id("decision-feed")
    await expect(feed.get_by_test_id("decision-item")).to_have_count(0)
    seen = accept_confirm(shot)
    await shot.get_by_test_id("trader-trigger").click()
    item = feed.get_by_test_id("decision-item")
    await expect(item).to_have_count(1, timeout=LIVE)
    assert seen and seen[0].startswith("Run one decision for Page buyer now?"), seen
    decision_id = await item.get_attribute("data-decision-id")
    log = await stack.call("GET", f"/api/account/{tid}/decisions")
    assert decision_id == log["items"][0]["id"]
    trades = await stack.call("GET", f"/api/account/{tid}/trades")
    chart = shot.locator('[data-testid="candle-chart"][data-symbol="BTC"]')  # one per symbol
    await expect(chart).to_have_attribute("data-marker-count", str(trades["total"]), timeout=LIVE)
    assert trades["total"] == 1
    positions = shot.get_by_test_id("positions-table")
    await expect(positions.get_by_test_id("position-row")).to_have_count(1, timeout=LIVE)
    equity = shot.get_by_test_id("equity-chart")
    await expect(equity).not_to_have_attribute("data-point-count", "0", timeout=LIVE)
    await _keep(shot, "open_position")
    seen = accept_confirm(shot)
    await positions.get_by_test_id("position-close").click()
    await expect(positions.get_by_test_id("no-positions")).to_be_visible(timeout=LIVE)
    assert seen and "Close the long BTC position of Page buyer" in seen[0], seen
    assert (await stack.call("GET", f"/api/account/{tid}/positions"))["total_count"] == 0
    trades = await stack.call("GET", f"/api/account/{tid}/trades")
    await expect(chart).to_have_attribute("data-marker-count", str(trades["total"]), timeout=LIVE)
    await expect(feed.get_by_test_id("decision-item")).to_have_count(2, timeout=LIVE)
    assert await shot.evaluate("window.__noReload") is True
    await _keep(shot, "closed")


async def test_the_page_on_a_phone_and_axe_light_and_dark(stack: WebStack, shot: Page) -> None:
    tid = await stack.new_trader("A trader page with a rather long name", programs.ALWAYS_LONG)
    await stack.call("POST", f"/api/account/{tid}/start")
    await stack.call("POST", f"/api/account/{tid}/trigger")
    await log_in(shot, stack)
    for scheme in ("light", "dark"):
        await shot.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        await shot.goto(f"{stack.base_url}/traders/{tid}")
        await expect(shot.get_by_test_id("ws-status")).to_have_text("live", timeout=LIVE)
        btc = shot.locator('[data-testid="candle-chart"][data-symbol="BTC"]')
        await expect(btc).to_have_attribute("data-marker-count", "1", timeout=LIVE)
        assert await _bad_violations(shot) == [], scheme
    await shot.set_viewport_size({"width": 375, "height": 812})
    await shot.reload()
    await expect(shot.get_by_test_id("position-row")).to_have_count(1)
    await _no_horizontal_scroll(shot)
    await _keep(shot, "phone_dark")
