"""PnL today is the equity now minus the last stored equity point before 00:00 UTC (the day's
opening equity), and the sparkline draws the stored curve ending at the current equity."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from temporalio.client import Client

from db import equity
from domain.equity import EquityPoint
from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, sign_in


def _point(tid: int, at: datetime, value: str) -> EquityPoint:
    return EquityPoint(account_id=tid, time=at, cash=Decimal(value), unrealized_pnl=Decimal(0),
                       equity=Decimal(value), margin_used=Decimal(0))  # fmt: skip


async def test_pnl_today_counts_from_the_days_opening_equity(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st:
        tid = (await st.create_trader(name="Curve", initial_capital="10000"))["account_id"]
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        points = [
            _point(tid, midnight - timedelta(days=2, hours=1), "9000"),
            _point(tid, midnight - timedelta(hours=3), "9500"),  # the day's opening equity
        ]
        async with st.app.state.sessions() as s:
            await s.run_sync(lambda sync: equity.record(sync, *points))
            await s.commit()
        ov = (await st.api.get(f"/api/account/{tid}/overview")).json()
        async with browser(st) as http:
            await sign_in(http)
            html = (await http.get(f"/traders/{tid}/row")).text
        today = re.search(r'data-testid="trader-pnl-today" data-value="([^"]*)"', html)
        assert today and Decimal(today.group(1)) == Decimal(ov["equity"]) - Decimal("9500")
        assert re.search(r'data-testid="trader-pnl-today"[^>]*>\+500\.00<', html), html
        line = re.search(r'<polyline points="([^"]+)"', html)
        assert line and len(line.group(1).split()) == 3, html  # two stored points and now
