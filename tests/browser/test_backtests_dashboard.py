"""The dashboard, backtest and analytics pages in a real browser: candles stored through the
import API, a short backtest run from the form, its progress then its results with the equity
curve and one marker per trade; the dashboard showing a new decision live (no reload); and
these screens on a 375-px phone with no horizontal scroll and no critical or serious axe-core
violation, light and dark. A screenshot of each screen is kept in test-artifacts/browser/."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from tests import programs
from tests.browser.conftest import ARTIFACTS, log_in
from tests.browser.server import WebStack
from tests.browser.test_layout_a11y import _bad_violations, _no_horizontal_scroll

LIVE = 20_000
HOUR = 3_600_000
START = 1_735_689_600_000  # 2025-01-01T00:00:00Z
FLIP = """
class Strategy:
    def should_trade(self, data):
        if data.get_positions():
            return Decision(operation="close", symbol="BTC", reasoning="flat")
        return Decision(operation="long", symbol="BTC", size_usd=200, leverage=2,
                        reasoning="in")
"""


def _candles() -> dict[str, Any]:
    """100 warm-up hours then 30 more: a saw-tooth around 100, so trades win and lose."""
    rows = []
    for k in range(-100, 30):
        p = 100 + (k % 7) - 3
        rows.append({"timestamp": START + k * HOUR, "open": str(p), "high": str(p + 1),
                     "low": str(p - 1), "close": str(p), "volume": "10"})  # fmt: skip
    return {"symbol": "BTC", "interval": "1h", "candles": rows}


async def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"web-c-{name}.png"), full_page=True)


async def _run_from_the_form(stack: WebStack, page: Page) -> int:
    await stack.call("POST", "/api/klines/import?symbol=BTC&interval=1h", json=_candles())
    program = await stack.call("POST", "/api/programs/", json={"name": "Flip", "code": FLIP})
    await page.goto(f"{stack.base_url}/backtests")
    form = page.get_by_test_id("backtest-form")
    await form.get_by_test_id("backtest-program").select_option(str(program["id"]))
    await form.get_by_test_id("backtest-symbols").fill("BTC")
    await form.get_by_test_id("backtest-start-date").fill("2025-01-01T00:00")
    await form.get_by_test_id("backtest-end-date").fill("2025-01-02T00:00")
    await form.get_by_test_id("backtest-funding").uncheck()
    await form.get_by_test_id("backtest-run").click()
    await page.wait_for_url(re.compile(r"/backtests/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


async def test_run_a_backtest_from_the_form_and_see_its_results(
    stack: WebStack, shot: Page
) -> None:
    await log_in(shot, stack)
    bt = await _run_from_the_form(stack, shot)
    await expect(shot.get_by_test_id("backtest-progress")).to_be_visible()
    await expect(shot.get_by_test_id("backtest-status")).to_have_text("completed", timeout=120_000)
    rest = await stack.call("GET", f"/api/programs/backtest/{bt}")
    curve = await stack.call("GET", f"/api/programs/backtest/{bt}/equity?max_points=1000")
    assert rest["trades"], rest
    equity = shot.get_by_test_id("backtest-equity-chart")
    await expect(equity).to_have_attribute("data-point-count", str(len(curve["points"])))
    trades = shot.get_by_test_id("backtest-trades-chart")
    await expect(trades).to_have_attribute("data-marker-count", str(len(rest["trades"])))
    pnl = shot.get_by_test_id("backtest-metric-total_pnl")
    await expect(pnl).to_have_attribute("data-value", rest["metrics"]["total_pnl"])
    await _screenshot(shot, "backtest-results")
    second = await stack.call("POST", "/api/programs/backtest", json={
        "program_id": rest["backtest"]["program_id"],
        "config": {**rest["backtest"]["config"], "initial_balance": "5000"},
    })  # fmt: skip
    other = second["backtest"]["id"]
    await shot.goto(f"{stack.base_url}/backtests")
    await expect(shot.locator(f'[data-backtest-id="{bt}"]')).to_be_visible()
    await _screenshot(shot, "backtests")
    await shot.get_by_label(f"Compare backtest {bt}").check()
    await shot.get_by_label(f"Compare backtest {other}").check()
    await shot.get_by_test_id("backtest-compare").click()
    await shot.wait_for_url(re.compile(r"/backtests/compare"))
    await expect(shot.get_by_test_id("compare-metrics")).to_be_visible()
    both = shot.get_by_test_id("compare-equity-chart")
    await expect(both).to_have_attribute("data-point-count", str(2 * len(curve["points"])))
    await _screenshot(shot, "backtest-compare")


async def test_the_dashboard_shows_a_new_decision_live(stack: WebStack, shot: Page) -> None:
    tid = await stack.new_trader("Dash buyer", programs.ALWAYS_LONG)
    await stack.call("POST", f"/api/account/{tid}/start")
    await log_in(shot, stack)
    await shot.goto(f"{stack.base_url}/dashboard")
    await expect(shot.get_by_test_id("ws-status")).to_have_text("live", timeout=LIVE)
    await expect(shot.get_by_test_id("dashboard-leaderboard")).to_be_visible()
    await shot.get_by_test_id("feed-tab-chat").click()
    await shot.evaluate("window.__noReload = true")
    decision = await stack.call("POST", f"/api/account/{tid}/trigger")
    item = shot.locator(f'[data-testid="feed-item"][data-decision-id="{decision["decision_id"]}"]')
    await expect(item).to_be_visible(timeout=LIVE)
    await shot.get_by_test_id("feed-tab-trades").click()
    await expect(shot.get_by_test_id("feed-item").first).to_be_visible(timeout=LIVE)
    chart = shot.get_by_test_id("dashboard-equity-chart")
    await expect(chart).not_to_have_attribute("data-point-count", "0", timeout=LIVE)
    await shot.get_by_test_id("dashboard-timeframe-5m").click()
    await expect(shot.get_by_test_id("dashboard-timeframe-5m")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(chart).not_to_have_attribute("data-point-count", "0")
    await expect(shot.get_by_test_id("dashboard-legend")).to_have_text("Dash buyer")
    assert await shot.evaluate("window.__noReload") is True
    await _screenshot(shot, "dashboard")


async def test_phone_width_and_accessibility(stack: WebStack, shot: Page) -> None:
    await stack.new_trader("A trader with a rather long name to wrap on a phone", programs.HOLD)
    await log_in(shot, stack)
    await shot.set_viewport_size({"width": 375, "height": 812})
    found = await stack.call("GET", "/api/programs/backtests")
    screens = ["/dashboard", "/backtests", "/analytics"]
    screens += [f"/backtests/{found[0]['id']}"] if found else []
    for scheme in ("light", "dark"):
        await shot.emulate_media(color_scheme=scheme)
        for url in screens:
            await shot.goto(f"{stack.base_url}{url}")
            await shot.wait_for_load_state("networkidle")
            await _no_horizontal_scroll(shot)
            assert await _bad_violations(shot) == [], (scheme, url)
            if scheme == "light":
                await _screenshot(shot, "phone" + url.replace("/", "-"))
    await shot.emulate_media(color_scheme="light")
    await shot.set_viewport_size({"width": 1280, "height": 900})
    await shot.goto(f"{stack.base_url}/analytics")
    await expect(shot.get_by_test_id("analytics-summary")).to_be_visible()
    await _screenshot(shot, "analytics")
