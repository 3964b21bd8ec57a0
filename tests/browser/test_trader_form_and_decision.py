"""The trader form and the decision page in a real browser: create a paper trader through the
form (its key field empty after saving, the hint shown), bind a program, see it on the AI
Traders screen; open a decision and see the program's output, the verdict and the orders. Both
screens: no horizontal scroll at 375 px, no critical or serious axe violation, and a
screenshot kept under test-artifacts/browser/."""

from __future__ import annotations

import json

from playwright.async_api import Page, expect

from tests import programs
from tests.browser.conftest import ARTIFACTS, log_in
from tests.browser.server import WebStack
from tests.browser.test_layout_a11y import _bad_violations, _no_horizontal_scroll

LLM_KEY = "sk-browser-typed-key-0123456789abcd"


async def _checked(page: Page, name: str) -> None:
    """375 px wide without horizontal scroll, axe-clean, and a screenshot of it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert await _bad_violations(page) == [], name
    await page.set_viewport_size({"width": 375, "height": 812})
    await _no_horizontal_scroll(page)
    await page.screenshot(path=str(ARTIFACTS / f"{name}-375.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 900})


async def test_create_a_trader_through_the_form_and_bind_a_program(
    stack: WebStack, shot: Page
) -> None:
    program = await stack.call(
        "POST", "/api/programs/", json={"name": "Form holder", "code": programs.HOLD}
    )
    await log_in(shot, stack)
    await shot.get_by_test_id("new-trader").click()
    await shot.wait_for_url(f"{stack.base_url}/traders/new")
    await _checked(shot, "trader-form-new")
    # A prompt trader with its key: after saving, the key field is empty and the hint shown.
    await shot.get_by_test_id("trader-name").fill("Form prompt")
    await shot.get_by_test_id("trader-account-type").select_option("prompt")
    await shot.get_by_test_id("trader-exchange").select_option("paper")
    await shot.get_by_test_id("trader-symbols").fill("BTC")
    await shot.get_by_test_id("llm-provider").select_option("openai")
    await shot.get_by_test_id("llm-model").fill("gpt-form")
    await shot.get_by_test_id("llm-key").fill(LLM_KEY)
    await shot.get_by_test_id("trader-save").click()
    await expect(shot.get_by_test_id("trader-saved")).to_be_visible()
    await expect(shot.get_by_test_id("llm-key")).to_have_value("")
    await expect(shot.get_by_test_id("llm-key-hint")).to_have_text("set, ending abcd")
    assert LLM_KEY not in await shot.content()
    await _checked(shot, "trader-form-edit")
    # A program trader, bound through the form: listed on the AI Traders screen.
    await shot.goto(f"{stack.base_url}/traders/new")
    await shot.get_by_test_id("trader-name").fill("Form program")
    await shot.get_by_test_id("binding-program").select_option(str(program["id"]))
    await shot.get_by_test_id("trader-save").click()
    await expect(shot.get_by_test_id("trader-binding")).to_contain_text("Form holder")
    await shot.goto(f"{stack.base_url}/")
    listed = shot.get_by_test_id("trader-row").filter(has_text="Form program")
    await expect(listed.get_by_test_id("trader-strategy")).to_contain_text("Form holder")


async def test_open_a_decision_and_see_output_verdict_and_orders(
    stack: WebStack, shot: Page
) -> None:
    refused: list[str] = []
    shot.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    tid = await stack.new_trader("Decision buyer", programs.ALWAYS_LONG)
    await stack.call("POST", f"/api/account/{tid}/start")
    did = (await stack.call("POST", f"/api/account/{tid}/trigger"))["decision_id"]
    await log_in(shot, stack)
    await shot.goto(f"{stack.base_url}/decisions/{did}")
    await expect(shot.get_by_test_id("decision-prompt")).to_contain_text("A program decided")
    await expect(shot.get_by_test_id("decision-reasoning")).to_contain_text("buy at")
    await expect(shot.get_by_test_id("decision-verdict")).to_contain_text("approved")
    orders = shot.get_by_test_id("decision-orders").get_by_test_id("decision-order")
    await expect(orders.first).to_be_visible()
    rest = await stack.call("GET", f"/api/account/{tid}/decisions/{did}")
    assert await orders.count() == len(rest["orders"])
    async with shot.expect_download() as fetched:  # Download: the output, as recorded
        await shot.get_by_test_id("decision-prompt").get_by_role("button", name="Download").click()
    saved = await (await fetched.value).path()
    assert json.loads(saved.read_text())["decision"] == rest["output"]["decision"]
    assert refused == []  # the strict CSP refused nothing the page does
    await _checked(shot, "decision-page")
