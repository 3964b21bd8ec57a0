"""/api/orders: the owner's own orders, placed through the trader's workflow.

An order is a decision of its own (trigger type `manual`): the trader's workflow risk-checks it
with the same gate as a strategy's decision, records its intent before sending it, and records
the outcome in the decision log. Cancels go through the workflow's `cancel_order` update.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path
from sqlalchemy import select

from api.auth import CurrentUser
from api.deps import ControlDep, SessionDep
from api.errors import ApiError
from api.exact_json import ExactNumbersRoute
from api.idempotency import _same_json, earlier_decision
from api.order_schemas import OrderCreate, order_context, order_out
from api.queries import get_account
from api.routes.accounts import ORDER_ID
from api.routes.history import PageNo, PerPage, orders_page
from api.schemas import Page
from db.models import Account, DecisionRecord, OrderRecord
from domain.contracts import DecisionOutcome
from domain.orders import OrderStatus
from domain.trader import CancelRequest
from domain.vocabulary import DecisionStatus

router = APIRouter(prefix="/api/orders", tags=["orders"], route_class=ExactNumbersRoute)

# Why each settled state is its own code: the caller learns what happened to the order.
_NOT_CANCELLABLE = {
    OrderStatus.FILLED: ("ORDER_FILLED", "it has filled"),
    OrderStatus.CANCELLED: ("ORDER_CANCELLED", "it is already cancelled"),
    OrderStatus.REJECTED: ("ORDER_REJECTED", "the exchange refused it"),
    OrderStatus.INTENT: ("ORDER_NOT_SENT", "it has not been sent yet"),
    OrderStatus.UNKNOWN: ("ORDER_UNKNOWN", "its outcome is unknown until it is looked up"),
}


def _check_reuse(rec: DecisionRecord | None, body: OrderCreate) -> None:
    if rec is not None and not _same_json(order_context(body.order()), rec.trigger_context or {}):
        raise ApiError(
            422,
            "IDEMPOTENCY_KEY_REUSED",
            f"This Idempotency-Key was used for decision {rec.id} with a different body; "
            "use a new key for a new order",
        )


def _refused(outcome: DecisionOutcome) -> ApiError:
    """A decision that sent no order: the gate's denial (its code), or why it failed."""
    verdict = outcome.risk_verdict
    if outcome.status == DecisionStatus.DENIED and verdict is not None and verdict.code:
        return ApiError(422, verdict.code.value, verdict.message or verdict.code.value)
    code = outcome.error_code or "ORDER_NOT_PLACED"
    return ApiError(409, code, outcome.error or "the order was not placed")


@router.post("/create")
async def create_order(
    body: OrderCreate,
    s: SessionDep,
    control: ControlDep,
    user: CurrentUser,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Place an order now through the trader's workflow: risk-checked, recorded as a `manual`
    decision with its intent before it is sent, once per Idempotency-Key."""
    await get_account(s, body.account_id, user.id, live=True)
    if idempotency_key is not None:  # a key already used: the same body, or nothing runs
        _check_reuse(await earlier_decision(s, body.account_id, idempotency_key), body)
    outcome = await control.place_order(body.account_id, body.order(), idempotency_key)
    await s.rollback()  # end the read transaction so the worker's writes are visible
    rec = await s.get(DecisionRecord, outcome.decision_id) if outcome.decision_id else None
    if idempotency_key is not None:  # a concurrent request with the key ran another body
        _check_reuse(rec, body)
    orders = list(
        await s.scalars(
            select(OrderRecord)
            .where(OrderRecord.decision_id == outcome.decision_id)
            .order_by(OrderRecord.client_order_id)
        )
    )
    if not orders:
        raise _refused(outcome)
    return {
        **order_out(orders[0]),
        "decision_status": outcome.status.value,
        "error_code": outcome.error_code,
        "error": outcome.error,
    }


@router.get("/pending")
async def pending_orders(s: SessionDep, user: CurrentUser) -> list[dict[str, object]]:
    """The caller's orders resting at their exchanges (limit orders not yet filled), across
    their traders, newest first."""
    rows = await s.scalars(
        select(OrderRecord)
        .join(Account, Account.id == OrderRecord.account_id)
        .where(Account.owner_id == user.id, OrderRecord.status == OrderStatus.SUBMITTED.value)
        .order_by(OrderRecord.created_at.desc(), OrderRecord.client_order_id)
    )
    return [order_out(o) for o in rows]


@router.get("/account/{account_id}", response_model=Page)
async def account_orders(
    account_id: int, s: SessionDep, user: CurrentUser, page: PageNo = 1, per_page: PerPage = 50
) -> Page:
    """One trader's orders, newest first (paged like GET /api/account/{id}/orders)."""
    await get_account(s, account_id, user.id)
    rows, total = await orders_page(s, account_id, page, per_page)
    return Page(items=[order_out(o) for o in rows], page=page, per_page=per_page, total=total)


@router.post("/cancel/{order_id}")
async def cancel_order(
    order_id: Annotated[str, Path(max_length=80, pattern=ORDER_ID)],
    s: SessionDep,
    control: ControlDep,
    user: CurrentUser,
) -> dict[str, Any]:
    """Cancel a resting order (by its id, the client order id) through the trader's workflow;
    its reserved margin is released. A filled, cancelled or unsent order: 409."""
    order = await s.scalar(
        select(OrderRecord)
        .join(Account, Account.id == OrderRecord.account_id)
        .where(OrderRecord.client_order_id == order_id, Account.owner_id == user.id)
    )
    if order is None:  # someone else's order is answered exactly like a missing one
        raise ApiError(404, "ORDER_NOT_FOUND", f"Order {order_id} not found")
    await get_account(s, order.account_id, user.id, live=True)
    status = OrderStatus(order.status)
    if status in _NOT_CANCELLABLE:
        code, why = _NOT_CANCELLABLE[status]
        raise ApiError(409, code, f"Order {order_id} cannot be cancelled: {why}")
    account_id, symbol = order.account_id, order.symbol
    result = await control.cancel(
        account_id, CancelRequest(client_order_id=order_id, symbol=symbol)
    )
    await s.rollback()  # the worker's writes: visible from here
    after = await s.get(OrderRecord, order_id, populate_existing=True)
    if not result.cancelled:
        now = OrderStatus(after.status) if after is not None else status
        code, why = _NOT_CANCELLABLE.get(now, ("ORDER_NOT_OPEN", result.reason))
        raise ApiError(409, code, f"Order {order_id} cannot be cancelled: {why}")
    assert after is not None
    return {"status": "ok", "order_id": order_id, "order": order_out(after)}
