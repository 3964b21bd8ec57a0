"""The System page reports what the API knows: the database and Temporal answering, and
whether a worker polls the trader task queue (down without one, up once one runs); it links
the API docs and lists the vendored libraries' licences with TradingView's attribution."""

from __future__ import annotations

import re

from temporalio.client import Client

from tests.support.stack import full_stack, make_settings, running_worker
from tests.web.support import browser, sign_in


def _state(html: str, name: str) -> str:
    m = re.search(
        rf'data-testid="health-{name}"><strong>[^<]+</strong> <span class="badge">(\w+)<', html
    )
    assert m, (name, html)
    return m.group(1)


async def test_system_page_reports_health_and_licences(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        await sign_in(http)
        html = (await http.get("/system")).text
        assert [_state(html, n) for n in ("api", "database", "temporal", "worker")] == [
            "up", "up", "up", "down"
        ]  # fmt: skip
        async with running_worker(st.client, settings):
            html = (await http.get("/system")).text
            assert _state(html, "worker") == "up"
        assert 'href="/docs"' in html
        for lib in ("htmx 2.0.11", "lightweight-charts 5.2.1"):
            assert lib in html
        assert "https://www.tradingview.com/" in html and "TradingView" in html
        licence = re.search(r'href="([^"]+lightweight-charts-5.2.1/NOTICE)"', html)
        assert licence and "TradingView" in (await http.get(licence.group(1))).text
