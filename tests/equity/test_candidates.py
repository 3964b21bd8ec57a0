"""Who the periodic sample covers (db/equity.py, `candidates`): traders that are active (or in
Error: still trading) and paused ones holding positions; never a paused flat one or a deleted
one. A live trader counts only once connected; paused, only while its recorded fills do not net
out to zero."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db import equity
from db.models import PaperAccountRecord, TradeRecord
from domain import paper
from domain.trader import TraderStatus
from domain.vocabulary import Exchange, PositionSide, Side
from tests.equity.conftest import add_trader

LONG = paper.PaperPosition("BTC", PositionSide.LONG, Decimal("0.01"), Decimal(50000), Decimal(2))


def _fill(account_id: int, n: int, side: Side, size: str) -> TradeRecord:
    return TradeRecord(account_id=account_id, trade_id=f"t{account_id}-{n}", symbol="BTC",
                       side=side, size=Decimal(size), price=Decimal(50000), fee=Decimal(0),
                       realized_pnl=Decimal(0))  # fmt: skip


def test_active_and_holding_traders_only(engine: Engine) -> None:
    live = {"exchange": Exchange.HYPERLIQUID, "exchange_credentials_sealed": "{}"}
    with Session(engine) as s, s.begin():
        # 1 and 2 (the fixture's) are paused paper traders without a paper account: flat.
        add_trader(s, 3, status=TraderStatus.ACTIVE)
        add_trader(s, 4, status=TraderStatus.ERROR)
        add_trader(s, 5)  # paused, holding
        add_trader(s, 6, status=TraderStatus.ACTIVE, is_deleted=True)
        add_trader(s, 7, status=TraderStatus.ACTIVE, **live)
        add_trader(s, 8, **live)  # paused, holding at the venue
        add_trader(s, 9, **live)  # paused, its fills net out
        add_trader(s, 10, status=TraderStatus.ACTIVE, exchange=Exchange.BINANCE)  # no keys yet
        s.flush()
        held = paper.account_to_dict(paper.PaperAccount(Decimal(900), positions={"BTC": LONG}))
        s.add(PaperAccountRecord(account_id=5, state=held))
        flat = paper.account_to_dict(paper.PaperAccount(Decimal(990)))
        s.add(PaperAccountRecord(account_id=1, state=flat))
        s.add_all([_fill(8, 1, Side.BUY, "0.5"), _fill(8, 2, Side.SELL, "0.2")])
        s.add_all([_fill(9, 1, Side.BUY, "0.5"), _fill(9, 2, Side.SELL, "0.5")])
    with Session(engine) as s:
        found = equity.candidates(s)
    assert [c.account_id for c in found.paper] == [3, 4, 5]
    assert found.paper[0].state is None and found.paper[0].initial_capital == 1000
    assert found.paper[2].state == held
    assert found.live == [7, 8]
