"""Browser tests: pytest-playwright (its asyncio flavour, as the rest of the suite is async)
driving Debian's Chromium (/usr/bin/chromium: Playwright's own browser download cannot work
offline) against the real API and worker processes.

Without the browser they skip, with the reason, except under CI (the `CI` variable set), where
a missing browser fails the run: `.ci/run` installs Debian's `chromium` package. A failing test
leaves a screenshot of its page under test-artifacts/browser/ (or $HYPERORU_TEST_ARTIFACTS).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Page

from tests.browser.server import WebStack
from tests.support.stack import DEFAULT_EMAIL, DEFAULT_PASSWORD

# Debian's package; HYPERORU_CHROMIUM names another Chromium build.
CHROMIUM = Path(os.environ.get("HYPERORU_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("HYPERORU_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "browser"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        reason = (
            f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (.ci/run does)", pytrace=False)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], chromium_path: Path
) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": str(chromium_path),
        "args": ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


@pytest_asyncio.fixture(loop_scope="session")
async def shot(request: pytest.FixtureRequest, page: Page) -> AsyncIterator[Page]:
    """The page, screenshot under ARTIFACTS when the test fails."""
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def stack(temporal_address: str, chromium_path: Path) -> Iterator[WebStack]:
    st = WebStack(temporal_address)
    st.start()
    try:
        yield st
    finally:
        st.stop()


async def log_in(page: Page, stack: WebStack) -> None:
    await page.goto(f"{stack.base_url}/")
    await page.get_by_test_id("login-email").fill(DEFAULT_EMAIL)
    await page.get_by_test_id("login-password").fill(DEFAULT_PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url(f"{stack.base_url}/")
