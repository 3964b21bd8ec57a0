"""What the platform needs from an exchange: paper now, Hyperliquid and Binance later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, Field

from domain.equity import EquityPoint
from domain.orders import OrderIntent, OrderOutcome
from domain.risk import PositionView


class AccountView(BaseModel):
    cash_usd: Decimal
    equity_usd: Decimal
    available_usd: Decimal
    used_margin_usd: Decimal
    realized_pnl_usd: Decimal
    fees_paid_usd: Decimal
    unrealized_pnl_usd: Decimal
    positions: list[PositionView] = Field(default_factory=list)

    def equity_point(self, account_id: int, at: datetime) -> EquityPoint:
        """This view as a point of the trader's equity history."""
        return EquityPoint(
            account_id=account_id,
            time=at,
            cash=self.cash_usd,
            unrealized_pnl=self.unrealized_pnl_usd,
            equity=self.equity_usd,
            margin_used=self.used_margin_usd,
        )


@dataclass(frozen=True)
class Unsettled:
    """An order the platform does not consider settled (intent or unknown), as reconciliation
    needs it."""

    client_order_id: str
    symbol: str
    status: str


class Exchange(Protocol):
    async def sync(self, account_id: int, marks: dict[str, Decimal]) -> AccountView:
        """Bring the account up to date (fills, triggers) and return it."""
        ...

    async def view(self, account_id: int, marks: dict[str, Decimal]) -> AccountView:
        """Read-only view for the API."""
        ...

    async def place_order(self, intent: OrderIntent, mark: Decimal) -> OrderOutcome:
        """Idempotent by client order id: an order that already exists is returned, not resent."""
        ...
