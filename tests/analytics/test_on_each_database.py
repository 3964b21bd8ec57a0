"""The JSON paths the analytics extras read (a decision's operation, run time, model and tokens,
its snapshot's time, interval and candles) give the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

from temporalio.client import Client

from tests.analytics.rows import HOUR_MS, at, candle, decision, ms, round_trip
from tests.analytics.test_ai_attribution import klines, llm
from tests.support.stack import full_stack, make_settings


async def test_extras_on_each_database(
    temporal_client: Client, temporal_address: str, database_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, database_url)) as st:
        tid = (await st.create_trader())["id"]
        source = st.app.state.feed.name
        snapshot = {
            "now": at(10).isoformat(),
            "default_interval": "1h",
            "symbols": ["BTC"],
            "klines": {"BTC": {"1h": klines([1.0] * 99 + [20.0])}},
        }
        async with st.app.state.sessions() as s, s.begin():
            s.add(candle(source, "BTC", ms(at(10)), "100", "103"))
            s.add(candle(source, "BTC", ms(at(10)) + HOUR_MS, "103", "101"))
            s.add(
                decision(tid, 1, at(10), "long", "BTC", snapshot=snapshot,
                         llm=llm("gpt-a", prompt_tokens=7, cost_usd="0.25"))
            )  # fmt: skip
            s.add(decision(tid, 2, at(11), "hold", status="hold", program_id=4, run_ms=12))
            await s.flush()
            trip = round_trip(tid, 0, at(12), "5", entry=f"d-{tid}-1")
            s.add(trip)
            await s.flush()
            trip_id = trip.id
        ai = (await st.api.get("/api/analytics/ai-attribution", params={"horizon": 2})).json()
        assert ai["accuracy"]["overall"]["long"]["correct"] == 1  # 100 -> 101
        (model,) = ai["models"]
        assert (model["model"], model["prompt_tokens"], model["cost_usd"]) == ("gpt-a", 7, "0.25")
        assert [(r["regime"], r["trades"]) for r in ai["regimes"]] == [("volatile", 1)]
        (program,) = (await st.api.get("/api/analytics/programs")).json()
        assert (program["program_id"], program["p99_execution_ms"]) == (4, 12)
        assert program["decision_distribution"]["hold"] == 1
        r = await st.api.get(f"/api/analytics/trades/{trip_id}/replay")
        assert r.status_code == 200, r.text
        assert r.json()["opened_by"]["origin"] == "prompt"
        assert len(r.json()["candles"]["candles"]) == 2
