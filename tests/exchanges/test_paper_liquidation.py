"""The live paper exchange liquidates a position whose mark crossed its liquidation price
(domain/paper_liquidation.check_marks) on a sync, recorded like a TP/SL fill: a trade with the
trigger `liquidation`, a round trip with exit reason `liquidation`, once."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.exchanges.paper import PaperExchange
from domain import paper
from domain.paper_liquidation import liquidation_price
from tests.exchanges.test_paper_round_trips import (  # noqa: F401 (the fixture)
    A,
    fills,
    order,
    place,
    sessions,
    trips,
)


async def test_a_mark_beyond_the_liquidation_price_liquidates_on_sync(
    sessions: async_sessionmaker[AsyncSession],  # noqa: F811
) -> None:
    exchange = PaperExchange(sessions, paper.PaperConfig())
    await place(exchange, await order(sessions, 1, "entry", "buy", "1000"))  # 2x long
    (entry,) = await fills(sessions)
    pos = paper.PaperPosition("BTC", "long", entry.size, entry.price, Decimal(2))
    liq = liquidation_price(pos, paper.PaperConfig())
    assert liq == Decimal("25265.15151515")  # 50025 x 0.5 / 0.99

    view = await exchange.sync(A, {"BTC": Decimal(25300)})  # above it: nothing
    assert len(view.positions) == 1
    view = await exchange.sync(A, {"BTC": Decimal(25000)})
    assert view.positions == []
    entry, exit_ = await fills(sessions)
    assert (exit_.trigger, exit_.price, exit_.side) == ("liquidation", liq, "sell")
    assert exit_.realized_pnl == paper.q_price((liq - entry.price) * entry.size)
    assert -exit_.realized_pnl <= pos.margin  # never beyond the margin
    (trip,) = await trips(sessions)
    assert (trip.exit_reason, trip.exit_decision_id) == ("liquidation", None)
    assert trip.net_pnl == exit_.realized_pnl - entry.fee - exit_.fee

    await exchange.sync(A, {"BTC": Decimal(25000)})  # again: recorded once
    assert len(await fills(sessions)) == 2
