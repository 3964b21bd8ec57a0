"""Closing a trader's positions on the owner's word: one symbol, all of them, or every trader's
at once (the kill switch). Each close goes through the trader's workflow (`close_positions`),
is a decision of its own in its decision log (trigger `manual`, the owner's reason), and runs
even while the trader is paused (closes only reduce exposure).

An Idempotency-Key makes the workflow update's id, so the closes it made are recorded under
`close-<update id>-<symbol>`: a retry with the key is answered with those decisions, read back,
and never closes a position opened again since.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.exchanges.client import ExchangeError
from adapters.exchanges.router import ExchangeRouter
from api.errors import ApiError
from api.queries import decisions_out
from api.schemas import DecisionOut
from api.trader_deletion import open_positions
from api.traders import TraderControl
from db.models import Account, DecisionRecord
from domain.breakers import KILL_SWITCH
from domain.contracts import DecisionOutcome
from domain.trader import TraderStatus
from domain.vocabulary import DecisionStatus

log = logging.getLogger("hyperoru.api")


class ClosesOut(BaseModel):
    account_id: int
    decisions: list[DecisionOut]


class CloseResult(BaseModel):
    symbol: str
    decision_id: str
    status: DecisionStatus
    error_code: str | None = None
    error: str | None = None


class TraderError(BaseModel):
    code: str
    error: str


class KillSwitchTrader(BaseModel):
    account_id: int
    name: str
    paused: bool
    closes: list[CloseResult] = Field(default_factory=list)
    error: TraderError | None = None


class KillSwitchOut(BaseModel):
    reason: str
    flatten: bool
    traders: list[KillSwitchTrader]


def _trigger_prefix(update_id: str) -> str:
    return f"close-{update_id}-"


async def _earlier(s: AsyncSession, account_id: int, update_id: str) -> list[DecisionRecord]:
    """The closes an update with this id already made (its decisions' trigger keys)."""
    rows = await s.scalars(
        select(DecisionRecord)
        .where(
            DecisionRecord.account_id == account_id,
            DecisionRecord.trigger_key.startswith(_trigger_prefix(update_id), autoescape=True),
        )
        .order_by(DecisionRecord.seq)
    )
    return list(rows)


async def close_positions(
    s: AsyncSession,
    control: TraderControl,
    exchange: ExchangeRouter,
    acct: Account,
    symbol: str | None,
    reason: str,
    idempotency_key: str | None,
) -> ClosesOut:
    """Close `symbol`'s position (None: every open position) and answer the decisions."""
    account_id = acct.id  # the row is expired by the rollback below
    update_id = f"{'one' if symbol else 'all'}-{idempotency_key or uuid.uuid4()}"
    earlier: list[DecisionRecord] = []
    if idempotency_key is not None:
        earlier = await _earlier(s, account_id, update_id)
        if symbol is not None and any(
            r.trigger_key != f"{_trigger_prefix(update_id)}{symbol}" for r in earlier
        ):
            raise ApiError(
                422,
                "IDEMPOTENCY_KEY_REUSED",
                "This Idempotency-Key was used to close another symbol; use a new key for a "
                "new request",
            )
        if earlier and all(r.status != DecisionStatus.PENDING for r in earlier):
            # A retry: the first request's closes, nothing sent again.
            return ClosesOut(
                account_id=account_id, decisions=await decisions_out(s, earlier, False)
            )
    if earlier:
        # The first request's closes are still running: the same update (Temporal answers a
        # repeated update id with the first one's result) waits for them.
        held = [str(r.trigger_context.get("close")) for r in earlier]
    else:
        held = [p.symbol for p in await open_positions(exchange, account_id)]
    if symbol is not None and not earlier:
        if symbol not in held:
            raise ApiError(
                404,
                "POSITION_NOT_FOUND",
                f"Trader {account_id} holds no {symbol} position "
                f"(open: {', '.join(held) or 'none'})",
            )
        held = [symbol]
    if not held:
        return ClosesOut(account_id=account_id, decisions=[])
    await control.ensure_started(account_id, paused=True)  # a running trader is left as it is
    outcomes = await control.close_positions(
        account_id, held, reason or "closed by the owner", update_id
    )
    await s.rollback()  # end the read transaction so the worker's writes are visible
    return ClosesOut(account_id=account_id, decisions=await _recorded(s, outcomes))


async def _recorded(s: AsyncSession, outcomes: list[DecisionOutcome]) -> list[DecisionOut]:
    ids = [o.decision_id for o in outcomes if o.decision_id]
    found = await s.scalars(select(DecisionRecord).where(DecisionRecord.id.in_(ids)))
    rows = {r.id: r for r in found}
    return await decisions_out(s, [rows[i] for i in ids if i in rows], False)


def kill_reason(reason: str) -> str:
    return f"{KILL_SWITCH}: {reason}" if reason else KILL_SWITCH


def _error(err: Exception) -> TraderError:
    if isinstance(err, ApiError):
        return TraderError(code=err.code, error=err.message)
    if isinstance(err, ExchangeError):
        return TraderError(code=f"EXCHANGE_{err.code}", error=str(err))
    log.error("kill switch: unexpected error", exc_info=err)
    return TraderError(code="INTERNAL_ERROR", error="Internal error, see the server's log")


async def kill_switch(
    s: AsyncSession,
    control: TraderControl,
    exchange: ExchangeRouter,
    accounts: list[Account],
    reason: str,
    flatten: bool,
    idempotency_key: str | None,
) -> KillSwitchOut:
    """Pause every trader in `accounts`, then (flatten) close each one's positions; one
    trader's failure is its own answer and never stops the others."""
    answers = [KillSwitchTrader(account_id=a.id, name=a.name, paused=False) for a in accounts]
    for acct, answer in zip(accounts, answers, strict=True):
        try:
            await control.ensure_started(acct.id, paused=True)
            await control.pause(acct.id, reason, kill_switch=True)
        except ApiError as err:
            answer.error = _error(err)
            continue
        acct.trading_enabled = False
        acct.status, acct.status_reason = TraderStatus.PAUSED, reason
        await s.commit()
        answer.paused = True
    if flatten:
        key = idempotency_key or str(uuid.uuid4())

        async def flatten_one(acct: Account, answer: KillSwitchTrader) -> None:
            try:
                held = [p.symbol for p in await open_positions(exchange, acct.id)]
                if held:
                    outcomes = await control.close_positions(
                        acct.id, held, reason, f"kill-{key}-{acct.id}"
                    )
                    pairs = zip(held, outcomes, strict=True)
                    answer.closes = [_close_result(sym, o) for sym, o in pairs]
            except Exception as err:  # one trader's failure is its answer (see the docstring)
                answer.error = _error(err)

        await asyncio.gather(
            *(flatten_one(a, r) for a, r in zip(accounts, answers, strict=True) if r.paused)
        )
    return KillSwitchOut(reason=reason, flatten=flatten, traders=answers)


def _close_result(symbol: str, o: DecisionOutcome) -> CloseResult:
    return CloseResult(
        symbol=symbol,
        decision_id=o.decision_id,
        status=o.status,
        error_code=o.error_code,
        error=o.error,
    )
