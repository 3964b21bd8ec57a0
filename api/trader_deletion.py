"""Deleting a trader, and what becomes of the positions it holds.

A deleted trader's workflow ends: nobody watches its positions any more (no TP/SL checks on
paper, no reconciliation). So a trader holding positions is deleted only when the owner says
what to do with them: `close` (each closed through the trader's workflow first, as a decision
in its log, even while paused) or `leave` (deleted, and its decision log records the positions
left unwatched).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from adapters.exchanges.client import ExchangeError
from adapters.exchanges.router import ExchangeRouter
from api.errors import ApiError
from api.traders import TraderControl
from db.models import Account
from domain.risk import PositionView
from domain.vocabulary import DecisionStatus


class PositionsChoice(StrEnum):
    CLOSE = "close"
    LEAVE = "leave"


async def open_positions(exchange: ExchangeRouter, account_id: int) -> list[PositionView]:
    try:
        return (await exchange.view(account_id, {})).positions
    except ExchangeError as err:
        if err.code == "NOT_CONNECTED":  # a live trader never connected holds nothing here
            return []
        raise


def describe(positions: list[PositionView]) -> str:
    return ", ".join(f"{p.symbol} {p.side} {p.size}" for p in positions)


def left_record(positions: list[PositionView]) -> list[dict[str, Any]]:
    return [
        {
            "symbol": p.symbol,
            "side": p.side.value,
            "size": str(p.size),
            "entry_price": str(p.entry_price),
        }
        for p in positions
    ]


async def settle_positions(
    acct: Account, control: TraderControl, exchange: ExchangeRouter, choice: PositionsChoice | None
) -> list[dict[str, Any]]:
    """Before a delete: refuse (409) while positions are open and no choice was made; close them
    (`close`); or return them, to be recorded as left unwatched (`leave`)."""
    held = await open_positions(exchange, acct.id)
    if not held:
        return []
    if choice is None:
        raise ApiError(
            409,
            "POSITIONS_OPEN",
            f"Trader {acct.id} holds open positions ({describe(held)}): deleting it would leave "
            "them unwatched. Close them first with DELETE ...?positions=close, or leave them "
            "open and unwatched with ?positions=leave",
        )
    if choice is PositionsChoice.LEAVE:
        return left_record(held)
    await control.ensure_started(acct.id, paused=True)  # a running trader is left as it is
    outcomes = await control.close_positions(
        acct.id, [p.symbol for p in held], "closed before deleting the trader"
    )
    failed = [o for o in outcomes if o.status != DecisionStatus.EXECUTED]
    still = await open_positions(exchange, acct.id)
    if failed or still:
        reasons = "; ".join(f"{o.decision_id}: {o.error_code or o.status} {o.error or ''}"
                            for o in failed)  # fmt: skip
        raise ApiError(
            409,
            "POSITIONS_NOT_CLOSED",
            f"Trader {acct.id} was not deleted: its positions could not all be closed "
            f"({describe(still) or 'none left'}; {reasons or 'see its decision log'})",
        )
    return []
