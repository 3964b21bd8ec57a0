"""Loading rows for the API, with the 404s and 409s every route needs."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError, not_found
from api.money import fmt
from api.schemas import AccountOut, DecisionOut, as_utc
from db.models import (
    Account,
    DecisionRecord,
    OrderRecord,
    Program,
    PromptTemplate,
    RoundTripRecord,
    SignalDefinitionRecord,
    SignalPoolRecord,
    TradeRecord,
)
from domain.trader import TraderStatus
from domain.vocabulary import AccountType, DecisionStatus, Exchange, ExchangeEnvironment

# Ids above this fit no INTEGER column; such an id simply does not exist.
MAX_ID = 2**31 - 1
Owned = TypeVar("Owned", Account, Program, PromptTemplate, SignalDefinitionRecord, SignalPoolRecord)


async def get_owned(
    s: AsyncSession, model: type[Owned], ident: int, owner: int, what: str
) -> Owned:
    """The row if `owner` owns it. Someone else's id is answered exactly like a missing one."""
    row = await s.get(model, ident) if 0 < ident <= MAX_ID else None
    if row is None or row.owner_id != owner:
        raise not_found(what, ident)
    return row


async def get_account(
    s: AsyncSession, account_id: int, owner: int, *, live: bool = False
) -> Account:
    acct = await get_owned(s, Account, account_id, owner, "account")
    if live and acct.is_deleted:
        raise ApiError(409, "ACCOUNT_DELETED", f"Account {account_id} is deleted")
    return acct


async def listed_accounts(
    s: AsyncSession, owner: int, include_hidden: bool = False
) -> list[Account]:
    """The owner's traders as GET /api/account/list shows them (and the live stream's
    bootstrap): deleted and hidden ones only with include_hidden."""
    stmt = select(Account).where(Account.owner_id == owner).order_by(Account.id)
    if not include_hidden:
        stmt = stmt.where(Account.is_deleted.is_(False), Account.show_on_dashboard.is_(True))
    return list(await s.scalars(stmt))


def account_out(a: Account) -> AccountOut:
    return AccountOut(
        id=a.id,
        account_id=a.id,
        name=a.name,
        description=a.description,
        account_type=AccountType(a.account_type),
        exchange=Exchange(a.exchange),
        initial_capital=a.initial_capital,
        max_leverage=a.max_leverage,
        max_position_notional_usd=a.max_position_notional_usd,
        max_concurrent_positions=a.max_concurrent_positions,
        symbols=list(a.symbols),
        show_on_dashboard=a.show_on_dashboard,
        trading_enabled=a.trading_enabled and not a.is_deleted,
        status=TraderStatus.DELETED if a.is_deleted else TraderStatus(a.status),
        status_reason=a.status_reason,
        daily_loss_limit_pct=a.daily_loss_limit_pct,
        max_drawdown_pct=a.max_drawdown_pct,
        breaker_closes_positions=a.breaker_closes_positions,
        llm_provider=a.llm_provider,
        llm_model=a.llm_model,
        llm_base_url=a.llm_base_url,
        llm_api_key_set=a.llm_api_key_sealed is not None,
        llm_api_key_hint=a.llm_api_key_hint,
        exchange_connected=(
            a.exchange == Exchange.PAPER or a.exchange_credentials_sealed is not None
        ),
        exchange_environment=(
            ExchangeEnvironment(a.exchange_environment) if a.exchange_environment else None
        ),
        exchange_wallet_address=a.exchange_wallet_address,
        exchange_key_hint=a.exchange_key_hint,
        created_at=a.created_at,
        updated_at=a.updated_at,
    )


def order_dict(o: OrderRecord) -> dict[str, object]:
    return {
        "client_order_id": o.client_order_id,
        "decision_id": o.decision_id,
        "leg": o.leg,
        "symbol": o.symbol,
        "side": o.side,
        "reduce_only": o.reduce_only,
        "size_usd": fmt(o.size_usd),
        "leverage": fmt(o.leverage),
        "take_profit_pct": fmt(o.take_profit_pct),
        "stop_loss_pct": fmt(o.stop_loss_pct),
        "order_type": o.order_type,
        "limit_price": fmt(o.limit_price),
        "time_in_force": o.time_in_force,
        "size_base": fmt(o.size_base),
        "name": o.name,
        "status": o.status,
        "exchange_order_id": o.exchange_order_id,
        "filled_size": fmt(o.filled_size),
        "avg_price": fmt(o.avg_price),
        "fee": fmt(o.fee),
        "reject_reason": o.reject_reason,
        "created_at": as_utc(o.created_at).isoformat(),
        "updated_at": as_utc(o.updated_at).isoformat(),
    }


def trade_dict(t: TradeRecord) -> dict[str, object]:
    return {
        "trade_id": t.trade_id,
        "client_order_id": t.client_order_id,
        "symbol": t.symbol,
        "side": t.side,
        "size": fmt(t.size),
        "price": fmt(t.price),
        "fee": fmt(t.fee),
        "realized_pnl": fmt(t.realized_pnl),
        "trigger": t.trigger,
        "created_at": as_utc(t.created_at).isoformat(),
    }


async def decisions_out(
    s: AsyncSession, rows: list[DecisionRecord], include_snapshot: bool
) -> list[DecisionOut]:
    ids = [r.id for r in rows]
    orders: dict[str, list[dict[str, object]]] = {i: [] for i in ids}
    # The snapshot column is deferred (large); load it in one query only when it is shown.
    snapshots: dict[str, Any] = {}
    if ids and include_snapshot:
        found = await s.execute(
            select(DecisionRecord.id, DecisionRecord.input_snapshot).where(
                DecisionRecord.id.in_(ids)
            )
        )
        snapshots = {i: snap for i, snap in found.all()}
    if ids:
        for o in await s.scalars(select(OrderRecord).where(OrderRecord.decision_id.in_(ids))):
            orders[o.decision_id].append(order_dict(o))
    return [
        DecisionOut(
            id=r.id,
            account_id=r.account_id,
            seq=r.seq,
            binding_id=r.binding_id,
            trigger_type=r.trigger_type,
            trigger_context=r.trigger_context or {},
            status=DecisionStatus(r.status),
            input_snapshot=snapshots.get(r.id),
            output=r.output,
            error_code=r.error_code,
            error=r.error,
            logs=r.logs,
            llm_exchange=r.llm_exchange,
            risk_verdict=r.risk_verdict,
            orders=orders[r.id],
            workflow_id=r.workflow_id,
            run_id=r.run_id,
            duration_ms=r.duration_ms,
            created_at=r.created_at,
            completed_at=r.completed_at,
        )
        for r in rows
    ]


def round_trip_dict(t: RoundTripRecord) -> dict[str, Any]:
    return {
        "id": t.id,
        "symbol": t.symbol,
        "side": t.side,
        "opened_at": as_utc(t.opened_at).isoformat(),
        "closed_at": as_utc(t.closed_at).isoformat(),
        "entry_price": fmt(t.entry_price),
        "exit_price": fmt(t.exit_price),
        "size": fmt(t.size),
        "notional": fmt(t.notional),
        "leverage": fmt(t.leverage),
        "fees": fmt(t.fees),
        "funding": fmt(t.funding),
        "gross_pnl": fmt(t.gross_pnl),
        "net_pnl": fmt(t.net_pnl),
        "exit_reason": t.exit_reason,
        "entry_decision_id": t.entry_decision_id,
        "exit_decision_id": t.exit_decision_id,
        "trigger_type": t.trigger_type,
        "program_id": t.program_id,
        "prompt_id": t.prompt_id,
        "fill_count": t.fill_count,
    }
