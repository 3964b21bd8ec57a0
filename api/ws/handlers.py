"""What the server does with each client message. Values come from the same functions the REST
routes answer with (api/queries.py, api/trader_state.py), so a socket and GET agree; a trader
that is not the caller's is answered exactly like a missing one (ACCOUNT_NOT_FOUND)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.exchanges.client import ExchangeError
from api.equity import AssetCurveOut, AssetCurvesOut, asset_curves
from api.errors import ApiError
from api.queries import account_out, decisions_out, get_account, listed_accounts
from api.trader_state import open_orders_of, overview_of, positions_of
from api.ws.broadcaster import Hub
from api.ws.connection import Connection
from api.ws.protocol import (
    ALL,
    ClientType,
    ErrorCode,
    GetAssetCurve,
    GetSnapshot,
    ProtocolError,
    ServerType,
    Subscribe,
    SwitchAccount,
    Unsubscribe,
    encode,
    error,
)
from db.models import Account, DecisionRecord
from domain.equity import Timeframe

log = logging.getLogger("hyperoru.api.ws")

RECENT_DECISIONS = 50
# Left out of bootstrap's decisions: the prompt and the raw answer (GET .../decisions/{id}) and
# the input snapshot (~70 KB each).
HEAVY_DECISION_FIELDS = {"llm_exchange", "input_snapshot"}
RequestId = str | int | None
Handler = Callable[[Connection, Hub, RequestId, Any], Awaitable[None]]


def _fault(err: Exception) -> tuple[str, str]:
    """The REST API's code and message for the same failure."""
    if isinstance(err, ApiError):
        return err.code, err.message
    if isinstance(err, ExchangeError):
        return f"EXCHANGE_{err.code}", str(err)
    raise err


async def _watched(s: AsyncSession, conn: Connection) -> list[Account]:
    if conn.watching is not None:
        return [await get_account(s, conn.watching, conn.user_id)]
    return await listed_accounts(s, conn.user_id)


async def _snapshot(conn: Connection, s: AsyncSession, acct: Account, hub: Hub) -> dict[str, Any]:
    seen = hub.cursor  # the state read next reflects at least the events up to this id
    overview = await overview_of(conn.ws, s, acct)
    positions = await positions_of(conn.ws, acct)
    return {
        "account_id": acct.id,
        "overview": overview.model_dump(mode="json"),
        "positions": positions.model_dump(mode="json"),
        "last_event_id": seen,
    }


async def send_snapshots(conn: Connection, hub: Hub, reason: str, rid: RequestId = None) -> None:
    """A fresh `snapshot` of every watched trader, instead of events the client cannot get."""
    async with hub.sessions() as s:
        for acct in await _watched(s, conn):
            try:
                data = await _snapshot(conn, s, acct, hub)
            except (ApiError, ExchangeError) as err:
                await conn.send(error(*_fault(err), rid))
                continue
            await conn.send(encode(ServerType.SNAPSHOT, {**data, "reason": reason}, rid))


async def bootstrap(conn: Connection, hub: Hub, rid: RequestId, _: Any) -> None:
    seen = hub.cursor
    traders, positions, orders, problems = [], [], [], []
    async with hub.sessions() as s:
        accounts = await _watched(s, conn)
        for acct in accounts:
            traders.append(account_out(acct).model_dump(mode="json"))
            try:
                positions.append((await positions_of(conn.ws, acct)).model_dump(mode="json"))
                orders.append(jsonable_encoder(await open_orders_of(conn.ws, acct)))
            except (ApiError, ExchangeError) as err:
                code, message = _fault(err)
                problems.append({"account_id": acct.id, "code": code, "message": message})
        ids = [a.id for a in accounts]
        rows = list(
            await s.scalars(
                select(DecisionRecord)
                .where(DecisionRecord.account_id.in_(ids))
                .order_by(DecisionRecord.created_at.desc(), DecisionRecord.seq.desc())
                .limit(RECENT_DECISIONS)
            )
        )
        decisions = [
            d.model_dump(mode="json", exclude=HEAVY_DECISION_FIELDS)
            for d in await decisions_out(s, rows, include_snapshot=False)
        ]
    data = {
        "traders": traders,
        "positions": positions,
        "active_orders": orders,
        "recent_decisions": decisions,
        "errors": problems,
        "last_event_id": seen,
    }
    await conn.send(encode(ServerType.BOOTSTRAP, data, rid))


async def subscribe(conn: Connection, hub: Hub, rid: RequestId, data: Subscribe) -> None:
    conn.channels.update(data.channels)
    if data.last_event_id is None:
        return
    first, newest = await hub.bounds()
    last = data.last_event_id
    if last > newest:
        await send_snapshots(conn, hub, "unknown_event_id", rid)
    elif first and last + 1 < first:
        await send_snapshots(conn, hub, "too_old", rid)
    else:
        conn.cursor, conn.behind = last, True
        await hub.catch_up(conn)


async def unsubscribe(conn: Connection, hub: Hub, rid: RequestId, data: Unsubscribe) -> None:
    conn.channels.difference_update(data.channels)


async def switch_account(conn: Connection, hub: Hub, rid: RequestId, data: SwitchAccount) -> None:
    if data.account_id is None or data.account_id == ALL:
        conn.watching = None
        return
    assert isinstance(data.account_id, int)
    async with hub.sessions() as s:
        await get_account(s, data.account_id, conn.user_id)
    conn.watching = data.account_id


async def get_snapshot(conn: Connection, hub: Hub, rid: RequestId, data: GetSnapshot) -> None:
    async with hub.sessions() as s:
        acct = await get_account(s, data.account_id, conn.user_id)
        snapshot = await _snapshot(conn, s, acct, hub)
    await conn.send(encode(ServerType.SNAPSHOT, snapshot, rid))


async def get_asset_curve(conn: Connection, hub: Hub, rid: RequestId, data: GetAssetCurve) -> None:
    """The same curves GET /api/account/{id}/asset-curve and /api/account/asset-curve answer."""
    tf = Timeframe(data.timeframe)
    async with hub.sessions() as s:
        if isinstance(data.account_id, int):
            accounts = [await get_account(s, data.account_id, conn.user_id)]
        else:
            accounts = await listed_accounts(s, conn.user_id)
        span, curves = await asset_curves(
            s, conn.ws.app.state.exchange, accounts, tf, data.start, data.end
        )
    out: AssetCurveOut | AssetCurvesOut
    if isinstance(data.account_id, int):
        out = AssetCurveOut(**curves[0].model_dump(), timeframe=tf, start=span.start, end=span.end)
    else:
        out = AssetCurvesOut(timeframe=tf, start=span.start, end=span.end, traders=curves)
    await conn.send(encode(ServerType.ASSET_CURVE, out.model_dump(mode="json"), rid))


async def ping(conn: Connection, hub: Hub, rid: RequestId, _: Any) -> None:
    await conn.send(encode(ServerType.PONG, {"time": datetime.now(UTC).isoformat()}, rid))


HANDLERS: dict[ClientType, Handler] = {
    ClientType.BOOTSTRAP: bootstrap,
    ClientType.SUBSCRIBE: subscribe,
    ClientType.UNSUBSCRIBE: unsubscribe,
    ClientType.SWITCH_ACCOUNT: switch_account,
    ClientType.GET_SNAPSHOT: get_snapshot,
    ClientType.GET_ASSET_CURVE: get_asset_curve,
    ClientType.PING: ping,
}


async def handle(conn: Connection, hub: Hub, kind: ClientType, rid: RequestId, data: Any) -> None:
    """Answer one valid message; a fault is an `error` message and the socket stays open."""
    try:
        await HANDLERS[kind](conn, hub, rid, data)
    except ProtocolError as err:
        await conn.send(error(err.code, err.message, rid))
    except (ApiError, ExchangeError) as err:
        await conn.send(error(*_fault(err), rid))
    except Exception:
        log.exception("live stream: %s failed", kind.value)
        await conn.send(error(ErrorCode.INTERNAL_ERROR, "Internal server error", rid))
