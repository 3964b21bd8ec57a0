"""A live trader's funding payments, as its venue booked them (db/funding.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from api.auth import CurrentUser
from api.deps import SessionDep
from api.exact_json import ExactNumbersRoute
from api.money import fmt
from api.queries import get_account
from api.schemas import Page, as_utc
from db.models import FundingPaymentRecord

router = APIRouter(
    prefix="/api/account/{account_id}", tags=["history"], route_class=ExactNumbersRoute
)


@router.get("/funding", response_model=Page)
async def funding_payments(
    account_id: int,
    s: SessionDep,
    user: CurrentUser,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page:
    """Funding payments, newest first: `amount` is what the trader paid (negative: received),
    `paid_at` the venue's time of the settlement. Each is counted in the round trip that was
    open then. Paper traders pay none."""
    await get_account(s, account_id, user.id)
    where = FundingPaymentRecord.account_id == account_id
    total = await s.scalar(select(func.count()).select_from(FundingPaymentRecord).where(where))
    rows = await s.scalars(
        select(FundingPaymentRecord)
        .where(where)
        .order_by(FundingPaymentRecord.paid_at.desc(), FundingPaymentRecord.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    items = [
        {
            "symbol": p.symbol,
            "payment_id": p.payment_id,
            "amount": fmt(p.amount),
            "rate": fmt(p.rate),
            "paid_at": as_utc(p.paid_at).isoformat(),
            "created_at": as_utc(p.created_at).isoformat(),
        }
        for p in rows
    ]
    return Page(items=items, page=page, per_page=per_page, total=total or 0)
