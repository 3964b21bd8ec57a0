"""The screens on a 375-px phone (no horizontal scroll) and their accessibility: axe-core
(vendored for tests, served from the app's own origin so the CSP allows it) finds no critical
or serious violation on the login page, the traders screen and the System page, light or
dark."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from tests import programs
from tests.browser.conftest import log_in
from tests.browser.server import WebStack

AXE = "vendor/axe-core-4.14.1/axe.min.js"
RUN_AXE = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
  .map(v => ({id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""


async def _static_prefix(page: Page) -> str:
    src = await page.locator("script[src]").first.get_attribute("src") or ""
    return src.split("/vendor/")[0].split("/app/")[0]


async def _bad_violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(url=f"{await _static_prefix(page)}/{AXE}")
    found: list[dict[str, Any]] = await page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in ("critical", "serious")]


async def _no_horizontal_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url}: the page is {width} px wide on a 375-px screen"


@pytest_asyncio.fixture(loop_scope="session")
async def phone(shot: Page) -> Page:
    await shot.set_viewport_size({"width": 375, "height": 812})
    return shot


async def test_a_375_px_screen_has_no_horizontal_scroll(stack: WebStack, phone: Page) -> None:
    await stack.new_trader("A trader with a rather long name to wrap on a phone", programs.HOLD)
    await phone.goto(f"{stack.base_url}/login")
    await _no_horizontal_scroll(phone)
    await log_in(phone, stack)
    await expect(phone.get_by_test_id("trader-row").first).to_be_visible()
    await _no_horizontal_scroll(phone)
    await phone.goto(f"{stack.base_url}/system")
    await _no_horizontal_scroll(phone)


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_axe_finds_no_serious_violation(stack: WebStack, shot: Page, scheme: str) -> None:
    await shot.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    tid = await stack.new_trader(f"Axe {scheme}", programs.HOLD)
    await stack.call("POST", f"/api/account/{tid}/start")
    await shot.goto(f"{stack.base_url}/login")
    assert await _bad_violations(shot) == []
    await log_in(shot, stack)
    await expect(shot.get_by_test_id("ws-status")).to_have_text("live", timeout=20_000)
    assert await _bad_violations(shot) == []
    await shot.goto(f"{stack.base_url}/system")
    assert await _bad_violations(shot) == []
