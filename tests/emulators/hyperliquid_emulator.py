"""A Hyperliquid perps emulator: real HTTP, real signatures, one order book per user.

``/info``: meta, spotMeta, allMids, clearinghouseState, openOrders, frontendOpenOrders,
orderStatus (oid or cloid), userFills, userFillsByTime, candleSnapshot, metaAndAssetCtxs,
extraAgents, userRole.
``/exchange``: order (Ioc/Gtc/Alo limits and tpsl trigger orders), cancel, cancelByCloid,
updateLeverage. Every action's signer is recovered with the SDK's own
``recover_agent_or_user_from_l1_action``; unknown signers (including tampered payloads,
which recover to a random address) are refused, nonces may not repeat per signer and
``expiresAfter`` is enforced.

A limit order that crosses the mid fills at the mid as a taker (up to the asset's ``depth``
when one is set: an IOC's rest is cancelled, a Gtc's rests); one that does not cross rests
(Gtc, Alo) or is refused (Ioc: "could not immediately match"); an Alo that would cross is
refused ("Post only order would have immediately matched"). Resting limit orders fill at their
own price, as makers (``maker_fee``), when ``set_mid`` crosses them. Trigger orders rest until
``set_mid`` crosses them, then fill at the new mid. Reduce-only orders that fire are clipped to
the position, cancelled without one.
Tests read ``received_actions`` / ``orders`` to assert exactly what reached the exchange.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from hyperliquid.utils.signing import recover_agent_or_user_from_l1_action

from tests.emulators.exchange_common import (
    AFTER_KINDS,
    BEFORE_KINDS,
    DropConnection,
    Fault,
    Faults,
    funding_rate_at,
)

D = Decimal
MIN_NOTIONAL = D(10)
INTERVAL_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}


def s(value: Decimal) -> str:
    """Venue-style decimal string: no exponent, no trailing zeros."""
    text = f"{value.normalize():f}"
    return text if text != "-0" else "0"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class HlAsset:
    name: str
    sz_decimals: int
    max_leverage: int
    mid: Decimal
    funding: Decimal = D("0.0000125")
    open_interest: Decimal = D("1000")
    depth: Decimal | None = None  # what a taker can fill at once (None: any size)


@dataclass
class HlPosition:
    szi: Decimal
    entry_px: Decimal
    leverage: int


@dataclass
class HlUser:
    address: str
    balance: Decimal
    positions: dict[str, HlPosition] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)
    fills: list[dict[str, Any]] = field(default_factory=list)
    funding: list[dict[str, Any]] = field(default_factory=list)  # userFunding rows


@dataclass
class HlAgent:
    address: str
    user: str
    name: str
    valid_until: int


@dataclass
class HlOrder:
    oid: int
    user: str
    asset: int
    coin: str
    is_buy: bool
    sz: Decimal
    limit_px: Decimal
    reduce_only: bool
    cloid: str | None
    tif: str | None
    trigger_px: Decimal | None
    tpsl: str | None
    timestamp: int
    status: str = "open"
    status_ts: int = 0
    filled_sz: Decimal = D(0)
    avg_px: Decimal | None = None

    @property
    def is_trigger(self) -> bool:
        return self.trigger_px is not None


def default_assets() -> list[HlAsset]:
    return [
        HlAsset("BTC", 5, 40, D("65000")),
        HlAsset("ETH", 4, 25, D("3500")),
        HlAsset("SOL", 2, 20, D("150")),
        HlAsset("DOGE", 0, 10, D("0.15")),
    ]


def _decimals(d: Decimal) -> int:
    exp = d.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def price_ok(px: Decimal, sz_decimals: int) -> bool:
    if px <= 0:
        return False
    if px == px.to_integral_value():
        return True
    n = px.normalize()
    return _decimals(n) <= 6 - sz_decimals and len(n.as_tuple().digits) <= 5


class HyperliquidEmulator:
    def __init__(
        self,
        assets: list[HlAsset] | None = None,
        *,
        is_mainnet: bool = False,
        taker_fee: Decimal = D("0.00045"),
        maker_fee: Decimal = D("0.00015"),
    ) -> None:
        self.assets = assets or default_assets()
        self.is_mainnet = is_mainnet
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self.faults = Faults()
        self.lock = threading.RLock()
        self.users: dict[str, HlUser] = {}
        self.agents: dict[str, HlAgent] = {}
        self.orders: dict[int, HlOrder] = {}
        self._by_cloid: dict[tuple[str, str], int] = {}
        self._nonces: dict[str, set[int]] = {}
        self.requests: list[str] = []  # "info:<type>" / "exchange:<type>", in arrival order
        self.received_actions: list[dict[str, Any]] = []  # accepted (authenticated) actions
        self.refused_actions: list[dict[str, Any]] = []  # refused before acting
        self._next_oid = 1000
        self._next_tid = 900_000
        # False: accept a repeated cloid (no documented guarantee the venue refuses one), so a
        # duplicate submission shows up as a second order instead of being hidden.
        self.unique_cloids = True
        self.app = self._build_app()

    # ------------------------------------------------------------ test hooks

    def add_user(self, address: str, balance: Decimal | str = "10000") -> None:
        with self.lock:
            self.users[address.lower()] = HlUser(address.lower(), D(balance))

    def approve_agent(
        self, user: str, agent: str, name: str = "hyperoru", valid_until: int | None = None
    ) -> None:
        with self.lock:
            self.agents[agent.lower()] = HlAgent(
                agent.lower(), user.lower(), name, valid_until or now_ms() + 86_400_000 * 180
            )

    def asset(self, coin: str) -> HlAsset:
        return next(a for a in self.assets if a.name == coin)

    def set_mid(self, coin: str, px: Decimal | str) -> None:
        """Move the mid; fire trigger orders it crosses (fill at the new mid) and fill resting
        limit orders it crosses (at their own price, as makers)."""
        with self.lock:
            asset = self.asset(coin)
            asset.mid = D(px)
            for order in sorted(self.orders.values(), key=lambda o: o.oid):
                if order.coin != coin or order.status != "open":
                    continue
                if order.is_trigger and self._crossed(order, asset.mid):
                    self._fire_trigger(order, asset.mid)
                elif not order.is_trigger and self._limit_crossed(order, asset.mid):
                    self._fill_resting(order)

    def settle_funding(self, coin: str, rate: Decimal | str, at_ms: int | None = None) -> None:
        """One hourly funding settlement of `coin` at `rate`: every position in it pays (long,
        positive rate) or receives, at the mid, booked in its user's userFunding."""
        with self.lock:
            asset, r = self.asset(coin), D(rate)
            for user in self.users.values():
                pos = user.positions.get(coin)
                if pos is None:
                    continue
                usdc = (-pos.szi * asset.mid * r).quantize(D("0.000001"))
                user.balance += usdc
                user.funding.append(
                    {
                        "time": at_ms if at_ms is not None else now_ms(),
                        "hash": "0x" + "0" * 64,  # Hyperliquid gives funding rows no hash
                        "delta": {
                            "type": "funding",
                            "coin": coin,
                            "usdc": s(usdc),
                            "szi": s(pos.szi),
                            "fundingRate": s(r),
                            "nSamples": None,
                        },
                    }
                )

    def liquidate(self, user: str, coin: str) -> None:
        """The venue liquidates `user`'s position in `coin` at the mid: a fill of an order of
        the venue's (no cloid) that carries the `liquidation` object."""
        with self.lock:
            u = self.users[user.lower()]
            pos = u.positions[coin]
            self._next_oid += 1
            order = HlOrder(
                oid=self._next_oid, user=u.address, asset=self.assets.index(self.asset(coin)),
                coin=coin, is_buy=pos.szi < 0, sz=abs(pos.szi), limit_px=self.asset(coin).mid,
                reduce_only=True, cloid=None, tif="Ioc", trigger_px=None, tpsl=None,
                timestamp=now_ms(), status="filled",
            )  # fmt: skip
            self.orders[order.oid] = order
            self._fill(u, order, abs(pos.szi), self.asset(coin).mid)
            u.fills[-1]["liquidation"] = {
                "liquidatedUser": u.address,
                "markPx": s(self.asset(coin).mid),
                "method": "market",
            }

    def order_actions(self) -> list[dict[str, Any]]:
        """Every order wire that an accepted ``order`` action carried."""
        return [
            wire
            for a in self.received_actions
            if a["action"].get("type") == "order"
            for wire in a["action"]["orders"]
        ]

    def order_by_cloid(self, user: str, cloid: str) -> HlOrder | None:
        oid = self._by_cloid.get((user.lower(), cloid))
        return self.orders.get(oid) if oid is not None else None

    def user_orders(self, user: str) -> list[HlOrder]:
        return [o for o in self.orders.values() if o.user == user.lower()]

    def position(self, user: str, coin: str) -> HlPosition | None:
        return self.users[user.lower()].positions.get(coin)

    # ------------------------------------------------------------ accounting

    def _lev(self, user: HlUser, coin: str) -> int:
        asset = self.asset(coin)
        return user.leverage.get(coin, min(20, asset.max_leverage))

    def _upnl(self, coin: str, pos: HlPosition) -> Decimal:
        return pos.szi * (self.asset(coin).mid - pos.entry_px)

    def _account_value(self, user: HlUser) -> Decimal:
        return user.balance + sum((self._upnl(c, p) for c, p in user.positions.items()), D(0))

    def _margin_used(self, user: HlUser) -> Decimal:
        return sum(
            (abs(p.szi) * self.asset(c).mid / p.leverage for c, p in user.positions.items()), D(0)
        )

    def _liquidation_px(self, user: HlUser, coin: str, pos: HlPosition) -> Decimal | None:
        mmr = D(1) / (2 * self.asset(coin).max_leverage)
        eq_other = self._account_value(user) - self._upnl(coin, pos)
        size = abs(pos.szi)
        if pos.szi > 0:
            px = (size * pos.entry_px - eq_other) / (size * (1 - mmr))
        else:
            px = (eq_other + size * pos.entry_px) / (size * (1 + mmr))
        return px.quantize(D("0.01")) if px > 0 else None

    def _fill(
        self, user: HlUser, order: HlOrder, sz: Decimal, px: Decimal, *, maker: bool = False
    ) -> None:
        coin = order.coin
        pos = user.positions.get(coin)
        szi = pos.szi if pos else D(0)
        signed = sz if order.is_buy else -sz
        closed_pnl = D(0)
        if pos is not None and szi != 0 and (szi > 0) != (signed > 0):
            closed_pnl = min(abs(szi), sz) * (px - pos.entry_px) * (1 if szi > 0 else -1)
        new_szi = szi + signed
        if new_szi == 0:
            user.positions.pop(coin, None)
            direction = "Close Long" if szi > 0 else "Close Short"
        elif pos is None or (szi > 0) != (new_szi > 0):
            user.positions[coin] = HlPosition(new_szi, px, self._lev(user, coin))
            direction = "Open Long" if new_szi > 0 else "Open Short"
        elif abs(new_szi) > abs(szi):
            pos.entry_px = (abs(szi) * pos.entry_px + sz * px) / abs(new_szi)
            pos.szi = new_szi
            direction = "Open Long" if new_szi > 0 else "Open Short"
        else:
            pos.szi = new_szi
            direction = "Close Long" if szi > 0 else "Close Short"
        fee = (sz * px * (self.maker_fee if maker else self.taker_fee)).quantize(D("0.000001"))
        user.balance += closed_pnl - fee
        self._next_tid += 1
        user.fills.append(
            {
                "coin": coin,
                "px": s(px),
                "sz": s(sz),
                "side": "B" if order.is_buy else "A",
                "time": now_ms(),
                "startPosition": s(szi),
                "dir": direction,
                "closedPnl": s(closed_pnl),
                "hash": f"0x{self._next_tid:064x}",
                "oid": order.oid,
                "crossed": not maker,
                "fee": s(fee),
                "tid": self._next_tid,
                "cloid": order.cloid,
                "feeToken": "USDC",
            }
        )
        total = order.filled_sz + sz
        order.avg_px = (
            px if order.avg_px is None else ((order.avg_px * order.filled_sz + px * sz) / total)
        )
        order.filled_sz = total

    def _crossed(self, order: HlOrder, mid: Decimal) -> bool:
        assert order.trigger_px is not None
        closes_long = not order.is_buy
        if order.tpsl == "tp":
            return mid >= order.trigger_px if closes_long else mid <= order.trigger_px
        return mid <= order.trigger_px if closes_long else mid >= order.trigger_px

    @staticmethod
    def _limit_crossed(order: HlOrder, mid: Decimal) -> bool:
        return mid <= order.limit_px if order.is_buy else mid >= order.limit_px

    def _fill_resting(self, order: HlOrder) -> None:
        """A resting limit order the mid crossed: its rest fills at its price (maker), up to the
        asset's ``depth`` (the rest of it keeps resting)."""
        user = self.users[order.user]
        order.status_ts = now_ms()
        sz = order.sz - order.filled_sz
        pos = user.positions.get(order.coin)
        if order.reduce_only:
            if pos is None or (pos.szi > 0) == order.is_buy:
                order.status = "reduceOnlyCanceled"
                return
            sz = min(sz, abs(pos.szi))
        depth = self.asset(order.coin).depth
        if depth is not None and depth < sz:
            self._fill(user, order, depth, order.limit_px, maker=True)
            return
        self._fill(user, order, sz, order.limit_px, maker=True)
        order.status = "filled"  # a reduce-only rest clipped to the position is done too

    def _fire_trigger(self, order: HlOrder, mid: Decimal) -> None:
        user = self.users[order.user]
        order.status_ts = now_ms()
        pos = user.positions.get(order.coin)
        if order.reduce_only and (pos is None or (pos.szi > 0) == order.is_buy):
            order.status = "reduceOnlyCanceled"
            return
        sz = min(order.sz, abs(pos.szi)) if (order.reduce_only and pos) else order.sz
        self._fill(user, order, sz, mid)
        order.status = "filled"

    # ------------------------------------------------------------ views

    def _frontend(self, o: HlOrder) -> dict[str, Any]:
        if o.is_trigger:
            above = (o.tpsl == "tp") != o.is_buy
            cond = f"Price {'above' if above else 'below'} {s(o.trigger_px or D(0))}"
            order_type = "Take Profit Market" if o.tpsl == "tp" else "Stop Market"
        else:
            cond, order_type = "N/A", "Limit"
        remaining = o.sz - o.filled_sz if o.status == "open" else D(0)
        return {
            "coin": o.coin,
            "side": "B" if o.is_buy else "A",
            "limitPx": s(o.limit_px),
            "sz": s(remaining),
            "oid": o.oid,
            "timestamp": o.timestamp,
            "triggerCondition": cond,
            "isTrigger": o.is_trigger,
            "triggerPx": s(o.trigger_px) if o.trigger_px is not None else "0.0",
            "children": [],
            "isPositionTpsl": False,
            "reduceOnly": o.reduce_only,
            "orderType": order_type,
            "origSz": s(o.sz),
            "tif": o.tif,
            "cloid": o.cloid,
        }

    def _clearinghouse(self, user: HlUser) -> dict[str, Any]:
        positions = []
        for coin, p in user.positions.items():
            mid = self.asset(coin).mid
            value = abs(p.szi) * mid
            upnl = self._upnl(coin, p)
            margin = value / p.leverage
            liq = self._liquidation_px(user, coin, p)
            positions.append(
                {
                    "type": "oneWay",
                    "position": {
                        "coin": coin,
                        "szi": s(p.szi),
                        "leverage": {"type": "cross", "value": p.leverage},
                        "entryPx": s(p.entry_px),
                        "positionValue": s(value),
                        "unrealizedPnl": s(upnl),
                        "returnOnEquity": s(
                            (upnl / (abs(p.szi) * p.entry_px / p.leverage)).quantize(D("0.000001"))
                        ),
                        "liquidationPx": s(liq) if liq is not None else None,
                        "marginUsed": s(margin),
                        "maxLeverage": self.asset(coin).max_leverage,
                        "cumFunding": {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"},
                    },
                }
            )
        value = self._account_value(user)
        used = self._margin_used(user)
        ntl = sum((abs(p.szi) * self.asset(c).mid for c, p in user.positions.items()), D(0))
        summary = {
            "accountValue": s(value),
            "totalNtlPos": s(ntl),
            "totalRawUsd": s(
                value - sum((p.szi * self.asset(c).mid for c, p in user.positions.items()), D(0))
            ),
            "totalMarginUsed": s(used),
        }
        return {
            "marginSummary": summary,
            "crossMarginSummary": summary,
            "crossMaintenanceMarginUsed": s(used / 2),
            "withdrawable": s(max(D(0), value - used)),
            "assetPositions": positions,
            "time": now_ms(),
        }

    def _candles(self, req: dict[str, Any]) -> list[dict[str, Any]]:
        coin, interval = req["coin"], req["interval"]
        step = INTERVAL_MS[interval]
        asset = self.asset(coin)
        end = min(int(req["endTime"]), now_ms())
        t = int(req["startTime"]) // step * step
        out: list[dict[str, Any]] = []
        q = D(1).scaleb(-(6 - asset.sz_decimals))
        while t <= end and len(out) < 5000:
            if t + step > int(req["startTime"]):
                k = t // step
                o = (asset.mid * (1 + D((k % 7) - 3) / 1000)).quantize(q)
                c = (asset.mid * (1 + D(((k + 1) % 7) - 3) / 1000)).quantize(q)
                out.append(
                    {
                        "t": t,
                        "T": t + step - 1,
                        "s": coin,
                        "i": interval,
                        "o": s(o),
                        "c": s(c),
                        "h": s((max(o, c) * D("1.001")).quantize(q)),
                        "l": s((min(o, c) * D("0.999")).quantize(q)),
                        "v": s(D(10 + k % 5)),
                        "n": 10,
                    }
                )
            t += step
        return out

    def _funding_history(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Hourly settled rates from startTime (deterministic: a function of the hour), at
        most 500 a reply, as the venue pages them."""
        self.asset(str(body["coin"]))
        start = int(body["startTime"])
        end = min(int(body.get("endTime") or now_ms()), now_ms())
        t = -(-start // 3_600_000) * 3_600_000
        out: list[dict[str, Any]] = []
        while t <= end and len(out) < 500:
            out.append(
                {
                    "coin": body["coin"],
                    "fundingRate": s(funding_rate_at(t)),
                    "premium": "0.0",
                    "time": t,
                }
            )
            t += 3_600_000
        return out

    def _meta(self) -> dict[str, Any]:
        return {
            "universe": [
                {
                    "name": a.name,
                    "szDecimals": a.sz_decimals,
                    "maxLeverage": a.max_leverage,
                    "onlyIsolated": False,
                }
                for a in self.assets
            ]
        }

    def _info(self, body: dict[str, Any]) -> Any:
        typ = body.get("type")
        user = self.users.get(str(body.get("user", "")).lower())
        if typ == "meta":
            return self._meta()
        if typ == "spotMeta":
            return {"universe": [], "tokens": []}
        if typ == "allMids":
            return {a.name: s(a.mid) for a in self.assets}
        if typ == "metaAndAssetCtxs":
            ctxs = [
                {
                    "funding": s(a.funding),
                    "openInterest": s(a.open_interest),
                    "markPx": s(a.mid),
                    "midPx": s(a.mid),
                    "oraclePx": s(a.mid),
                    "prevDayPx": s(a.mid),
                    "dayNtlVlm": "1000000.0",
                    "premium": "0.0",
                    "impactPxs": [s(a.mid), s(a.mid)],
                }
                for a in self.assets
            ]
            return [self._meta(), ctxs]
        if typ == "candleSnapshot":
            return self._candles(body["req"])
        if typ == "fundingHistory":
            return self._funding_history(body)
        if typ == "userRole":
            address = str(body.get("user", "")).lower()
            agent = self.agents.get(address)
            if agent is not None and agent.valid_until > now_ms():
                return {"role": "agent", "data": {"user": agent.user}}
            return {"role": "user"} if address in self.users else {"role": "missing"}
        if typ == "extraAgents":
            address = str(body.get("user", "")).lower()
            return [
                {"name": a.name, "address": a.address, "validUntil": a.valid_until}
                for a in self.agents.values()
                if a.user == address
            ]
        if typ == "clearinghouseState":
            if user is None:
                return self._clearinghouse(HlUser("", D(0)))
            return self._clearinghouse(user)
        if typ in ("openOrders", "frontendOpenOrders"):
            if user is None:
                return []
            mine = [o for o in self.user_orders(user.address) if o.status == "open"]
            if typ == "frontendOpenOrders":
                return [self._frontend(o) for o in mine]
            return [
                {
                    "coin": o.coin,
                    "limitPx": s(o.limit_px),
                    "oid": o.oid,
                    "side": "B" if o.is_buy else "A",
                    "sz": s(o.sz - o.filled_sz),
                    "timestamp": o.timestamp,
                    "cloid": o.cloid,
                }
                for o in mine
            ]
        if typ == "orderStatus":
            oid_or_cloid = body.get("oid")
            order: HlOrder | None = None
            if user is not None and isinstance(oid_or_cloid, str):
                order = self.order_by_cloid(user.address, oid_or_cloid)
            elif user is not None and isinstance(oid_or_cloid, int):
                candidate = self.orders.get(oid_or_cloid)
                order = candidate if candidate and candidate.user == user.address else None
            if order is None:
                return {"status": "unknownOid"}
            return {
                "status": "order",
                "order": {
                    "order": self._frontend(order),
                    "status": order.status,
                    "statusTimestamp": order.status_ts,
                },
            }
        if typ == "userFunding":
            start = int(body.get("startTime") or 0)
            return [f for f in user.funding if f["time"] >= start] if user else []
        if typ == "userFills":
            return list(reversed(user.fills))[:2000] if user else []
        if typ == "userFillsByTime":
            if user is None:
                return []
            start = int(body.get("startTime") or 0)
            end = body.get("endTime")
            return [
                f
                for f in user.fills
                if f["time"] >= start and (end is None or f["time"] <= int(end))
            ][:2000]
        return None

    # ------------------------------------------------------------ actions

    def _signer_user(self, signer: str) -> HlUser | None:
        agent = self.agents.get(signer)
        if agent is not None and agent.valid_until > now_ms():
            return self.users.get(agent.user)
        return self.users.get(signer)

    def _place_one(self, user: HlUser, w: dict[str, Any]) -> dict[str, Any]:
        a = int(w["a"])
        if not 0 <= a < len(self.assets):
            return {"error": f"Invalid asset {a}"}
        asset = self.assets[a]
        coin = asset.name
        is_buy, px, sz = bool(w["b"]), D(str(w["p"])), D(str(w["s"]))
        reduce_only, t, cloid = bool(w["r"]), w["t"], w.get("c")
        if sz <= 0 or _decimals(sz) > asset.sz_decimals:
            return {"error": "Order has invalid size."}
        if not price_ok(px, asset.sz_decimals):
            return {"error": f"Order has invalid price. asset={a}"}
        if self.unique_cloids and cloid is not None and (user.address, cloid) in self._by_cloid:
            return {"error": "Order has duplicate cloid."}
        self._next_oid += 1
        trigger = t.get("trigger")
        order = HlOrder(
            oid=self._next_oid,
            user=user.address,
            asset=a,
            coin=coin,
            is_buy=is_buy,
            sz=sz,
            limit_px=px,
            reduce_only=reduce_only,
            cloid=cloid,
            tif=None if trigger else t.get("limit", {}).get("tif"),
            trigger_px=D(str(trigger["triggerPx"])) if trigger else None,
            tpsl=trigger.get("tpsl") if trigger else None,
            timestamp=now_ms(),
            status_ts=now_ms(),
        )
        self.orders[order.oid] = order
        if cloid is not None:
            self._by_cloid.setdefault((user.address, cloid), order.oid)
        if trigger:
            if order.trigger_px is None or not price_ok(order.trigger_px, asset.sz_decimals):
                order.status = "badTriggerPxRejected"
                return {"error": f"Invalid TP/SL price. asset={a}"}
            return {"resting": {"oid": order.oid}}
        mid = asset.mid
        pos = user.positions.get(coin)
        if reduce_only:
            if pos is None or (pos.szi > 0) == is_buy:
                order.status = "reduceOnlyRejected"
                return {"error": f"Reduce only order would increase position. asset={a}"}
            sz = min(sz, abs(pos.szi))
        crosses = px >= mid if is_buy else px <= mid
        if crosses and order.tif == "Alo":
            order.status = "badAloPxRejected"
            return {
                "error": "Post only order would have immediately matched, "
                f"bbo was {s(mid)}@{s(mid)}. asset={a}"
            }
        if not crosses:
            if order.tif == "Ioc":
                order.status = "iocCancelRejected"
                return {
                    "error": "Order could not immediately match against any resting orders. "
                    f"asset={a}"
                }
            if not reduce_only and sz * px < MIN_NOTIONAL:
                order.status = "minTradeNtlRejected"
                return {"error": f"Order must have minimum value of $10. asset={a}"}
            return {"resting": {"oid": order.oid}}
        if not reduce_only:
            if sz * mid < MIN_NOTIONAL:
                order.status = "minTradeNtlRejected"
                return {"error": f"Order must have minimum value of $10. asset={a}"}
            same_dir = pos is None or (pos.szi > 0) == is_buy
            opening = sz if same_dir else max(D(0), sz - abs(pos.szi if pos else D(0)))
            required = opening * mid / self._lev(user, coin)
            if required > self._account_value(user) - self._margin_used(user):
                order.status = "perpMarginRejected"
                return {"error": f"Insufficient margin to place order. asset={a}"}
        taken = sz if asset.depth is None else min(sz, asset.depth)
        self._fill(user, order, taken, mid)
        if taken == sz:
            order.status = "filled"
        elif order.tif == "Ioc":
            order.status = "canceled"  # the rest of an IOC is cancelled at once
        else:
            return {"resting": {"oid": order.oid}}  # a Gtc's rest rests
        return {"filled": {"totalSz": s(taken), "avgPx": s(mid), "oid": order.oid}}

    def _cancel(self, user: HlUser, order: HlOrder | None, asset: int) -> Any:
        if order is None or order.user != user.address or order.status != "open":
            return {"error": f"Order was never placed, already canceled, or filled. asset={asset}"}
        order.status = "canceled"
        order.status_ts = now_ms()
        return "success"

    def _act(self, user: HlUser, action: dict[str, Any]) -> dict[str, Any]:
        typ = action.get("type")
        if typ == "order":
            statuses = [self._place_one(user, w) for w in action["orders"]]
            return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}
        if typ == "cancel":
            statuses = [
                self._cancel(user, self.orders.get(int(c["o"])), int(c["a"]))
                for c in action["cancels"]
            ]
            return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}
        if typ == "cancelByCloid":
            statuses = [
                self._cancel(user, self.order_by_cloid(user.address, c["cloid"]), int(c["asset"]))
                for c in action["cancels"]
            ]
            return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}
        if typ == "updateLeverage":
            a = int(action["asset"])
            lev = int(action["leverage"])
            if not 0 <= a < len(self.assets) or not 1 <= lev <= self.assets[a].max_leverage:
                return {"status": "err", "response": "Invalid leverage value"}
            coin = self.assets[a].name
            user.leverage[coin] = lev
            if coin in user.positions:
                user.positions[coin].leverage = lev
            return {"status": "ok", "response": {"type": "default"}}
        return {"status": "err", "response": f"Unsupported action {typ}"}

    # ------------------------------------------------------------ HTTP

    async def _finish(self, fault: Fault | None, payload: Any) -> Response:
        if fault is None:
            return JSONResponse(payload)
        if fault.kind == "error_5xx_after":
            return Response("internal error", status_code=fault.status)
        if fault.kind == "drop_after":
            return DropConnection()
        await asyncio.sleep(fault.delay_s)  # delay_after
        return JSONResponse(payload)

    def _before(self, op: str) -> Response | None:
        fault = self.faults.take(op, BEFORE_KINDS)
        if fault is None:
            return None
        if fault.kind == "rate_limit":
            # plain text, like a proxy's 429: the SDK raises ClientError with the headers
            return Response(
                "Too many requests",
                status_code=429,
                headers={"Retry-After": str(fault.retry_after_s)},
            )
        return Response("internal error", status_code=fault.status)

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/info")
        async def info(request: Request) -> Response:
            body = await request.json()
            typ = str(body.get("type"))
            self.requests.append(f"info:{typ}")
            early = self._before(typ)
            if early is not None:
                return early
            if typ == "orderStatus" and self.faults.take(typ, {"not_found"}):
                return JSONResponse({"status": "unknownOid"})
            with self.lock:
                result = self._info(body)
            if result is None:
                return Response(
                    "Failed to deserialize the JSON body into the target type", status_code=422
                )
            if (
                typ == "orderStatus"
                and result.get("status") == "order"
                and (lie := self.faults.take(typ, {"report_status"}))
            ):
                result = {**result, "order": {**result["order"], "status": lie.report}}
            if typ in ("userFills", "userFillsByTime") and self.faults.take(
                typ, {"duplicate_fills"}
            ):
                result = [f for f in result for _ in (0, 1)]
            return await self._finish(self.faults.take(typ, AFTER_KINDS), result)

        @app.post("/exchange")
        async def exchange(request: Request) -> Response:
            body = await request.json()
            action = body.get("action") or {}
            typ = str(action.get("type"))
            self.requests.append(f"exchange:{typ}")
            early = self._before(typ)
            if early is not None:
                return early
            nonce = body.get("nonce")
            expires = body.get("expiresAfter")
            try:
                signer = recover_agent_or_user_from_l1_action(
                    action,
                    body["signature"],
                    body.get("vaultAddress"),
                    nonce,
                    expires,
                    self.is_mainnet,
                ).lower()
            except Exception:  # noqa: BLE001 - any malformed signature is a refusal
                self.refused_actions.append({"reason": "bad signature", "action": action})
                return JSONResponse({"status": "err", "response": "Invalid signature"})
            with self.lock:
                user = self._signer_user(signer)
                if user is None:
                    self.refused_actions.append({"reason": "unknown signer", "action": action})
                    return JSONResponse(
                        {
                            "status": "err",
                            "response": f"User or API Wallet {signer} does not exist.",
                        }
                    )
                used = self._nonces.setdefault(signer, set())
                if not isinstance(nonce, int) or nonce in used:
                    self.refused_actions.append({"reason": "nonce", "action": action})
                    return JSONResponse({"status": "err", "response": "Invalid nonce"})
                if expires is not None and now_ms() > int(expires):
                    self.refused_actions.append({"reason": "expired", "action": action})
                    return JSONResponse({"status": "err", "response": "Action expired"})
                used.add(nonce)
                self.received_actions.append(
                    {"signer": signer, "user": user.address, "action": action, "nonce": nonce}
                )
                result = self._act(user, action)
            return await self._finish(self.faults.take(typ, AFTER_KINDS), result)

        return app
