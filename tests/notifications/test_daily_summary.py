"""The daily summary tells each user, per trader, the day's closing equity, its PnL (equity at
the day's end minus at its start), the number of fills and their fees; only the day's fills
count, and it goes once per channel and day, only to channels that asked for it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from db.tables import EQUITY_SNAPSHOTS, TRADES
from domain.notifications import BatchResult, DeliveryPolicy, SummaryInput
from tests.notifications.conftest import webhook
from tests.notifications.receiver import WebhookReceiver
from tests.support.stack import Stack

DAY = date(2026, 12, 6)
D0 = datetime(2026, 12, 6, tzinfo=UTC)


def _history(st: Stack, account_id: int) -> None:
    def trade(n: int, at: datetime, fee: str, pnl: str) -> dict[str, object]:
        return {
            "account_id": account_id, "trade_id": f"t{n}", "client_order_id": None,
            "symbol": "BTC", "side": "buy", "size": Decimal("0.01"), "price": Decimal(50000),
            "fee": Decimal(fee), "realized_pnl": Decimal(pnl), "trigger": None, "created_at": at,
        }  # fmt: skip

    def point(at: datetime, equity: str) -> dict[str, object]:
        e = Decimal(equity)
        return {"account_id": account_id, "time": at, "cash": e, "unrealized_pnl": Decimal(0),
                "equity": e, "margin_used": Decimal(0)}  # fmt: skip

    engine = create_engine(st.settings.database_url or "")
    with Session(engine) as s, s.begin():
        s.execute(insert(TRADES), [
            trade(1, D0 - timedelta(hours=2), "9", "9"),  # the day before: not counted
            trade(2, D0 + timedelta(hours=3), "0.4", "12.5"),
            trade(3, D0 + timedelta(hours=20), "0.35", "-2"),
            trade(4, D0 + timedelta(days=1, minutes=1), "7", "7"),  # the day after
        ])  # fmt: skip
        s.execute(insert(EQUITY_SNAPSHOTS), [
            point(D0 - timedelta(hours=1), "10100"),  # the day's opening equity
            point(D0 + timedelta(hours=12), "10050"),
            point(D0 + timedelta(hours=23), "10160.25"),  # its closing equity
            point(D0 + timedelta(days=1, hours=1), "99999"),
        ])  # fmt: skip
    engine.dispose()


async def test_the_summary_of_a_day(st_any: Stack, receiver: WebhookReceiver) -> None:
    st = st_any
    ch = await webhook(st.api, receiver.url, ["daily_summary"])
    receiver.secret = ch["secret"]
    await webhook(st.api, receiver.url, ["fill"], name="fills only")
    trader = (await st.create_trader(name="alpha"))["account_id"]
    _history(st, trader)

    for _ in range(2):  # the schedule firing twice on the same day sends it once
        done = await st.client.execute_workflow(
            "DailySummaryWorkflow",
            SummaryInput(day=DAY, policy=DeliveryPolicy(http_timeout_s=2)),
            id=f"summary-{_}",
            task_queue=st.settings.notify_task_queue,
            result_type=BatchResult,
        )
    assert [r.status for r in done.results] == []  # the second run found it sent
    [req] = receiver.requests
    body = req.body
    assert body["kind"] == "daily_summary" and body["day"] == "2026-12-06"
    [line] = body["traders"]
    assert line["account_id"] == trader and line["name"] == "alpha"
    assert Decimal(line["equity"]) == Decimal("10160.25")
    assert Decimal(line["pnl"]) == Decimal("60.25")
    assert line["trades"] == 2
    assert Decimal(line["fees"]) == Decimal("0.75")
    assert Decimal(line["realized_pnl"]) == Decimal("10.5")
    assert "alpha: equity 10160.25" in body["text"] and "2 trades" in body["text"]
