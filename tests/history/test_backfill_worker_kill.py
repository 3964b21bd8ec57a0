"""A worker SIGKILLed in the middle of a backfill: another worker picks the page up and the task
ends with exactly the candles an uninterrupted run stores (none twice, none missing).

Why: a backfill of a year of minutes runs for a while; a deploy or a crash must not leave a
hole, or duplicate rows, that a later backtest silently trades on."""

from __future__ import annotations

from temporalio.client import Client

from config.settings import Settings
from tests.history.support import END, MIN, candle_times, finished, iso, stack, start, venues
from tests.support.waiting import eventually
from tests.support.worker_proc import WorkerProcess


class BackfillWorker(WorkerProcess):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)

    def env(self) -> dict[str, str]:
        s = self.settings
        return {
            **super().env(),
            "HYPERORU_BACKFILL_HYPERLIQUID_URL": s.backfill_hyperliquid_url or "",
            "HYPERORU_BACKFILL_BINANCE_URL": s.backfill_binance_url or "",
            "HYPERORU_BACKFILL_PAGE_INTERVAL_SECONDS": "0",
        }


async def polling(worker: WorkerProcess) -> None:
    async def up() -> bool:
        return "worker polling" in worker.output()

    await eventually(up, timeout=60, interval=0.05)


async def test_worker_killed_mid_backfill_resumes_to_the_same_rows(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    with venues() as v:
        # The second page's answer hangs: the worker is killed while it waits for it.
        v.hl.faults.inject("delay_after", "candleSnapshot", times=1, after=1, delay_s=30)
        async with stack(v, temporal_address, sqlite_url, worker=False) as st:
            worker = BackfillWorker(st.settings)
            worker.start()
            try:
                await polling(worker)
                begin = END - 12_000 * MIN
                task = await start(
                    st, exchange="hyperliquid", symbol="BTC", interval="1m",
                    start=iso(begin), end=iso(END),
                )  # fmt: skip

                async def waiting_on_page_two() -> bool:
                    r = await st.api.get(f"/api/klines/backfill/status/{task['id']}")
                    return (
                        r.json()["rows_written"] == 5000
                        and v.hl.requests.count("info:candleSnapshot") >= 2
                    )

                await eventually(waiting_on_page_two, timeout=60)
                worker.kill()
                worker = BackfillWorker(st.settings)
                worker.start()
                done = await finished(st, task["id"], timeout=120)
            finally:
                worker.kill()
            assert (done["status"], done["progress_pct"]) == ("completed", 100.0), done
            assert await candle_times(st, "hyperliquid", "BTC", "1m") == list(
                range(begin, END, MIN)
            )
            assert done["rows_written"] == 12_000
            # the hung page was asked again by the new worker: 3 pages + 1 retry
            assert v.hl.requests.count("info:candleSnapshot") == 4
