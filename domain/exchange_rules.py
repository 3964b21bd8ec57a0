"""Venue instrument rules, size/price rounding and client-order-id mapping (pure).

Everything here is Decimal in, Decimal out: floats appear only at the SDK boundary, inside
the exchange adapters. Sizes are always rounded DOWN (never trade more than asked);
prices are rounded to the nearest valid price unless a direction is asked for, and a limit
order's price toward the passive side (a buy down, a sell up: ``passive_limit_price``).

Hyperliquid (perps): size has at most ``szDecimals`` decimals; a price has at most 5
significant figures and at most ``6 - szDecimals`` decimals, and integer prices are always
allowed. Orders must be worth at least $10 (reduce-only closes are exempt here).

Binance USD-M futures: LOT_SIZE / MARKET_LOT_SIZE (``minQty``, ``maxQty``, ``stepSize``,
``(qty - minQty) % stepSize == 0``), PRICE_FILTER (``minPrice``, ``maxPrice``, ``tickSize``,
``(price - minPrice) % tickSize == 0``, 0 disables a bound) and MIN_NOTIONAL (``notional``;
reduce-only orders are exempt).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from decimal import ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.ids import ProtectiveKind
from domain.vocabulary import Exchange, Side

HL_MAX_SIG_FIGS = 5
HL_PERP_MAX_DECIMALS = 6
HL_MIN_NOTIONAL_USD = Decimal(10)


class SizeDeny(StrEnum):
    QUANTITY_BELOW_MINIMUM = "QUANTITY_BELOW_MINIMUM"
    NOTIONAL_BELOW_MINIMUM = "NOTIONAL_BELOW_MINIMUM"
    QUANTITY_ABOVE_MAXIMUM = "QUANTITY_ABOVE_MAXIMUM"
    PRICE_INVALID = "PRICE_INVALID"


class InstrumentRules(BaseModel):
    """What a venue accepts for one instrument. ``None`` means "no such rule"."""

    model_config = ConfigDict(frozen=True)

    venue: Exchange
    symbol: str  # our symbol, e.g. "BTC"
    venue_symbol: str  # the venue's, e.g. "BTC" on Hyperliquid, "BTCUSDT" on Binance
    qty_step: Decimal
    min_qty: Decimal
    max_qty: Decimal | None = None
    # Binance MARKET_LOT_SIZE (market orders); falls back to the LOT_SIZE fields when None.
    market_qty_step: Decimal | None = None
    market_min_qty: Decimal | None = None
    market_max_qty: Decimal | None = None
    tick_size: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_notional: Decimal | None = None
    # Hyperliquid price rule
    sz_decimals: int | None = None
    max_sig_figs: int | None = None
    max_price_decimals: int | None = None
    max_leverage: int | None = None
    asset_index: int | None = None  # Hyperliquid asset id (index in meta.universe)

    def lot(self, market: bool) -> tuple[Decimal, Decimal, Decimal | None]:
        """(step, min, max) for a market or a limit order."""
        if market and self.market_qty_step is not None and self.market_qty_step > 0:
            return (
                self.market_qty_step,
                self.market_min_qty if self.market_min_qty is not None else self.min_qty,
                self.market_max_qty if self.market_max_qty is not None else self.max_qty,
            )
        return self.qty_step, self.min_qty, self.max_qty


class SizeResult(BaseModel):
    """A venue quantity, or the reason there is none."""

    model_config = ConfigDict(frozen=True)

    quantity: Decimal | None = None
    deny: SizeDeny | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.deny is None and self.quantity is not None


# ---------------------------------------------------------------- building rules


def hyperliquid_rules(
    symbol: str,
    sz_decimals: int,
    *,
    max_leverage: int | None = None,
    asset_index: int | None = None,
    min_notional: Decimal | None = HL_MIN_NOTIONAL_USD,
) -> InstrumentRules:
    if sz_decimals < 0 or sz_decimals > HL_PERP_MAX_DECIMALS:
        raise ValueError(f"szDecimals {sz_decimals} out of range")
    step = Decimal(1).scaleb(-sz_decimals)
    return InstrumentRules(
        venue=Exchange.HYPERLIQUID,
        symbol=symbol,
        venue_symbol=symbol,
        qty_step=step,
        min_qty=step,
        min_notional=min_notional,
        sz_decimals=sz_decimals,
        max_sig_figs=HL_MAX_SIG_FIGS,
        max_price_decimals=HL_PERP_MAX_DECIMALS - sz_decimals,
        max_leverage=max_leverage,
        asset_index=asset_index,
    )


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _positive(value: Any) -> Decimal | None:
    d = _dec(value)
    return d if d is not None and d > 0 else None


def binance_rules(symbol: str, info: Mapping[str, Any]) -> InstrumentRules:
    """Rules from one entry of ``GET /fapi/v1/exchangeInfo`` ``symbols``."""
    filters = {f.get("filterType"): f for f in info.get("filters", [])}
    lot = filters.get("LOT_SIZE", {})
    mlot = filters.get("MARKET_LOT_SIZE", {})
    price = filters.get("PRICE_FILTER", {})
    notional = filters.get("MIN_NOTIONAL", {})
    step = _positive(lot.get("stepSize"))
    if step is None:
        raise ValueError(f"{info.get('symbol')}: LOT_SIZE stepSize missing")
    return InstrumentRules(
        venue=Exchange.BINANCE,
        symbol=symbol,
        venue_symbol=str(info["symbol"]),
        qty_step=step,
        min_qty=_dec(lot.get("minQty")) or Decimal(0),
        max_qty=_positive(lot.get("maxQty")),
        market_qty_step=_positive(mlot.get("stepSize")),
        market_min_qty=_dec(mlot.get("minQty")),
        market_max_qty=_positive(mlot.get("maxQty")),
        tick_size=_positive(price.get("tickSize")),
        min_price=_positive(price.get("minPrice")),
        max_price=_positive(price.get("maxPrice")),
        # futures use "notional"; spot's MIN_NOTIONAL uses "minNotional"
        min_notional=_positive(notional.get("notional", notional.get("minNotional"))),
    )


# ---------------------------------------------------------------- quantities


def _exponent(d: Decimal) -> int:
    exp = d.as_tuple().exponent
    return exp if isinstance(exp, int) else 0


def _floor_to_step(value: Decimal, base: Decimal, step: Decimal) -> Decimal:
    n = ((value - base) / step).to_integral_value(rounding=ROUND_FLOOR)
    return base + n * step


def round_quantity(qty: Decimal, rules: InstrumentRules, *, market: bool = True) -> Decimal:
    """Round DOWN onto the venue's lot grid (``min + k * step``); 0 when below the minimum."""
    step, lo, _ = rules.lot(market)
    if not qty.is_finite() or qty <= 0:
        return Decimal(0)
    base = lo if lo > 0 else Decimal(0)
    if qty < base:
        return Decimal(0)
    q = _floor_to_step(qty, base, step)
    return q.quantize(step) if _exponent(step) < 0 else q


def check_quantity(
    qty: Decimal,
    mark: Decimal,
    rules: InstrumentRules,
    *,
    market: bool = True,
    reduce_only: bool = False,
) -> SizeResult:
    """Round a base quantity down and check it against every size rule."""
    if not mark.is_finite() or mark <= 0:
        return SizeResult(deny=SizeDeny.PRICE_INVALID, detail=f"mark price {mark} is not usable")
    step, lo, hi = rules.lot(market)
    q = round_quantity(qty, rules, market=market)
    if q <= 0 or q < lo:
        return SizeResult(
            deny=SizeDeny.QUANTITY_BELOW_MINIMUM,
            detail=f"{qty} {rules.venue_symbol} rounds to {q}, below the minimum {max(lo, step)}",
        )
    if hi is not None and q > hi:
        return SizeResult(
            deny=SizeDeny.QUANTITY_ABOVE_MAXIMUM,
            detail=f"{q} {rules.venue_symbol} above the maximum {hi}",
        )
    if not reduce_only and rules.min_notional is not None and q * mark < rules.min_notional:
        return SizeResult(
            deny=SizeDeny.NOTIONAL_BELOW_MINIMUM,
            detail=f"{q} x {mark} = {q * mark} below minimum notional {rules.min_notional}",
        )
    return SizeResult(quantity=q)


def quantity_for_notional(
    size_usd: Decimal,
    mark: Decimal,
    rules: InstrumentRules,
    *,
    market: bool = True,
    reduce_only: bool = False,
) -> SizeResult:
    """Turn a USD size at ``mark`` into a venue quantity (rounded down) or a deny code."""
    if not mark.is_finite() or mark <= 0:
        return SizeResult(deny=SizeDeny.PRICE_INVALID, detail=f"mark price {mark} is not usable")
    if not size_usd.is_finite() or size_usd <= 0:
        return SizeResult(deny=SizeDeny.QUANTITY_BELOW_MINIMUM, detail=f"size {size_usd} USD")
    return check_quantity(size_usd / mark, mark, rules, market=market, reduce_only=reduce_only)


# ---------------------------------------------------------------- prices

_Direction = Literal["nearest", "down", "up"]
_MODES = {"nearest": ROUND_HALF_EVEN, "down": ROUND_DOWN, "up": ROUND_UP}


def _hl_round_price(px: Decimal, rules: InstrumentRules, direction: _Direction) -> Decimal:
    mode = _MODES[direction]
    sig = rules.max_sig_figs or HL_MAX_SIG_FIGS
    max_dec = rules.max_price_decimals if rules.max_price_decimals is not None else 6
    # exponent of the least significant allowed digit under the sig-fig rule
    exp = px.adjusted() - (sig - 1)
    if exp >= 0:  # >= 10^sig: integer prices are always allowed
        return px.quantize(Decimal(1), rounding=mode)
    exp = max(exp, -max_dec)
    # a carry (9999.95 -> 10000.0) only ever yields a power of ten, which is valid
    return px.quantize(Decimal(1).scaleb(exp), rounding=mode)


def round_price(px: Decimal, rules: InstrumentRules, direction: _Direction = "nearest") -> Decimal:
    """The closest valid venue price (or the next one down/up). 0 if none exists."""
    if not px.is_finite() or px <= 0:
        return Decimal(0)
    if rules.venue == Exchange.HYPERLIQUID:
        return _hl_round_price(px, rules, direction)
    tick = rules.tick_size
    if tick is None:
        return px
    base = rules.min_price or Decimal(0)
    mode = _MODES[direction]
    n = ((px - base) / tick).to_integral_value(rounding=mode)
    q = base + n * tick
    if _exponent(tick) < 0:
        q = q.quantize(tick)
    return q


def hl_price_is_valid(px: Decimal, rules: InstrumentRules) -> bool:
    if not px.is_finite() or px <= 0:
        return False
    if px == px.to_integral_value():
        return True  # integer prices are always allowed
    max_dec = rules.max_price_decimals if rules.max_price_decimals is not None else 6
    n = px.normalize()
    decimals = -_exponent(n)
    sig_figs = len(n.as_tuple().digits)
    return decimals <= max_dec and sig_figs <= (rules.max_sig_figs or HL_MAX_SIG_FIGS)


def price_is_valid(px: Decimal, rules: InstrumentRules) -> bool:
    if not px.is_finite() or px <= 0:
        return False
    if rules.venue == Exchange.HYPERLIQUID:
        return hl_price_is_valid(px, rules)
    if rules.min_price is not None and px < rules.min_price:
        return False
    if rules.max_price is not None and px > rules.max_price:
        return False
    if rules.tick_size is not None:
        base = rules.min_price or Decimal(0)
        return ((px - base) % rules.tick_size) == 0
    return True


def valid_price(
    px: Decimal, rules: InstrumentRules, direction: _Direction = "nearest"
) -> Decimal | None:
    """Rounded price if the venue can take it, else None (-> ``PRICE_INVALID``)."""
    q = round_price(px, rules, direction)
    return q if q > 0 and price_is_valid(q, rules) else None


class PriceResult(BaseModel):
    """A venue price for a limit order, or the reason there is none."""

    model_config = ConfigDict(frozen=True)

    price: Decimal | None = None
    deny: SizeDeny | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.deny is None and self.price is not None


def passive_limit_price(px: Decimal, side: Side, rules: InstrumentRules) -> PriceResult:
    """A limit price on the venue's grid, rounded toward the passive side: a buy down, a sell
    up, so rounding never makes an order pay more (or sell for less) than its owner asked."""
    if not px.is_finite() or px <= 0:
        return PriceResult(deny=SizeDeny.PRICE_INVALID, detail=f"limit price {px} is not a price")
    direction: _Direction = "down" if side == Side.BUY else "up"
    q = round_price(px, rules, direction)
    if q <= 0 or not price_is_valid(q, rules):
        return PriceResult(
            deny=SizeDeny.PRICE_INVALID,
            detail=f"limit price {px} has no valid {rules.venue_symbol} price {direction} of it",
        )
    return PriceResult(price=q)


def slippage_price(
    mark: Decimal, is_buy: bool, slippage: Decimal, rules: InstrumentRules
) -> Decimal | None:
    """Aggressive limit price for a market-like IOC order (buy above, sell below the mark)."""
    raw = mark * (1 + slippage) if is_buy else mark * (1 - slippage)
    return valid_price(raw, rules, "down" if is_buy else "up")


def protective_trigger_price(
    entry_price: Decimal,
    entry_side: Side,
    kind: ProtectiveKind,
    pct: Decimal,
    rules: InstrumentRules,
) -> Decimal | None:
    """TP/SL trigger price from the entry fill price; ``pct`` is in percent (5 = 5%).

    Same convention as the paper exchange: a long's TP is entry * (1 + pct/100), its SL
    entry * (1 - pct/100); mirrored for a short.
    """
    sign = 1 if entry_side == Side.BUY else -1
    factor = 1 + sign * pct / 100 if kind == "tp" else 1 - sign * pct / 100
    return valid_price(entry_price * factor, rules)


# ---------------------------------------------------------------- client order ids

BINANCE_CLIENT_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
# python-binance signs the *unencoded* parameters but form-encodes a POST body, so ':' and '/'
# (allowed by Binance's regex) would make the signature cover different bytes than were sent.
# Ids that need percent-encoding are therefore mapped to a digest as well.
_BINANCE_WIRE_SAFE_RE = re.compile(r"^[.A-Za-z0-9_-]{1,36}$")


def _digest32(client_order_id: str) -> str:
    return hashlib.sha256(client_order_id.encode("utf-8")).hexdigest()[:32]


def hyperliquid_cloid(client_order_id: str) -> str:
    """Return "0x" + the first 16 bytes of sha256(our id): deterministic, 34 chars."""
    return "0x" + _digest32(client_order_id)


def binance_client_order_id(client_order_id: str) -> str:
    """Our id when Binance (and python-binance's signing) takes it verbatim, else 32 hex."""
    if BINANCE_CLIENT_ID_RE.fullmatch(client_order_id) and _BINANCE_WIRE_SAFE_RE.fullmatch(
        client_order_id
    ):
        return client_order_id
    return _digest32(client_order_id)


def binance_client_algo_id(client_order_id: str) -> str:
    """clientAlgoId for a TP/SL (algo) order: same rule as newClientOrderId."""
    return binance_client_order_id(client_order_id)
