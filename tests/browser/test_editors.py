"""The editors in a real browser: write a program with an error, see validation name its line
(and the editor select it), fix it, test-run it on a trader and see its decision, save it;
preview a prompt against a trader's live data; settings kept in the browser (theme applied on
every page, never a token); and the part-D screens on a 375-px phone, checked by axe-core.
Each screen's screenshot is kept under test-artifacts/browser/."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests import programs
from tests.browser.conftest import ARTIFACTS, log_in
from tests.browser.server import WebStack
from tests.browser.test_layout_a11y import _bad_violations, _no_horizontal_scroll

BROKEN = "class Strategy:\n    def should_trade(self, data):\n        return Decision(\n"
RUN = 30_000  # ms: a dry run in the sandbox on this shared machine


async def _keep(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_write_validate_fix_test_run_and_save_a_program(stack: WebStack, shot: Page) -> None:
    tid = await stack.new_trader("Program dry run", programs.HOLD)
    await log_in(shot, stack)
    await shot.goto(f"{stack.base_url}/programs")
    await shot.get_by_test_id("program-name").fill("Journey")
    editor = shot.get_by_test_id("program-editor")
    await editor.fill(BROKEN)
    await shot.get_by_test_id("program-validate").click()
    error = shot.get_by_test_id("program-error").first
    await expect(error).to_have_attribute("data-line", "3", timeout=RUN)
    await expect(error).to_contain_text("Line 3")
    await expect(editor).to_have_attribute("data-error-line", "3")  # the editor marks it
    await _keep(shot, "programs-error")
    await editor.fill(programs.HOLD)
    await shot.get_by_test_id("program-validate").click()
    await expect(shot.get_by_test_id("program-valid")).to_be_visible(timeout=RUN)
    await shot.get_by_test_id("program-test-run-trader").select_option(str(tid))
    await shot.get_by_test_id("program-test-run").click()
    await expect(shot.get_by_test_id("program-test-status")).to_have_text("ok", timeout=RUN)
    await expect(shot.get_by_test_id("program-test-decision")).to_contain_text('"hold"')
    await _keep(shot, "programs-test-run")
    await shot.get_by_test_id("program-save").click()
    await shot.wait_for_url(re.compile(r".*/programs/\d+$"))
    saved = [p for p in await stack.call("GET", "/api/programs/") if p["name"] == "Journey"]
    assert len(saved) == 1 and saved[0]["code"] == programs.HOLD


async def test_preview_a_prompt_against_a_trader(stack: WebStack, shot: Page) -> None:
    tid = await stack.new_trader("Prompt preview", programs.HOLD)
    await log_in(shot, stack)
    await shot.goto(f"{stack.base_url}/prompts")
    await shot.get_by_test_id("prompt-editor").fill("Watch {symbols}.\n{market_prices}")
    await shot.get_by_test_id("prompt-preview-trader").select_option(str(tid))
    await shot.get_by_test_id("prompt-preview-run").click()
    user = shot.get_by_test_id("prompt-preview-user")
    await expect(user).to_contain_text("Watch BTC", timeout=RUN)
    await _keep(shot, "prompts-preview")


async def test_settings_theme_holds_on_every_page_and_no_token_is_stored(
    stack: WebStack, shot: Page
) -> None:
    """...and money on the AI Traders screen shows at the places chosen."""
    tid = await stack.new_trader("Four places", programs.HOLD)
    await log_in(shot, stack)
    await shot.goto(f"{stack.base_url}/settings")
    await shot.get_by_test_id("settings-theme").select_option("dark")
    await shot.get_by_test_id("settings-money-places").select_option("4")
    await expect(shot.locator("html")).to_have_attribute("data-theme", "dark")
    await expect(shot.get_by_test_id("settings-money-example")).to_have_text("12,345.6789")
    await expect(shot.get_by_test_id("settings-price-example")).to_have_text("65,108.9")
    await _keep(shot, "settings-dark")
    await shot.goto(f"{stack.base_url}/")
    await expect(shot.locator("html")).to_have_attribute("data-theme", "dark")
    row = shot.locator(f'[data-testid="trader-row"][data-account-id="{tid}"]')
    equity = row.get_by_test_id("trader-equity")
    await expect(equity).to_have_text(re.compile(r"^[0-9,]+\.[0-9]{4}$"))
    stored = await shot.evaluate("JSON.stringify(Object.entries(localStorage))")
    assert "hyperoru.theme" in stored and "session" not in stored.lower(), stored
    cookie = next(c for c in await shot.context.cookies() if c["httpOnly"])
    assert cookie["value"] not in stored


async def test_editor_screens_on_a_phone_pass_axe_light_and_dark(
    stack: WebStack, shot: Page
) -> None:
    await shot.set_viewport_size({"width": 375, "height": 812})
    await stack.new_trader("Phone editors", programs.HOLD)
    await log_in(shot, stack)
    for scheme in ("light", "dark"):
        await shot.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        for url in ("/prompts", "/programs", "/signals", "/settings"):
            await shot.goto(f"{stack.base_url}{url}")
            await _no_horizontal_scroll(shot)
            assert await _bad_violations(shot) == [], (scheme, url)
            await _keep(shot, f"phone-{scheme}{url.replace('/', '-')}")
