"""Record workflow histories of real runs for the replay test.

`python -m tests.replay.record_histories [SCENARIO ...] [--suffix S]` records them into
`histories/<scenario><S>.json`, and `--broken` derives `broken_incompatible.json` from
`happy_path.json`. Histories are kept when the workflow changes: from 0.2.0 on, a change must
replay old histories (a `workflow.patched` branch, see README's Upgrading), so record new ones
next to the old, never over them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import eth_account
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from db.migrate import upgrade
from domain.contracts import Activity
from domain.equity import EquitySampleInput
from domain.notifications import NotifyInput, SummaryInput
from runtime.temporal import DATA_CONVERTER
from tests import programs
from tests.backtest_service.e2e import FLIP
from tests.backtest_service.e2e import candles as backtest_candles
from tests.backtest_service.e2e import post as post_backtest
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.reliability.venues import ALWAYS_LONG_SMALL, TOGGLE
from tests.support.faults import LoseTaskAfter
from tests.support.stack import Stack, full_stack, make_settings
from tests.support.waiting import eventually

OUT = Path(__file__).parent / "histories"
OUT.mkdir(exist_ok=True)
BIN = Path(sys.executable).parent


async def happy_path(st: Stack, tid: int, h: WorkflowHandle) -> None:
    await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])
    await st.post(f"/api/account/{tid}/trigger")
    await h.signal("signal_fired", {"fire_id": "f-1", "symbol": "BTC"})
    await h.signal("signal_fired", {"fire_id": "f-1", "symbol": "BTC"})  # duplicate
    await st.post(f"/api/account/{tid}/trigger")  # the signal's decision ran before this one


async def pause_resume(st: Stack, tid: int, h: WorkflowHandle) -> None:
    await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
    await st.post(f"/api/account/{tid}/pause", json={"reason": "r"})
    await h.signal("signal_fired", {"fire_id": "while-paused"})
    await st.post(f"/api/account/{tid}/resume")
    await st.post(f"/api/account/{tid}/trigger")


async def invalid_input(st: Stack, tid: int, h: WorkflowHandle) -> None:
    await st.bind(tid, (await st.create_program(programs.RAISES))["id"])
    await h.signal("signal_fired", "not an object")
    await h.signal("no_such_signal")
    await st.post(f"/api/account/{tid}/trigger")  # program raises: failed decision


async def continue_as_new(st: Stack, tid: int, h: WorkflowHandle) -> None:
    await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
    for _ in range(5):  # past the 50 events the recorder's settings continue as new at
        await st.post(f"/api/account/{tid}/trigger")


async def idle_continue_as_new(st: Stack, tid: int, h: WorkflowHandle) -> None:
    """A decision, then idle: the run continues as new carrying its configuration; the new run
    (recorded too, as `<name>_carried`) takes a decision, a pause and a resume."""
    await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
    first = (await h.describe()).run_id
    await st.post(f"/api/account/{tid}/trigger")

    async def moved() -> bool:
        return (await h.describe()).run_id != first

    await eventually(moved, timeout=30)
    await st.post(f"/api/account/{tid}/trigger")
    await h.signal("signal_fired", {"fire_id": "f-1", "symbol": "BTC"})
    await st.post(f"/api/account/{tid}/pause", json={"reason": "r"})
    await st.post(f"/api/account/{tid}/resume")


async def invalid_llm_output(st: Stack, tid: int, h: WorkflowHandle) -> None:
    from tests.emulators.openai_server import OpenAIEmulator, truncated, valid_json

    emu = OpenAIEmulator().start()
    try:
        await st.api.put(
            f"/api/account/{tid}",
            json={
                "llm_provider": "custom",
                "llm_base_url": emu.base_url,
                "llm_model": "gpt-4o-mini",
                "llm_api_key": "sk-replay-test-key-0000",
            },
        )
        p = (
            await st.post("/api/prompts/", {"name": "p", "content": "Decide for {symbols}."})
        ).json()
        await st.post(f"/api/account/{tid}/bindings", {"prompt_id": p["id"]})
        emu.script(truncated(), valid_json(operation="hold"))
        await st.post(f"/api/account/{tid}/trigger")  # invalid answer: recorded, no order
        await st.post(f"/api/account/{tid}/trigger")  # valid hold
    finally:
        emu.stop()


async def order_timeout_reconcile(st: Stack, tid: int, h: WorkflowHandle) -> None:
    """A live trader whose order answer is lost: settled by lookup; then an outage past the
    resolve bound (ORDER_UNKNOWN, halt), a denied entry, resume, reconciliation settles it."""
    emu: HyperliquidEmulator = st.app.state.replay_emulator
    await st.bind(tid, (await st.create_program(ALWAYS_LONG_SMALL))["id"])
    await asyncio.sleep(1)  # the binding reaches the trader (config_changed) first
    emu.faults.inject("delay_after", "order", delay_s=2)
    await st.post(f"/api/account/{tid}/trigger")  # unknown, then found by resolve_order
    emu.faults.inject("delay_after", "order", delay_s=2)
    pending = asyncio.create_task(st.post(f"/api/account/{tid}/trigger"))
    seen = emu.requests.count("exchange:order")

    async def sent() -> bool:
        return emu.requests.count("exchange:order") > seen

    await eventually(sent, timeout=60, interval=0.02)
    emu.faults.inject("down", "*", delay_s=RECORD_RESOLVE_SECONDS + 4)
    await pending  # ORDER_UNKNOWN: the trader halts new entries
    await asyncio.sleep(6)
    emu.faults.clear()
    await st.post(f"/api/account/{tid}/trigger")  # denied: halted
    await st.post(f"/api/account/{tid}/resume")  # operator resumes: reconcile settles the order
    await asyncio.sleep(2)


async def pool_fire(st: Stack, tid: int) -> WorkflowHandle:
    """A signal pool (always true, hourly, so only "evaluate now" fires it) fans out to the
    trader, evaluates again (no new edge), and stops. Returns the pool's handle."""
    definition = {"name": "up", "indicator": "price", "operator": ">", "threshold": 0}
    d = (await st.post("/api/signals/definitions", {**definition, "timeframe": "1h"})).json()
    body = {"name": "p", "symbols": ["BTC"], "signal_ids": [d["id"]], "logic": "and"}
    pool_id = (await st.post("/api/signals/pools", body)).json()["id"]
    await st.bind(tid, (await st.create_program(programs.HOLD))["id"], signal_pool_ids=[pool_id])
    for _ in range(2):
        assert (await st.post(f"/api/signals/pools/{pool_id}/evaluate")).status_code == 200
    return st.client.get_workflow_handle(f"signal-pool-{pool_id}")


async def decided_once(st: Stack, tid: int, h: WorkflowHandle) -> None:
    """The workflow task of a paper decision is lost right after its order filled (the recorder
    installs LoseTaskAfter for this scenario): the rerun gets every step's recorded result back
    (decided once), then a second decision closes the position."""
    await st.bind(tid, (await st.create_program(TOGGLE))["id"])
    await st.post(f"/api/account/{tid}/trigger")
    await st.post(f"/api/account/{tid}/trigger")


async def message_rules(st: Stack, tid: int, h: WorkflowHandle) -> None:
    """A malformed pause and a stop to a trader that is not deleted are rejected with no
    effect; paused, the owner's delete closes the open position through the workflow
    (close_positions), and the trader ends."""
    await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])
    await st.post(f"/api/account/{tid}/trigger")  # opens a BTC long
    await h.signal("pause", {"reason": ["not", "a", "string"]})
    await h.signal("stop")
    await st.post(f"/api/account/{tid}/trigger")  # still trading: adds to the long
    await st.post(f"/api/account/{tid}/pause", json={"reason": "r"})
    r = await st.api.delete(f"/api/account/{tid}", params={"positions": "close"})
    assert r.status_code == 200, r.text


async def circuit_breaker(st: Stack, tid: int, h: WorkflowHandle) -> None:
    """The trader (created with a daily loss limit so small that a fee crosses it, and set to
    close its positions) trips its breaker on the sync after its first trade: it pauses with
    the breaker's reason and closes the position as a decision of its own; then the owner's
    kill switch finds it paused, and its reason becomes the kill switch's."""
    await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])
    await st.post(f"/api/account/{tid}/trigger")

    async def tripped() -> bool:
        acct = (await st.api.get(f"/api/account/{tid}")).json()
        return bool(acct["status"] == "Paused" and not (await st.api.get(
            f"/api/account/{tid}/positions")).json()["positions"])  # fmt: skip

    await eventually(tripped)
    r = await st.post("/api/account/kill-switch", json={"flatten": True, "reason": "r"})
    assert r.status_code == 200, r.text


async def manual_orders(st: Stack, tid: int, h: WorkflowHandle) -> None:
    """The owner's orders: a market order, a limit order that rests, its cancel, a refused
    opening order and a reduce-only one while paused."""
    order = {"account_id": tid, "symbol": "BTC", "side": "buy", "quantity": "0.001"}
    await st.post("/api/orders/create", {**order, "order_type": "market"})
    rested = await st.post("/api/orders/create", {**order, "order_type": "limit", "price": "1"})
    await st.post(f"/api/orders/cancel/{rested.json()['id']}")
    await st.post(f"/api/account/{tid}/pause", json={"reason": "r"})
    await st.post("/api/orders/create", {**order, "order_type": "market"})  # refused: paused
    reduce = {**order, "side": "sell", "order_type": "market", "reduce_only": True}
    await st.post("/api/orders/create", reduce)


async def equity_sample(st: Stack) -> WorkflowHandle:
    """One tick of the equity sample schedule: an active trader gets its point."""
    await st.create_trader(trading_enabled=True)
    return await st.client.start_workflow(
        "EquitySampleWorkflow", EquitySampleInput(), id="equity-sample-replay",
        task_queue=st.settings.task_queue,
    )  # fmt: skip


async def equity_thin(st: Stack) -> WorkflowHandle:
    """One tick of the thinning schedule (started without an argument, as the schedule does)."""
    return await st.client.start_workflow(
        "EquityThinWorkflow", id="equity-thin-replay", task_queue=st.settings.task_queue
    )


async def notify_pass(st: Stack) -> WorkflowHandle:
    """One pass of the notifier's schedule over a trader's events (no channel wants them)."""
    await st.create_trader(trading_enabled=True)
    return await st.client.start_workflow(
        "NotifyWorkflow", NotifyInput(), id="notify-replay",
        task_queue=st.settings.notify_task_queue,
    )  # fmt: skip


async def daily_summary(st: Stack) -> WorkflowHandle:
    """One tick of the daily summary schedule."""
    await st.create_trader(trading_enabled=True)
    return await st.client.start_workflow(
        "DailySummaryWorkflow", SummaryInput(), id="daily-summary-replay",
        task_queue=st.settings.notify_task_queue,
    )  # fmt: skip


async def market_refresh(st: Stack) -> WorkflowHandle:
    """One tick of the market-history refresh (started without an argument, as the schedule
    does): a paper trader on the simulated source has no venue history to fetch."""
    await st.create_trader(trading_enabled=True)
    return await st.client.start_workflow(
        "MarketRefreshWorkflow", id="market-refresh-replay",
        task_queue=st.settings.backfill_task_queue,
    )  # fmt: skip


async def backfill(st: Stack) -> WorkflowHandle:
    """A candle backfill of two days of hourly BTC from the Hyperliquid emulator (the
    recording's backfill URL), started by the API like a user's."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    body = {"exchange": "hyperliquid", "symbol": "BTC", "interval": "1h",
            "start": (end - timedelta(days=2)).isoformat(), "end": end.isoformat()}  # fmt: skip
    r = await st.post("/api/klines/backfill", body)
    assert r.status_code == 201, r.text
    return st.client.get_workflow_handle(f"backfill-{r.json()['id']}")


async def backtest(st: Stack) -> WorkflowHandle:
    """A program backtest over 6 stored hourly bars, started by the API like a user's (the
    API waits for it: it has ended when this returns)."""
    await backtest_candles(st, 6)
    program = await st.create_program(FLIP)
    r = await post_backtest(st.api, program["id"], 6)
    assert r.status_code == 201, r.text
    return st.client.get_workflow_handle(f"backtest-{r.json()['backtest']['id']}")


async def backtest_cancelled(st: Stack) -> WorkflowHandle:
    """A long program backtest cancelled through the API once it has made some progress."""
    await backtest_candles(st, 2000)
    program = await st.create_program(FLIP)
    st.settings.backtest_sync_wait_seconds = 0
    bt = (await post_backtest(st.api, program["id"], 2000)).json()["backtest"]

    async def going() -> bool:
        r = await st.api.get(f"/api/programs/backtest/{bt['id']}")
        return bool(r.json()["backtest"]["steps_done"] >= 5)

    await eventually(going, timeout=60)
    r = await st.post(f"/api/programs/backtest/{bt['id']}/cancel")
    assert r.json()["backtest"]["status"] == "cancelled", r.text
    return st.client.get_workflow_handle(f"backtest-{bt['id']}")


# The periodic jobs (equity history, notifier, market refresh) and one-off runs (backfills,
# backtests): one short workflow each,
# recorded whole.
JOB_SCENARIOS: dict[str, Callable[[Stack], Awaitable[WorkflowHandle]]] = {
    "equity_sample": equity_sample,
    "equity_thin": equity_thin,
    "notify_pass": notify_pass,
    "daily_summary": daily_summary,
    "market_refresh": market_refresh,
    "backfill": backfill,
    "backtest": backtest,
    "backtest_cancelled": backtest_cancelled,
}
POOL_SCENARIOS: dict[str, Callable[[Stack, int], Awaitable[WorkflowHandle]]] = {
    "pool_fire": pool_fire,
}
SCENARIOS: dict[str, Callable[[Stack, int, WorkflowHandle], Awaitable[None]]] = {
    "happy_path": happy_path,
    "pause_resume": pause_resume,
    "invalid_input": invalid_input,
    "continue_as_new": continue_as_new,
    "invalid_llm_output": invalid_llm_output,
    "order_timeout_reconcile": order_timeout_reconcile,
    "idle_continue_as_new": idle_continue_as_new,
    "decided_once": decided_once,
    "message_rules": message_rules,
    "circuit_breaker": circuit_breaker,
    "manual_orders": manual_orders,
}
RECORD_RESOLVE_SECONDS = 5.0


async def _live_trader(st: Stack, emu: HyperliquidEmulator, url: str) -> int:
    wallet, agent = eth_account.Account.create(), eth_account.Account.create()
    emu.add_user(wallet.address, "100000")
    emu.approve_agent(wallet.address, agent.address)
    tid = (await st.create_trader(exchange="hyperliquid", symbols=["BTC"]))["account_id"]
    body = {
        "environment": "testnet",
        "wallet_address": wallet.address,
        "base_url": url,
        "api_wallet_private_key": agent.key.hex(),
    }
    assert (await st.api.put(f"/api/account/{tid}/exchange", json=body)).status_code == 200
    assert (await st.post(f"/api/account/{tid}/start")).status_code == 200
    return int(tid)


async def record(env: WorkflowEnvironment, name: str, suffix: str = "") -> None:
    url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
    upgrade(url)
    cas = 50 if name == "continue_as_new" else 2000
    emu = HyperliquidEmulator()
    async with contextlib.AsyncExitStack() as stack:
        server = stack.enter_context(serving(emu.app))
        settings = make_settings(
            env.client.service_client.config.target_host,
            url,
            continue_as_new_events=cas,
            # Long enough that no other scenario idles out mid-way (their first run is recorded).
            idle_continue_as_new_seconds=3 if name == "idle_continue_as_new" else 600,
            exchange_timeout_seconds=1.0,
            order_resolve_seconds=RECORD_RESOLVE_SECONDS,
            llm_allow_private_hosts=True,  # invalid_llm_output's emulator is on 127.0.0.1
            backfill_hyperliquid_url=server.url,  # the backfill scenario fetches from it
        )
        faults = [LoseTaskAfter(Activity.PLACE_ORDER)] if name == "decided_once" else []
        st = await stack.enter_async_context(full_stack(None, settings, interceptors=faults))
        st.app.state.replay_emulator = emu
        if name in JOB_SCENARIOS:
            job = await JOB_SCENARIOS[name](st)
            await eventually(lambda: _closed(job), timeout=60)  # a cancelled one raises
            history = await job.fetch_history()
            (OUT / f"{name}{suffix}.json").write_text(json.dumps(history.to_json_dict(), indent=1))
            print("recorded", name, len(history.events), "events")
            return
        kind = "prompt" if name == "invalid_llm_output" else "program"
        if name == "order_timeout_reconcile":
            tid = await _live_trader(st, emu, server.url)
        elif name == "circuit_breaker":
            tid = (
                await st.create_trader(
                    trading_enabled=True,
                    daily_loss_limit_pct="0.000001",
                    breaker_closes_positions=True,
                )
            )["account_id"]
        else:
            tid = (await st.create_trader(trading_enabled=True, account_type=kind))["account_id"]
        h = st.client.get_workflow_handle(f"trader-{tid}")
        first_run = (await h.describe()).run_id
        if name in POOL_SCENARIOS:
            pool = await POOL_SCENARIOS[name](st, tid)
            await pool.signal("stop")
            await eventually(lambda: _closed(pool), timeout=30)
            history = await pool.fetch_history()
            (OUT / f"{name}{suffix}.json").write_text(json.dumps(history.to_json_dict(), indent=1))
            print("recorded", name, len(history.events), "events")
            return
        await SCENARIOS[name](st, tid, h)

        async def idle() -> bool:
            status = await h.query("status")
            return status["pending_triggers"] == 0

        await eventually(idle)
        await asyncio.sleep(0.5)
        # Deleting ends the run (a `stop` alone is rejected for a trader that is not deleted).
        r = await st.api.delete(f"/api/account/{tid}", params={"positions": "leave"})
        assert r.status_code == 200, r.text
        await eventually(lambda: _closed(h), timeout=30)
        first = st.client.get_workflow_handle(f"trader-{tid}", run_id=first_run)
        history = await first.fetch_history()
        if name == "idle_continue_as_new":
            runs = [w async for w in st.client.list_workflows(f"WorkflowId = 'trader-{tid}'")]
            second = sorted(runs, key=lambda r: r.start_time)[1]
            carried = st.client.get_workflow_handle(f"trader-{tid}", run_id=second.run_id)
            text = json.dumps((await carried.fetch_history()).to_json_dict(), indent=1)
            (OUT / f"{name}_carried{suffix}.json").write_text(text)
    (OUT / f"{name}{suffix}.json").write_text(json.dumps(history.to_json_dict(), indent=1))
    print("recorded", name, len(history.events), "events")


async def _closed(h: WorkflowHandle) -> bool:
    return (await h.describe()).status is not None and (await h.describe()).status.name != "RUNNING"


def write_broken() -> None:
    """A history the code cannot have produced: happy_path with its first decision's context
    step recorded under another activity's name. Replaying it must fail (the gate can fail)."""
    history = json.loads((OUT / "happy_path.json").read_text())
    for event in history["events"]:
        marker = event.get("markerRecordedEventAttributes")
        if marker and marker["markerName"] == "core_local_activity":
            data = marker["details"]["data"]["payloads"][0]
            fields = json.loads(base64.b64decode(data["data"]))
            if fields.get("activity_type") == "gather_context":
                fields["activity_type"] = "run_program"
                data["data"] = base64.b64encode(json.dumps(fields).encode()).decode()
                break
    (OUT / "broken_incompatible.json").write_text(json.dumps(history, indent=1))
    print("recorded broken_incompatible")


async def main() -> None:
    if "--broken" in sys.argv:
        write_broken()
        return
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        ui=False,
        data_converter=DATA_CONVERTER,
    )
    async with env:
        args = sys.argv[1:]
        suffix = ""
        if "--suffix" in args:
            i = args.index("--suffix")
            suffix = args[i + 1]
            del args[i : i + 2]
        for name in args or [*SCENARIOS, *POOL_SCENARIOS, *JOB_SCENARIOS]:
            await record(env, name, suffix)


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
