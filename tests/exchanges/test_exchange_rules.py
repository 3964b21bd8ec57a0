"""Pure instrument rules: rounding and deny codes at and across every boundary."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from hyperliquid.utils.types import Cloid

from domain.exchange_rules import (
    BINANCE_CLIENT_ID_RE,
    InstrumentRules,
    SizeDeny,
    binance_client_algo_id,
    binance_client_order_id,
    binance_rules,
    check_quantity,
    hl_price_is_valid,
    hyperliquid_cloid,
    hyperliquid_rules,
    passive_limit_price,
    price_is_valid,
    protective_trigger_price,
    quantity_for_notional,
    round_price,
    round_quantity,
    slippage_price,
    valid_price,
)
from domain.ids import client_order_id, protective_client_order_id, protective_kind
from domain.vocabulary import Side

BTCUSDT_INFO = {
    "symbol": "BTCUSDT",
    "status": "TRADING",
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "556.80", "maxPrice": "4529764",
         "tickSize": "0.10"},
        {"filterType": "LOT_SIZE", "stepSize": "0.001", "maxQty": "1000", "minQty": "0.001"},
        {"filterType": "MARKET_LOT_SIZE", "stepSize": "0.001", "maxQty": "120", "minQty": "0.001"},
        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
        {"filterType": "MIN_NOTIONAL", "notional": "100"},
    ],
}  # fmt: skip


@pytest.fixture
def hl_btc() -> InstrumentRules:
    return hyperliquid_rules("BTC", 5, max_leverage=40, asset_index=0)


@pytest.fixture
def bn_btc() -> InstrumentRules:
    return binance_rules("BTC", BTCUSDT_INFO)


# ---------------------------------------------------------------- Hyperliquid sizes


def test_hl_rules_from_sz_decimals(hl_btc: InstrumentRules) -> None:
    assert hl_btc.qty_step == D("0.00001") and hl_btc.min_qty == D("0.00001")
    assert hl_btc.max_price_decimals == 1 and hl_btc.max_sig_figs == 5
    assert hl_btc.min_notional == D(10)
    assert hyperliquid_rules("DOGE", 0).max_price_decimals == 6
    with pytest.raises(ValueError):
        hyperliquid_rules("X", 7)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.015384615", "0.01538"),  # always down
        ("0.015389999", "0.01538"),
        ("0.00001", "0.00001"),  # exactly one step
        ("0.000009999", "0"),  # below one step
        ("1.5", "1.50000"),
        ("-1", "0"),
    ],
)
def test_hl_size_rounds_down_to_sz_decimals(
    hl_btc: InstrumentRules, raw: str, expected: str
) -> None:
    assert round_quantity(D(raw), hl_btc) == D(expected)


def test_hl_min_notional_boundary(hl_btc: InstrumentRules) -> None:
    mark = D(50000)
    # 0.0002 BTC * 50000 = exactly 10 USD: allowed
    assert quantity_for_notional(D(10), mark, hl_btc).quantity == D("0.0002")
    # 9.99 USD -> 0.00019 BTC = 9.5 USD: below the $10 minimum
    r = quantity_for_notional(D("9.99"), mark, hl_btc)
    assert r.deny is SizeDeny.NOTIONAL_BELOW_MINIMUM and r.quantity is None
    # reduce-only closes are exempt from the notional minimum
    assert check_quantity(D("0.00019"), mark, hl_btc, reduce_only=True).quantity == D("0.00019")


def test_hl_quantity_below_one_step(hl_btc: InstrumentRules) -> None:
    # 0.4 USD at 65000 is 0.0000061 BTC: rounds to 0 -> QUANTITY_BELOW_MINIMUM (checked first)
    r = quantity_for_notional(D("0.4"), D(65000), hl_btc)
    assert r.deny is SizeDeny.QUANTITY_BELOW_MINIMUM
    # exactly one step, worth >= $10 at this mark
    assert quantity_for_notional(D("10.5"), D(1_000_000), hl_btc).quantity == D("0.00001")
    assert quantity_for_notional(D(0), D(65000), hl_btc).deny is SizeDeny.QUANTITY_BELOW_MINIMUM


@pytest.mark.parametrize("mark", [D(0), D(-1), D("NaN"), D("Infinity")])
def test_unusable_mark_is_price_invalid(hl_btc: InstrumentRules, mark: D) -> None:
    assert quantity_for_notional(D(100), mark, hl_btc).deny is SizeDeny.PRICE_INVALID


# ---------------------------------------------------------------- Hyperliquid prices


@pytest.mark.parametrize(
    ("sz_decimals", "price", "valid"),
    [
        (5, "65000", True),
        (5, "123456", True),  # integers are always allowed, even with 6 significant figures
        (5, "1234.5", True),  # 5 sig figs, 1 decimal = 6 - 5
        (5, "123.45", False),  # 2 decimals > 1
        (5, "12345.6", False),  # 6 significant figures
        (2, "0.1234", True),  # 4 decimals = 6 - 2
        (2, "0.12345", False),  # 5 decimals > 4
        (0, "0.123456", False),  # 6 sig figs
        (0, "0.012345", True),  # 5 sig figs, 6 decimals
        (0, "0.0012345", False),  # 7 decimals > 6
        (0, "0", False),
        (0, "-1", False),
    ],
)
def test_hl_price_rule(sz_decimals: int, price: str, valid: bool) -> None:
    rules = hyperliquid_rules("X", sz_decimals)
    assert hl_price_is_valid(D(price), rules) is valid
    assert price_is_valid(D(price), rules) is valid


@pytest.mark.parametrize(
    ("sz_decimals", "price", "nearest"),
    [
        (5, "65123.456", "65123"),
        (5, "123456.7", "123457"),
        (5, "9999.95", "10000"),  # carry into a new digit: still valid
        (5, "123.456", "123.5"),
        (2, "1.234567", "1.2346"),
        (0, "0.0000123456", "0.000012"),
        (0, "0.123456789", "0.12346"),
    ],
)
def test_hl_round_price(sz_decimals: int, price: str, nearest: str) -> None:
    rules = hyperliquid_rules("X", sz_decimals)
    rounded = round_price(D(price), rules)
    assert rounded == D(nearest)
    assert hl_price_is_valid(rounded, rules)


def test_hl_round_price_directions() -> None:
    rules = hyperliquid_rules("ETH", 4)  # max 2 decimals
    assert round_price(D("3501.237"), rules, "down") == D("3501.2")  # 5 sig figs wins
    assert round_price(D("3501.237"), rules, "up") == D("3501.3")
    assert round_price(D("0.0000001"), hyperliquid_rules("X", 0)) == D(0)
    assert valid_price(D("0.0000001"), hyperliquid_rules("X", 0)) is None


def test_hl_slippage_price(hl_btc: InstrumentRules) -> None:
    buy = slippage_price(D(65000), True, D("0.05"), hl_btc)
    sell = slippage_price(D(65000), False, D("0.05"), hl_btc)
    assert buy == D(68250) and sell == D(61750)
    assert buy is not None and hl_price_is_valid(buy, hl_btc)


# ---------------------------------------------------------------- Binance


def test_binance_rules_parse_filters(bn_btc: InstrumentRules) -> None:
    assert bn_btc.venue_symbol == "BTCUSDT" and bn_btc.symbol == "BTC"
    assert (bn_btc.qty_step, bn_btc.min_qty, bn_btc.max_qty) == (D("0.001"), D("0.001"), D(1000))
    assert bn_btc.lot(market=True) == (D("0.001"), D("0.001"), D(120))
    assert bn_btc.lot(market=False) == (D("0.001"), D("0.001"), D(1000))
    assert (bn_btc.tick_size, bn_btc.min_price, bn_btc.max_price) == (
        D("0.1"),
        D("556.8"),
        D(4529764),
    )
    assert bn_btc.min_notional == D(100)
    spot_style = dict(BTCUSDT_INFO)
    spot_style["filters"] = [
        {"filterType": "LOT_SIZE", "stepSize": "0.01", "minQty": "0", "maxQty": "0"},
        {"filterType": "MIN_NOTIONAL", "minNotional": "5"},
    ]
    r = binance_rules("BTC", spot_style)
    assert r.min_notional == D(5) and r.max_qty is None and r.min_qty == D(0)
    with pytest.raises(ValueError):
        binance_rules("BTC", {"symbol": "BTCUSDT", "filters": []})


def test_binance_lot_size_grid_is_relative_to_min_qty() -> None:
    info = {
        "symbol": "XUSDT",
        "filters": [{"filterType": "LOT_SIZE", "stepSize": "0.5", "minQty": "0.2", "maxQty": "9"}],
    }
    r = binance_rules("X", info)
    assert round_quantity(D("1.1"), r) == D("0.7")  # 0.2 + 1 * 0.5
    assert round_quantity(D("1.2"), r) == D("1.2")
    assert round_quantity(D("0.19"), r) == D(0)


def test_binance_min_notional_boundary(bn_btc: InstrumentRules) -> None:
    mark = D(50000)
    assert quantity_for_notional(D(100), mark, bn_btc).quantity == D("0.002")  # exactly 100
    r = quantity_for_notional(D("99.99"), mark, bn_btc)  # -> 0.001 * 50000 = 50
    assert r.deny is SizeDeny.NOTIONAL_BELOW_MINIMUM
    r = quantity_for_notional(D("49.99"), mark, bn_btc)  # -> 0.000999 rounds to 0
    assert r.deny is SizeDeny.QUANTITY_BELOW_MINIMUM
    assert check_quantity(D("0.001"), mark, bn_btc, reduce_only=True).quantity == D("0.001")


def test_binance_max_qty_boundary_market_vs_limit(bn_btc: InstrumentRules) -> None:
    mark = D(1000)
    assert check_quantity(D(120), mark, bn_btc).quantity == D("120.000")  # MARKET_LOT_SIZE max
    r = check_quantity(D("120.001"), mark, bn_btc)
    assert r.deny is SizeDeny.QUANTITY_ABOVE_MAXIMUM
    assert check_quantity(D("120.001"), mark, bn_btc, market=False).quantity == D("120.001")
    assert check_quantity(D("1000.001"), mark, bn_btc, market=False).deny is (
        SizeDeny.QUANTITY_ABOVE_MAXIMUM
    )
    assert quantity_for_notional(D(200_000), mark, bn_btc).deny is SizeDeny.QUANTITY_ABOVE_MAXIMUM


@pytest.mark.parametrize(
    ("price", "nearest", "valid"),
    [
        ("65000.04", "65000.0", False),
        ("65000.05", "65000.0", False),  # half-even on the tick grid
        ("65000.06", "65000.1", False),
        ("65000.1", "65000.1", True),
        ("556.8", "556.8", True),  # min price
        ("556.7", "556.7", False),  # below min price
        ("4529764", "4529764.0", True),  # max price
        ("4529764.1", "4529764.1", False),  # above
    ],
)
def test_binance_price_filter(
    bn_btc: InstrumentRules, price: str, nearest: str, valid: bool
) -> None:
    assert round_price(D(price), bn_btc) == D(nearest)
    assert price_is_valid(D(price), bn_btc) is valid
    assert (valid_price(D(price), bn_btc) is not None) is price_is_valid(D(nearest), bn_btc)


# ---------------------------------------------------------------- TP/SL prices


@pytest.mark.parametrize(
    ("venue", "side", "price", "sent"),
    [
        ("hl", "buy", "64000.9", "64000"),  # 5 significant figures
        ("hl", "sell", "64000.1", "64001"),
        ("hl", "buy", "1.234567", "1.2"),  # BTC: at most 1 decimal
        ("bn", "buy", "64000.19", "64000.1"),  # tick 0.10 from minPrice 556.80
        ("bn", "sell", "64000.11", "64000.2"),
        ("bn", "sell", "64000.2", "64000.2"),  # on the grid already: unchanged
    ],
)
def test_a_limit_price_rounds_toward_the_passive_side(
    hl_btc: InstrumentRules,
    bn_btc: InstrumentRules,
    venue: str,
    side: str,
    price: str,
    sent: str,
) -> None:
    rules = hl_btc if venue == "hl" else bn_btc
    got = passive_limit_price(D(price), Side(side), rules)
    assert got.ok and got.price == D(sent)


@pytest.mark.parametrize(
    ("venue", "side", "price"),
    [
        ("hl", "buy", "0.04"),  # no valid BTC price at or below it
        ("hl", "buy", "0"),
        ("bn", "sell", "500"),  # below minPrice
        ("bn", "buy", "4529764.5"),  # above maxPrice
        ("bn", "buy", "-1"),
    ],
)
def test_a_limit_price_with_no_valid_price_on_the_passive_side_is_refused(
    hl_btc: InstrumentRules, bn_btc: InstrumentRules, venue: str, side: str, price: str
) -> None:
    rules = hl_btc if venue == "hl" else bn_btc
    got = passive_limit_price(D(price), Side(side), rules)
    assert not got.ok and got.deny is SizeDeny.PRICE_INVALID


def test_protective_trigger_prices(hl_btc: InstrumentRules, bn_btc: InstrumentRules) -> None:
    assert protective_trigger_price(D(65000), "buy", "tp", D(10), hl_btc) == D(71500)
    assert protective_trigger_price(D(65000), "buy", "sl", D(5), hl_btc) == D(61750)
    assert protective_trigger_price(D(65000), "sell", "tp", D(10), hl_btc) == D(58500)
    assert protective_trigger_price(D(65000), "sell", "sl", D(5), hl_btc) == D(68250)
    assert protective_trigger_price(D("65432.1"), "buy", "tp", D("2.5"), bn_btc) == D("67067.9")
    assert protective_trigger_price(D(1000), "buy", "sl", D(99), bn_btc) is None  # < minPrice


# ---------------------------------------------------------------- client order ids


def test_hyperliquid_cloid_is_deterministic_16_bytes() -> None:
    ours = client_order_id(7, 12, "entry")
    cloid = hyperliquid_cloid(ours)
    assert cloid == hyperliquid_cloid(ours)
    assert re.fullmatch(r"0x[0-9a-f]{32}", cloid)
    assert Cloid(cloid).to_raw() == cloid  # the SDK accepts it
    tp = hyperliquid_cloid(protective_client_order_id(ours, "tp"))
    sl = hyperliquid_cloid(protective_client_order_id(ours, "sl"))
    assert len({cloid, tp, sl}) == 3
    assert cloid == "0x" + __import__("hashlib").sha256(ours.encode()).hexdigest()[:32]


def test_protective_ids() -> None:
    assert protective_client_order_id("ho-1-2-entry", "tp") == "ho-1-2-entry:tp"
    assert protective_kind("ho-1-2-entry:sl") == "sl"
    assert protective_kind("ho-1-2-entry") is None


def test_binance_ids() -> None:
    ours = client_order_id(123456, 987654321, "entry")
    assert binance_client_order_id(ours) == ours  # fits the rule: sent verbatim
    tp = binance_client_algo_id(protective_client_order_id(ours, "tp"))
    assert re.fullmatch(r"[0-9a-f]{32}", tp)  # ':' would be percent-encoded by the SDK: digest
    assert tp == binance_client_algo_id(protective_client_order_id(ours, "tp"))
    too_long = "ho-" + "9" * 40
    assert re.fullmatch(r"[0-9a-f]{32}", binance_client_order_id(too_long))
    assert re.fullmatch(r"[0-9a-f]{32}", binance_client_order_id("ho 1 bad chars!"))
    for account in (1, 42, 10**6):
        for seq in (0, 1, 10**9):
            for leg in ("entry", "close", "entry:tp", "entry:sl"):
                cid = f"ho-{account}-{seq}-{leg}"
                assert BINANCE_CLIENT_ID_RE.fullmatch(binance_client_order_id(cid))
                assert len(hyperliquid_cloid(cid)) == 34
