"""BinanceFuturesClient (python-binance) against the Binance USD-M emulator over real HTTP."""

from __future__ import annotations

import logging
import time
from decimal import Decimal as D

import pytest
import requests
from binance.client import Client
from binance.exceptions import BinanceAPIException

from adapters.exchanges.binance import BinanceFuturesClient
from adapters.exchanges.client import (
    ErrorCode,
    ExchangeClient,
    ExchangeError,
    LivePosition,
    OutcomeUnknown,
    ProtectiveOrderError,
)
from domain.exchange_rules import binance_client_algo_id
from domain.ids import protective_client_order_id
from domain.orders import OrderIntent, OrderStatus
from tests.exchanges.conftest import BnSetup


def entry(
    cid: str = "ho-1-1-entry",
    *,
    symbol: str = "BTC",
    side: str = "buy",
    size_usd: str = "1000",
    leverage: str = "5",
    tp: str | None = "10",
    sl: str | None = "5",
) -> OrderIntent:
    return OrderIntent(
        client_order_id=cid,
        account_id=1,
        decision_id="d-1",
        leg="entry",
        symbol=symbol,
        side=side,
        reduce_only=False,
        size_usd=D(size_usd),
        leverage=D(leverage),
        take_profit_pct=D(tp) if tp else None,
        stop_loss_pct=D(sl) if sl else None,
    )


def close(cid: str = "ho-1-2-close", *, symbol: str = "BTC", side: str = "sell") -> OrderIntent:
    return OrderIntent(
        client_order_id=cid,
        account_id=1,
        decision_id="d-2",
        leg="close",
        symbol=symbol,
        side=side,
        reduce_only=True,
        size_usd=None,
        leverage=D(5),
    )


def posts(bn: BnSetup, path: str = "/fapi/v1/order") -> int:
    return bn.emulator.requests.count(f"POST {path}")


async def test_client_satisfies_protocol(bn_client: BinanceFuturesClient) -> None:
    assert isinstance(bn_client, ExchangeClient)


async def test_full_flow(bn: BnSetup, bn_client: BinanceFuturesClient) -> None:
    emu = bn.emulator
    emu.accounts[bn.api_key].balance = D(300)  # small account: a liquidation price exists

    verdict = await bn_client.verify()
    assert verdict.ok and verdict.details["withdrawals"] == "disabled", verdict

    rules = await bn_client.rules("BTC")
    assert (rules.venue_symbol, rules.qty_step, rules.min_notional) == ("BTCUSDT", D("0.001"), 100)

    since = int(time.time() * 1000) - 1000
    intent = entry()
    out = await bn_client.place(intent, D(65000))
    assert out.status is OrderStatus.FILLED
    assert out.filled_size == D("0.015") and out.avg_price == D(65000)
    assert out.fee == D("0.4875")  # 0.05% taker, read back from userTrades

    # what reached the exchange
    assert emu.accounts[bn.api_key].leverage["BTCUSDT"] == 5
    (order,) = emu.orders_for(bn.api_key)
    assert order["clientOrderId"] == "ho-1-1-entry"  # our id, verbatim
    assert (order["type"], order["side"], order["origQty"]) == ("MARKET", "BUY", "0.015")
    algos = {a["clientAlgoId"]: a for a in emu.algos_for(bn.api_key)}
    tp_id = protective_client_order_id(intent.client_order_id, "tp")
    sl_id = protective_client_order_id(intent.client_order_id, "sl")
    tp, sl = algos[binance_client_algo_id(tp_id)], algos[binance_client_algo_id(sl_id)]
    assert (tp["orderType"], tp["side"], tp["triggerPrice"]) == (
        "TAKE_PROFIT_MARKET",
        "SELL",
        "71500",
    )
    assert (sl["orderType"], sl["side"], sl["triggerPrice"]) == ("STOP_MARKET", "SELL", "61750")
    assert tp["closePosition"] and sl["closePosition"] and tp["workingType"] == "MARK_PRICE"
    open_ids = {o["venue_client_id"] for o in await bn_client.open_orders()}
    assert open_ids == {tp["clientAlgoId"], sl["clientAlgoId"]}
    tp_state = await bn_client.lookup(tp_id)
    assert tp_state is not None and tp_state.status is OrderStatus.SUBMITTED

    emu.set_mark("BTCUSDT", "66000")
    view = await bn_client.account()
    (pos,) = view.positions
    assert isinstance(pos, LivePosition)
    assert (pos.symbol, pos.side, pos.size) == ("BTC", "long", D("0.015"))
    assert (pos.entry_price, pos.mark_price, pos.leverage) == (D(65000), D(66000), D(5))
    assert pos.unrealized_pnl == D(15)
    assert pos.liquidation_price is not None and D(40000) < pos.liquidation_price < D(65000)
    assert pos.margin_used == D(198)
    assert view.unrealized_pnl_usd == D(15) and view.equity_usd == view.cash_usd + D(15)

    closed = await bn_client.place(close(), D(66000))
    assert closed.status is OrderStatus.FILLED and closed.filled_size == D("0.015")
    close_order = next(
        o for o in emu.orders_for(bn.api_key) if o["clientOrderId"] == "ho-1-2-close"
    )
    assert close_order["reduceOnly"] is True and close_order["side"] == "SELL"
    assert (await bn_client.account()).positions == []
    assert await bn_client.open_orders() == []
    tp_state = await bn_client.lookup(tp_id)
    assert tp_state is not None and tp_state.status is OrderStatus.CANCELLED

    emu.faults.inject("duplicate_fills", "GET /fapi/v1/userTrades", times=5)
    fills = await bn_client.fills(since)
    assert [f.side for f in fills] == ["buy", "sell"]
    assert len({f.trade_id for f in fills}) == 2
    assert fills[1].realized_pnl == D(15)


async def test_take_profit_fires_at_the_emulator(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    intent = entry(side="sell", tp="2", sl="3")
    assert (await bn_client.place(intent, D(65000))).status is OrderStatus.FILLED
    bn.emulator.set_mark("BTCUSDT", "63000")  # below the 63700 TP of the short
    tp = await bn_client.lookup(protective_client_order_id(intent.client_order_id, "tp"))
    assert tp is not None and tp.status is OrderStatus.FILLED and tp.avg_price == D(63000)
    assert (await bn_client.account()).positions == []
    sl = await bn_client.lookup(protective_client_order_id(intent.client_order_id, "sl"))
    assert sl is not None and sl.status is OrderStatus.CANCELLED  # expired with the position


async def test_withdrawal_permission_is_refused(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    bn.emulator.set_withdrawals(bn.api_key, True)
    verdict = await bn_client.verify()
    assert not verdict.ok and verdict.code == "WITHDRAWALS_ENABLED"
    bn.emulator.set_withdrawals(bn.api_key, False)
    assert (await bn_client.verify()).ok
    bn.emulator.accounts[bn.api_key].enable_futures = False
    verdict = await bn_client.verify()
    assert not verdict.ok and verdict.code == "AUTH_FAILED"


async def test_unknown_key_and_bad_secret(bn: BnSetup) -> None:
    stranger = bn.client(api_key="nope" * 16, symbols=["BTC"])
    verdict = await stranger.verify()
    assert not verdict.ok and verdict.code == "AUTH_FAILED"
    assert "-2015" in verdict.reason
    wrong_secret = bn.client(api_secret="x" * 64, symbols=["BTC"])
    with pytest.raises(ExchangeError) as info:
        await wrong_secret.place(entry(), D(65000))
    assert info.value.code == ErrorCode.AUTH and info.value.venue_code == "-1022"
    assert not info.value.retryable
    assert posts(bn) == 0 and bn.emulator.orders == {}
    await stranger.close()
    await wrong_secret.close()


async def test_tampered_request_is_rejected(bn: BnSetup) -> None:
    sdk = Client(bn.api_key, bn.api_secret, ping=False)
    sdk.FUTURES_URL = f"{bn.url}/fapi"
    captured: dict[str, object] = {}

    def capture(method: str, uri: str, signed: bool, force_params: bool = False, **kw: object):
        captured.update(sdk._get_request_kwargs(method, signed, force_params, **kw))
        return {}

    sdk._request = capture  # type: ignore[method-assign]
    sdk.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.002", newClientOrderId="t-1"
    )
    body = "&".join(f"{k}={v}" for k, v in captured["data"])  # type: ignore[attr-defined]
    tampered = body.replace("quantity=0.002", "quantity=0.200")
    headers = {"X-MBX-APIKEY": bn.api_key, "Content-Type": "application/x-www-form-urlencoded"}
    answer = requests.post(f"{bn.url}/fapi/v1/order", data=tampered, headers=headers, timeout=5)
    assert answer.status_code == 400 and answer.json()["code"] == -1022
    assert bn.emulator.orders == {}
    good = requests.post(f"{bn.url}/fapi/v1/order", data=body, headers=headers, timeout=5)
    assert good.status_code == 200 and good.json()["clientOrderId"] == "t-1"


async def test_sdk_signs_colons_unencoded(bn: BnSetup) -> None:
    """Why ':tp'/':sl' ids are digested: python-binance signs ':' raw but sends '%3A'."""
    sdk = Client(bn.api_key, bn.api_secret, ping=False)
    sdk.FUTURES_URL = f"{bn.url}/fapi"
    with pytest.raises(BinanceAPIException) as info:
        sdk.futures_create_order(
            symbol="BTCUSDT", side="SELL", type="STOP_MARKET", stopPrice="60000",
            closePosition="true", clientAlgoId="ho-1-1-entry:sl",
        )  # fmt: skip
    assert info.value.code == -1022
    assert bn.emulator.requests[-1] == "POST /fapi/v1/algoOrder"  # rerouted by the SDK


async def test_place_twice_sends_one_order(bn: BnSetup, bn_client: BinanceFuturesClient) -> None:
    intent = entry()
    first = await bn_client.place(intent, D(65000))
    second = await bn_client.place(intent, D(60000))
    assert first.exchange_order_id == second.exchange_order_id
    assert second.status is OrderStatus.FILLED and second.fee == first.fee
    assert posts(bn) == 1 and posts(bn, "/fapi/v1/algoOrder") == 2
    # Binance itself would take the same id again once the first order filled: only the
    # lookup-first step stops a second order
    sdk = Client(bn.api_key, bn.api_secret, ping=False)
    sdk.FUTURES_URL = f"{bn.url}/fapi"
    sdk.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.002",
        newClientOrderId=intent.client_order_id,
    )  # fmt: skip
    assert len(bn.emulator.orders_for(bn.api_key)) == 2


async def test_too_small_size_is_denied_without_an_order(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    await bn_client.rules("BTC")
    bn.emulator.requests.clear()
    small = await bn_client.place(entry(size_usd="90"), D(65000))  # 0.001 BTC = 65 < 100
    assert small.status is OrderStatus.REJECTED and small.reject_reason == "NOTIONAL_BELOW_MINIMUM"
    tiny = await bn_client.place(entry("ho-1-3-entry", size_usd="50"), D(65000))
    assert tiny.reject_reason == "QUANTITY_BELOW_MINIMUM"
    huge = await bn_client.place(entry("ho-1-4-entry", size_usd="8000000"), D(65000))
    assert huge.reject_reason == "QUANTITY_ABOVE_MAXIMUM"  # > MARKET_LOT_SIZE maxQty 120
    assert bn.emulator.requests == ["GET /fapi/v1/order"] * 3  # lookups only
    assert bn.emulator.orders == {}


async def test_timeout_after_accept_is_unknown_until_looked_up(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    intent = entry(tp=None, sl=None)
    bn.emulator.faults.inject("delay_after", "POST /fapi/v1/order", delay_s=4.0)
    with pytest.raises(OutcomeUnknown) as info:
        await bn_client.place(intent, D(65000))
    assert info.value.client_order_id == intent.client_order_id
    found = await bn_client.lookup(intent.client_order_id)
    assert found is not None and found.status is OrderStatus.FILLED
    assert found.filled_size == D("0.015") and found.fee == D("0.4875")
    again = await bn_client.place(intent, D(65000))
    assert again.exchange_order_id == found.exchange_order_id and posts(bn) == 1


@pytest.mark.parametrize("fault", ["error_5xx_after", "drop_after"])
async def test_lost_answer_is_unknown_not_failed(
    bn: BnSetup, bn_client: BinanceFuturesClient, fault: str
) -> None:
    intent = entry(tp=None, sl=None)
    bn.emulator.faults.inject(fault, "POST /fapi/v1/order")  # type: ignore[arg-type]
    with pytest.raises(OutcomeUnknown):
        await bn_client.place(intent, D(65000))
    found = await bn_client.lookup(intent.client_order_id)
    assert found is not None and found.status is OrderStatus.FILLED


async def test_rate_limit_and_not_found(bn: BnSetup, bn_client: BinanceFuturesClient) -> None:
    intent = entry(tp=None, sl=None)
    bn.emulator.faults.inject("rate_limit", "POST /fapi/v1/order", retry_after_s=3)
    with pytest.raises(ExchangeError) as info:
        await bn_client.place(intent, D(65000))
    err = info.value
    assert not isinstance(err, OutcomeUnknown)
    assert err.code == ErrorCode.RATE_LIMITED and err.retryable and err.retry_after_s == 3
    assert bn.emulator.orders == {}
    assert (await bn_client.place(intent, D(65000))).status is OrderStatus.FILLED
    bn.emulator.faults.inject("not_found", "GET /fapi/v1/order", times=2)
    assert await bn_client.lookup(intent.client_order_id) is None
    assert await bn_client.lookup(intent.client_order_id) is None
    found = await bn_client.lookup(intent.client_order_id)
    assert found is not None and found.status is OrderStatus.FILLED


async def test_protective_failure_is_retried_alone(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    intent = entry()
    bn.emulator.faults.inject("error_5xx_before", "POST /fapi/v1/algoOrder", after=1, status=503)
    with pytest.raises(ProtectiveOrderError) as info:
        await bn_client.place(intent, D(65000))
    assert info.value.retryable and info.value.entry.status is OrderStatus.FILLED
    assert info.value.leg_client_order_id.endswith(":sl")
    again = await bn_client.place(intent, D(65000))
    assert again.exchange_order_id == info.value.entry.exchange_order_id
    assert posts(bn) == 1
    assert {a["orderType"] for a in bn.emulator.algos_for(bn.api_key)} == {
        "TAKE_PROFIT_MARKET",
        "STOP_MARKET",
    }


async def test_cancel_and_venue_rejections(bn: BnSetup, bn_client: BinanceFuturesClient) -> None:
    intent = entry()
    await bn_client.place(intent, D(65000))
    sl_id = protective_client_order_id(intent.client_order_id, "sl")
    assert await bn_client.cancel(sl_id) is True
    assert await bn_client.cancel(sl_id) is False
    state = await bn_client.lookup(sl_id)
    assert state is not None and state.status is OrderStatus.CANCELLED
    big = await bn_client.place(entry("ho-1-5-entry", size_usd="700000", leverage="10"), D(65000))
    assert big.status is OrderStatus.REJECTED and big.reject_reason is not None
    assert big.reject_reason.startswith("INSUFFICIENT_MARGIN")
    lev = await bn_client.place(entry("ho-1-6-entry", leverage="200"), D(65000))
    assert lev.reject_reason is not None and lev.reject_reason.startswith("LEVERAGE_REJECTED")
    nothing = await bn_client.place(close("ho-1-7-close", symbol="ETH"), D(3500))
    assert nothing.reject_reason == "NO_POSITION_TO_CLOSE"
    with pytest.raises(ExchangeError) as info:
        await bn_client.rules("NOPE")
    assert info.value.code == ErrorCode.SYMBOL_UNKNOWN
    blind = bn.client()  # no symbols configured and none placed: a lookup cannot be scoped
    with pytest.raises(ExchangeError) as info:
        await blind.lookup("ho-1-1-entry")
    assert info.value.code == ErrorCode.SYMBOL_UNKNOWN
    found = await blind.lookup("ho-1-1-entry", symbol="BTC")
    assert found is not None and found.status is OrderStatus.FILLED
    await blind.close()


async def test_market_data(bn: BnSetup, bn_client: BinanceFuturesClient) -> None:
    mids = await bn_client.mids()
    assert mids == {"BTC": D(65000), "ETH": D(3500), "DOGE": D("0.15")}
    end = int(time.time() * 1000) // 3_600_000 * 3_600_000 + 1_000
    candles = await bn_client.candles("BTC", "1h", 5, end)
    assert len(candles) == 5 and candles[-1].open_time_ms == end - 1_000 - 3_600_000
    assert all(c.open_time_ms + 3_600_000 <= end for c in candles)
    assert await bn_client.funding("BTC") == D("0.0001")
    assert await bn_client.open_interest("BTC") == D("12345.678")


async def test_secrets_never_leak(bn: BnSetup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = bn.client(symbols=["BTC"])
    texts = [repr(client), str(client)]
    bn.emulator.faults.inject("delay_after", "POST /fapi/v1/order", delay_s=4.0)
    try:
        await client.place(entry(tp=None, sl=None), D(65000))
    except ExchangeError as err:
        texts += [str(err), repr(err), repr(err.__cause__), repr(err.__context__)]
    wrong = bn.client(api_secret="y" * 64, symbols=["BTC"])
    try:
        await wrong.account()
    except ExchangeError as err:
        texts += [str(err), repr(err), repr(err.__cause__), repr(err.__context__)]
    texts.append(caplog.text)
    for text in texts:
        assert bn.api_secret not in text and bn.api_key not in text
        assert "y" * 64 not in text
    await client.close()
    await wrong.close()


def test_construction_does_no_io() -> None:
    # a dead port: constructing either client must not touch the network
    client = BinanceFuturesClient("k", "s", "mainnet", base_url="http://127.0.0.1:9", timeout_s=1)
    assert client.check_withdrawals
    assert BinanceFuturesClient("k", "s", "testnet").check_withdrawals is False
    from adapters.exchanges.hyperliquid import HyperliquidClient

    HyperliquidClient("0x" + "1" * 40, "0x" + "2" * 64, "mainnet", base_url="http://127.0.0.1:9")
    with pytest.raises(ValueError):
        BinanceFuturesClient("k", "s", "prod")
