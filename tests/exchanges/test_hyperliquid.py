"""HyperliquidClient (official SDK) against the Hyperliquid emulator over real HTTP."""

from __future__ import annotations

import logging
import time
from decimal import Decimal as D

import eth_account
import pytest
import requests
from hyperliquid.utils.signing import get_timestamp_ms, sign_l1_action

from adapters.exchanges.client import (
    ErrorCode,
    ExchangeClient,
    ExchangeError,
    LivePosition,
    OutcomeUnknown,
    ProtectiveOrderError,
)
from adapters.exchanges.hyperliquid import HyperliquidClient
from domain.exchange_rules import hyperliquid_cloid
from domain.ids import protective_client_order_id
from domain.orders import OrderIntent, OrderStatus
from tests.exchanges.conftest import HlSetup


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


def wires_for(hl: HlSetup, cid: str) -> list[dict]:
    cloid = hyperliquid_cloid(cid)
    return [w for w in hl.emulator.order_actions() if w.get("c") == cloid]


async def test_client_satisfies_protocol(hl_client: HyperliquidClient) -> None:
    assert isinstance(hl_client, ExchangeClient)


async def test_full_flow(hl: HlSetup, hl_client: HyperliquidClient) -> None:
    emu, wallet = hl.emulator, hl.wallet.address
    emu.users[wallet.lower()].balance = D(300)  # small account: a liquidation price exists

    verdict = await hl_client.verify()
    assert verdict.ok, verdict

    rules = await hl_client.rules("BTC")
    assert (rules.sz_decimals, rules.max_leverage, rules.asset_index) == (5, 40, 0)

    since = int(time.time() * 1000) - 1000
    intent = entry()
    out = await hl_client.place(intent, D(65000))
    assert out.status is OrderStatus.FILLED
    assert out.filled_size == D("0.01538") and out.avg_price == D(65000)
    assert out.fee == D("0.449865")  # 0.045% taker fee, read back from userFills

    # what reached the exchange: leverage, one IOC entry with our cloid, two reduce-only triggers
    assert emu.users[wallet.lower()].leverage["BTC"] == 5
    (entry_wire,) = wires_for(hl, intent.client_order_id)
    assert entry_wire["t"] == {"limit": {"tif": "Ioc"}} and entry_wire["b"] is True
    assert entry_wire["p"] == "68250"  # mark + 5% slippage, 5 significant figures
    tp_id = protective_client_order_id(intent.client_order_id, "tp")
    sl_id = protective_client_order_id(intent.client_order_id, "sl")
    (tp_wire,) = wires_for(hl, tp_id)
    (sl_wire,) = wires_for(hl, sl_id)
    assert tp_wire["t"]["trigger"] == {"isMarket": True, "triggerPx": "71500", "tpsl": "tp"}
    assert sl_wire["t"]["trigger"] == {"isMarket": True, "triggerPx": "61750", "tpsl": "sl"}
    assert tp_wire["r"] and sl_wire["r"] and tp_wire["s"] == sl_wire["s"] == "0.01538"
    resting = {o["venue_client_id"] for o in await hl_client.open_orders()}
    assert resting == {hyperliquid_cloid(tp_id), hyperliquid_cloid(sl_id)}
    tp_state = await hl_client.lookup(tp_id)
    assert tp_state is not None and tp_state.status is OrderStatus.SUBMITTED

    # the mark moves; the position reads back with entry/mark/liq/leverage/uPnL
    emu.set_mid("BTC", "66000")
    view = await hl_client.account()
    (pos,) = view.positions
    assert isinstance(pos, LivePosition)
    assert (pos.symbol, pos.side, pos.size) == ("BTC", "long", D("0.01538"))
    assert (pos.entry_price, pos.mark_price, pos.leverage) == (D(65000), D(66000), D(5))
    assert pos.unrealized_pnl == D("15.38")
    assert pos.liquidation_price is not None and D(40000) < pos.liquidation_price < D(65000)
    assert view.unrealized_pnl_usd == D("15.38")
    assert view.equity_usd == view.cash_usd + D("15.38")

    # close the whole position reduce-only; the now-pointless TP/SL are cancelled
    closed = await hl_client.place(close(), D(66000))
    assert closed.status is OrderStatus.FILLED and closed.filled_size == D("0.01538")
    (close_wire,) = wires_for(hl, "ho-1-2-close")
    assert close_wire["r"] is True and close_wire["b"] is False
    assert (await hl_client.account()).positions == []
    assert await hl_client.open_orders() == []
    tp_state = await hl_client.lookup(tp_id)
    assert tp_state is not None and tp_state.status is OrderStatus.CANCELLED

    # fills come back once per trade id, even when the venue lists them twice
    emu.faults.inject("duplicate_fills", "userFillsByTime")
    fills = await hl_client.fills(since)
    assert [f.side for f in fills] == ["buy", "sell"]
    assert len({f.trade_id for f in fills}) == 2
    assert fills[1].realized_pnl == D("15.38")
    assert {f.exchange_order_id for f in fills} == {out.exchange_order_id, closed.exchange_order_id}


async def test_take_profit_fires_at_the_emulator(hl: HlSetup, hl_client: HyperliquidClient) -> None:
    intent = entry(side="sell", tp="2", sl="3")  # short: TP below, SL above
    out = await hl_client.place(intent, D(65000))
    assert out.status is OrderStatus.FILLED
    tp_id = protective_client_order_id(intent.client_order_id, "tp")
    sl_id = protective_client_order_id(intent.client_order_id, "sl")
    hl.emulator.set_mid("BTC", "63000")  # below the 63700 TP
    tp = await hl_client.lookup(tp_id)
    assert tp is not None and tp.status is OrderStatus.FILLED
    assert tp.side == "buy" and tp.avg_price == D(63000) and tp.filled_size == D("0.01538")
    assert (await hl_client.account()).positions == []
    hl.emulator.set_mid("BTC", "70000")  # SL crosses with no position left: cancelled
    sl = await hl_client.lookup(sl_id)
    assert sl is not None and sl.status is OrderStatus.CANCELLED


async def test_place_twice_sends_one_order(hl: HlSetup, hl_client: HyperliquidClient) -> None:
    intent = entry()
    first = await hl_client.place(intent, D(65000))
    second = await hl_client.place(intent, D(64000))  # a retry, with a different mark
    assert first.status is second.status is OrderStatus.FILLED
    assert first.exchange_order_id == second.exchange_order_id
    assert second.filled_size == first.filled_size and second.avg_price == first.avg_price
    assert len(wires_for(hl, intent.client_order_id)) == 1
    for kind in ("tp", "sl"):
        assert len(wires_for(hl, protective_client_order_id(intent.client_order_id, kind))) == 1
    assert hl.emulator.users[hl.wallet.address.lower()].positions["BTC"].szi == D("0.01538")


async def test_retry_places_missing_protection(hl: HlSetup, hl_client: HyperliquidClient) -> None:
    intent = entry()
    hl.emulator.faults.inject("rate_limit", "order", after=1)  # the entry passes, the TP does not
    with pytest.raises(ProtectiveOrderError) as info:
        await hl_client.place(intent, D(65000))
    err = info.value
    assert err.retryable and err.cause_code == ErrorCode.RATE_LIMITED
    assert err.entry.status is OrderStatus.FILLED
    assert err.leg_client_order_id == protective_client_order_id(intent.client_order_id, "tp")
    again = await hl_client.place(intent, D(65000))  # idempotent retry: only the missing legs
    assert again.status is OrderStatus.FILLED
    assert again.exchange_order_id == err.entry.exchange_order_id
    assert len(wires_for(hl, intent.client_order_id)) == 1
    for kind in ("tp", "sl"):
        assert len(wires_for(hl, protective_client_order_id(intent.client_order_id, kind))) == 1


async def test_unknown_agent_is_refused(hl: HlSetup) -> None:
    stranger = eth_account.Account.create()
    client = hl.client(agent=stranger)
    verdict = await client.verify()
    assert not verdict.ok and verdict.code == "UNKNOWN_AGENT"
    with pytest.raises(ExchangeError) as info:
        await client.place(entry(), D(65000))
    assert info.value.code == ErrorCode.AUTH and not info.value.retryable
    assert hl.emulator.order_actions() == []
    assert hl.emulator.refused_actions[0]["reason"] == "unknown signer"
    own_key = hl.client(agent=hl.wallet)  # the master key is not an agent
    verdict = await own_key.verify()
    assert not verdict.ok and verdict.code == "AGENT_IS_WALLET"
    await client.close()
    await own_key.close()


async def test_expired_or_foreign_agent_fails_verify(hl: HlSetup) -> None:
    late = eth_account.Account.create()
    hl.emulator.approve_agent(hl.wallet.address, late.address, valid_until=1)
    client = hl.client(agent=late)
    verdict = await client.verify()
    assert not verdict.ok and verdict.code == "AGENT_EXPIRED"
    other_wallet, foreign = eth_account.Account.create(), eth_account.Account.create()
    hl.emulator.add_user(other_wallet.address)
    hl.emulator.approve_agent(other_wallet.address, foreign.address)
    foreign_client = hl.client(agent=foreign)
    verdict = await foreign_client.verify()
    assert not verdict.ok and verdict.code == "AGENT_OF_OTHER_ACCOUNT"
    await client.close()
    await foreign_client.close()


def _signed_order(hl: HlSetup, size: str, is_mainnet: bool = False) -> dict:
    action = {
        "type": "order",
        "orders": [
            {"a": 0, "b": True, "p": "68250", "s": size, "r": False, "t": {"limit": {"tif": "Ioc"}}}
        ],
        "grouping": "na",
    }
    nonce = get_timestamp_ms()
    signature = sign_l1_action(hl.agent, action, None, nonce, None, is_mainnet)
    return {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": None}


async def test_tampered_and_mainnet_signatures_are_rejected(hl: HlSetup) -> None:
    body = _signed_order(hl, "0.001")
    body["action"]["orders"][0]["s"] = "0.002"  # changed after signing
    answer = requests.post(f"{hl.url}/exchange", json=body, timeout=5).json()
    assert answer["status"] == "err" and "does not exist" in answer["response"]
    # the SDK signs as mainnet only for the mainnet URL: a mainnet signature fails here too
    answer = requests.post(f"{hl.url}/exchange", json=_signed_order(hl, "0.001", True), timeout=5)
    assert answer.json()["status"] == "err"
    assert hl.emulator.order_actions() == []
    assert len(hl.emulator.refused_actions) == 2
    # the untampered testnet-signed action is accepted
    good = requests.post(f"{hl.url}/exchange", json=_signed_order(hl, "0.001"), timeout=5).json()
    assert good["status"] == "ok" and "filled" in good["response"]["data"]["statuses"][0]


async def test_too_small_size_is_denied_without_an_order(
    hl: HlSetup, hl_client: HyperliquidClient
) -> None:
    await hl_client.rules("BTC")  # rules cached
    hl.emulator.requests.clear()
    small = await hl_client.place(entry(size_usd="5"), D(65000))
    assert small.status is OrderStatus.REJECTED and small.reject_reason == "NOTIONAL_BELOW_MINIMUM"
    tiny = await hl_client.place(entry("ho-1-3-entry", size_usd="0.4"), D(65000))
    assert tiny.status is OrderStatus.REJECTED and tiny.reject_reason == "QUANTITY_BELOW_MINIMUM"
    # only the idempotency lookups were made: no leverage change, no order
    assert hl.emulator.requests == ["info:orderStatus", "info:orderStatus"]
    assert hl.emulator.received_actions == []


async def test_timeout_after_accept_is_unknown_until_looked_up(
    hl: HlSetup, hl_client: HyperliquidClient
) -> None:
    intent = entry(tp=None, sl=None)
    hl.emulator.faults.inject("delay_after", "order", delay_s=4.0)
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown) as info:
        await hl_client.place(intent, D(65000))
    assert time.monotonic() - started < 3.5  # gave up at the client timeout
    assert info.value.retryable and info.value.code == ErrorCode.OUTCOME_UNKNOWN
    found = await hl_client.lookup(intent.client_order_id)
    assert found is not None and found.status is OrderStatus.FILLED
    assert found.filled_size == D("0.01538") and found.fee is not None
    again = await hl_client.place(intent, D(65000))  # the retry finds it: no second order
    assert again.exchange_order_id == found.exchange_order_id
    assert len(wires_for(hl, intent.client_order_id)) == 1


@pytest.mark.parametrize("fault", ["drop_after", "error_5xx_after"])
async def test_lost_answer_is_unknown_not_failed(
    hl: HlSetup, hl_client: HyperliquidClient, fault: str
) -> None:
    intent = entry(tp=None, sl=None)
    hl.emulator.faults.inject(fault, "order")  # type: ignore[arg-type]
    with pytest.raises(OutcomeUnknown):
        await hl_client.place(intent, D(65000))
    found = await hl_client.lookup(intent.client_order_id)
    assert found is not None and found.status is OrderStatus.FILLED


async def test_rate_limit_is_retryable_and_nothing_was_placed(
    hl: HlSetup, hl_client: HyperliquidClient
) -> None:
    intent = entry(tp=None, sl=None)
    hl.emulator.faults.inject("rate_limit", "order", retry_after_s=2)
    with pytest.raises(ExchangeError) as info:
        await hl_client.place(intent, D(65000))
    err = info.value
    assert not isinstance(err, OutcomeUnknown)
    assert err.code == ErrorCode.RATE_LIMITED and err.retryable and err.retry_after_s == 2
    assert await hl_client.lookup(intent.client_order_id) is None
    assert (await hl_client.place(intent, D(65000))).status is OrderStatus.FILLED


async def test_not_found_first_then_found(hl: HlSetup, hl_client: HyperliquidClient) -> None:
    intent = entry(tp=None, sl=None)
    await hl_client.place(intent, D(65000))
    hl.emulator.faults.inject("not_found", "orderStatus", times=1)
    assert await hl_client.lookup(intent.client_order_id) is None  # the venue said so, once
    found = await hl_client.lookup(intent.client_order_id)
    assert found is not None and found.status is OrderStatus.FILLED


async def test_read_timeout_is_retryable_error(hl: HlSetup, hl_client: HyperliquidClient) -> None:
    hl.emulator.faults.inject("delay_after", "clearinghouseState", delay_s=4.0)
    with pytest.raises(ExchangeError) as info:
        await hl_client.account()
    assert info.value.code == ErrorCode.TIMEOUT and info.value.retryable
    assert not isinstance(info.value, OutcomeUnknown)


async def test_cancel_and_rejections(hl: HlSetup, hl_client: HyperliquidClient) -> None:
    intent = entry()
    await hl_client.place(intent, D(65000))
    sl_id = protective_client_order_id(intent.client_order_id, "sl")
    assert await hl_client.cancel(sl_id) is True
    assert await hl_client.cancel(sl_id) is False  # already cancelled
    assert await hl_client.cancel("ho-9-9-never") is False
    state = await hl_client.lookup(sl_id)
    assert state is not None and state.status is OrderStatus.CANCELLED
    # the venue refuses: insufficient margin -> rejected with its reason, not an exception
    big = await hl_client.place(entry("ho-1-4-entry", size_usd="900000", leverage="40"), D(65000))
    assert big.status is OrderStatus.REJECTED and big.reject_reason is not None
    assert big.reject_reason.startswith("INSUFFICIENT_MARGIN")
    over = await hl_client.place(entry("ho-1-5-entry", leverage="41"), D(65000))
    assert over.reject_reason == "LEVERAGE_EXCEEDS_MAX"
    nothing = await hl_client.place(close("ho-1-6-close", symbol="ETH"), D(3500))
    assert nothing.reject_reason == "NO_POSITION_TO_CLOSE"
    with pytest.raises(ExchangeError) as info:
        await hl_client.rules("NOPE")
    assert info.value.code == ErrorCode.SYMBOL_UNKNOWN


async def test_market_data(hl: HlSetup, hl_client: HyperliquidClient) -> None:
    mids = await hl_client.mids()
    assert mids["BTC"] == D(65000) and mids["DOGE"] == D("0.15")
    end = int(time.time() * 1000) // 3_600_000 * 3_600_000 + 1_000  # just after an hour starts
    candles = await hl_client.candles("BTC", "1h", 5, end)
    assert len(candles) == 5
    assert all(c.open_time_ms + 3_600_000 <= end for c in candles)
    assert candles[-1].open_time_ms == end - 1_000 - 3_600_000  # the last closed hour
    assert [c.open_time_ms for c in candles] == sorted(c.open_time_ms for c in candles)
    assert await hl_client.funding("BTC") == D("0.0000125")
    assert await hl_client.open_interest("BTC") == D(1000)
    assert await hl_client.funding("NOPE") is None


async def test_secrets_never_leak(hl: HlSetup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key_hex = hl.agent.key.hex()
    client = hl.client()
    texts = [repr(client), str(client)]
    hl.emulator.faults.inject("delay_after", "order", delay_s=4.0)
    for intent in (entry(tp=None, sl=None),):
        try:
            await client.place(intent, D(65000))
        except ExchangeError as err:
            texts += [str(err), repr(err), repr(err.__cause__), repr(err.__context__)]
    stranger = hl.client(agent=eth_account.Account.create())
    try:
        await stranger.place(entry("ho-1-7-entry"), D(65000))
    except ExchangeError as err:
        texts += [str(err), repr(err)]
    with pytest.raises(ValueError) as bad:
        HyperliquidClient(hl.wallet.address, key_hex + "zz", base_url=hl.url)
    texts.append(str(bad.value))
    texts.append(caplog.text)
    for text in texts:
        assert key_hex not in text and key_hex.removeprefix("0x") not in text
    await client.close()
    await stranger.close()
