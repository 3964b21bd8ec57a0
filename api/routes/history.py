"""A trader's history and state: decisions, orders, trades, positions, overview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select

from api.auth import CurrentUser
from api.deps import SessionDep
from api.errors import not_found
from api.exact_json import ExactNumbersRoute
from api.queries import decisions_out, get_account, order_dict, round_trip_dict, trade_dict
from api.schemas import DecisionOut, OverviewOut, Page, PositionsOut, as_utc
from api.trader_state import open_orders_of, overview_of, positions_of
from db.models import (
    DecisionRecord,
    OrderRecord,
    ReconciliationEvent,
    RoundTripRecord,
    TradeRecord,
)

router = APIRouter(
    prefix="/api/account/{account_id}", tags=["history"], route_class=ExactNumbersRoute
)

PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=200)]


async def _page(s: SessionDep, stmt, count_stmt, page: int, per_page: int):  # type: ignore[no-untyped-def]
    total = await s.scalar(count_stmt) or 0
    rows = list(await s.scalars(stmt.offset((page - 1) * per_page).limit(per_page)))
    return rows, total


async def orders_page(
    s: SessionDep, account_id: int, page: int, per_page: int
) -> tuple[list[OrderRecord], int]:
    """One page of a trader's orders, newest first, and how many there are (GET
    /api/account/{id}/orders and /api/orders/account/{id} show them in their own shapes)."""
    where = OrderRecord.account_id == account_id
    return await _page(  # type: ignore[no-any-return]
        s,
        select(OrderRecord).where(where).order_by(OrderRecord.created_at.desc()),
        select(func.count()).select_from(OrderRecord).where(where),
        page,
        per_page,
    )


@router.get("/decisions", response_model=Page)
async def decisions(
    account_id: int,
    s: SessionDep,
    user: CurrentUser,
    page: PageNo = 1,
    per_page: PerPage = 50,
    include_snapshot: bool = False,
) -> Page:
    """Decision log, newest first: trigger, output or error, verdict, orders; each decision's
    input snapshot (~70 KB: prices, candles, positions) only with include_snapshot=true."""
    await get_account(s, account_id, user.id)
    where = DecisionRecord.account_id == account_id
    rows, total = await _page(
        s,
        select(DecisionRecord).where(where).order_by(DecisionRecord.seq.desc()),
        select(func.count()).select_from(DecisionRecord).where(where),
        page,
        per_page,
    )
    items = await decisions_out(s, rows, include_snapshot)
    return Page(items=items, page=page, per_page=per_page, total=total)


@router.get("/decisions/{decision_id}", response_model=DecisionOut)
async def decision(
    account_id: int, decision_id: str, s: SessionDep, user: CurrentUser
) -> DecisionOut:
    """One decision with everything recorded about it, its input snapshot included."""
    await get_account(s, account_id, user.id)
    rec = await s.get(DecisionRecord, decision_id)
    if rec is None or rec.account_id != account_id:
        raise not_found("decision", decision_id)
    return (await decisions_out(s, [rec], include_snapshot=True))[0]


@router.get("/orders", response_model=Page)
async def orders(
    account_id: int, s: SessionDep, user: CurrentUser, page: PageNo = 1, per_page: PerPage = 50
) -> Page:
    """Orders, newest first, each with its client order id and outcome."""
    await get_account(s, account_id, user.id)
    rows, total = await orders_page(s, account_id, page, per_page)
    return Page(items=[order_dict(o) for o in rows], page=page, per_page=per_page, total=total)


@router.get("/trades", response_model=Page)
async def trades(
    account_id: int, s: SessionDep, user: CurrentUser, page: PageNo = 1, per_page: PerPage = 50
) -> Page:
    """Fills, newest first."""
    await get_account(s, account_id, user.id)
    where = TradeRecord.account_id == account_id
    rows, total = await _page(
        s,
        select(TradeRecord).where(where).order_by(TradeRecord.id.desc()),
        select(func.count()).select_from(TradeRecord).where(where),
        page,
        per_page,
    )
    return Page(items=[trade_dict(t) for t in rows], page=page, per_page=per_page, total=total)


@router.get("/round-trips", response_model=Page)
async def round_trips(
    account_id: int, s: SessionDep, user: CurrentUser, page: PageNo = 1, per_page: PerPage = 50
) -> Page:
    """Round trips, newest first: each position from its opening fill to the fill that left it
    flat (partial closes included), its average entry and exit, fees, funding, gross and net
    PnL, why it ended, and the decisions and strategy behind it."""
    await get_account(s, account_id, user.id)
    where = RoundTripRecord.account_id == account_id
    rows, total = await _page(
        s,
        select(RoundTripRecord)
        .where(where)
        .order_by(RoundTripRecord.closed_at.desc(), RoundTripRecord.id.desc()),
        select(func.count()).select_from(RoundTripRecord).where(where),
        page,
        per_page,
    )
    return Page(items=[round_trip_dict(t) for t in rows], page=page, per_page=per_page, total=total)


@router.get("/reconciliation", response_model=Page)
async def reconciliation(
    account_id: int, s: SessionDep, user: CurrentUser, page: PageNo = 1, per_page: PerPage = 50
) -> Page:
    """What reconciliation with the exchange found, newest first: fills learnt from the venue,
    orders it settled, drift (positions or open orders the platform did not expect)."""
    await get_account(s, account_id, user.id)
    where = ReconciliationEvent.account_id == account_id
    rows, total = await _page(
        s,
        select(ReconciliationEvent).where(where).order_by(ReconciliationEvent.id.desc()),
        select(func.count()).select_from(ReconciliationEvent).where(where),
        page,
        per_page,
    )
    items = [
        {
            "kind": e.kind,
            "subject": e.subject,
            "reason": e.reason,
            "detail": e.detail,
            "created_at": as_utc(e.created_at).isoformat(),
        }
        for e in rows
    ]
    return Page(items=items, page=page, per_page=per_page, total=total)


@router.get("/positions", response_model=PositionsOut)
async def positions(
    account_id: int, s: SessionDep, request: Request, user: CurrentUser
) -> PositionsOut:
    """Open positions at current marks."""
    return await positions_of(request, await get_account(s, account_id, user.id))


@router.get("/overview", response_model=OverviewOut)
async def overview(
    account_id: int, s: SessionDep, request: Request, user: CurrentUser
) -> OverviewOut:
    """Equity, PnL, trade count and status."""
    return await overview_of(request, s, await get_account(s, account_id, user.id))


@router.get("/open-orders")
async def open_orders(
    account_id: int, s: SessionDep, request: Request, user: CurrentUser
) -> dict[str, object]:
    """Orders resting at the exchange, TP/SL triggers included (paper orders fill at once)."""
    return await open_orders_of(request, await get_account(s, account_id, user.id))
