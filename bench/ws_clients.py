"""`python -m bench.ws_clients URL N OUT`: N live-stream clients in one process, apart from the
API's (so their reading does not share its event loop), for `make bench` (bench/live.py).

Each socket authenticates with the token in HYPERORU_BENCH_TOKEN (not in argv: `ps` shows argv),
subscribes to every channel and records, for every pushed event, its id, its `time` (when the
writer made it, UTC) and when it arrived here. Prints `ready <n>` once all are subscribed, stops
on a `stop` line on stdin, then writes a summary to OUT: event-to-client latency (arrival minus
the event's time, both this machine's clock) per source, and whether every socket got every
event.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import datetime
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

CHANNELS = ["trades", "positions", "model_chat", "asset_curve"]
PROBE = "bench-probe-"  # decision ids of the events bench/live.py writes itself
CONNECT_AT_ONCE = 20


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def summary_ms(values_s: list[float]) -> dict[str, Any]:
    ms = [v * 1000 for v in values_s]
    r = lambda x: None if x is None else round(x, 1)  # noqa: E731
    return {
        "n": len(ms),
        "p50_ms": r(pct(ms, 50)),
        "p95_ms": r(pct(ms, 95)),
        "p99_ms": r(pct(ms, 99)),
        "max_ms": r(max(ms) if ms else None),
    }


class Client:
    def __init__(self) -> None:
        self.got: list[tuple[int, str, str, float, bool]] = []  # id, type, time, arrived, probe
        self.closed: str | None = None

    async def read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                arrived = time.time()
                msg = orjson.loads(raw)
                if "event_id" in msg:
                    data = msg["data"]
                    probe = str(data.get("decision_id") or "").startswith(PROBE)
                    self.got.append((msg["event_id"], msg["type"], data["time"], arrived, probe))
        except ConnectionClosed as err:
            self.closed = f"{err.rcvd.code if err.rcvd else 'none'}"


async def _open(url: str, token: str, client: Client) -> ClientConnection:
    ws = await connect(
        url,
        additional_headers={"Authorization": f"Bearer {token}"},
        proxy=None,
        compression=None,
        max_size=None,
        open_timeout=60,
    )
    await ws.send(json.dumps({"type": "subscribe", "data": {"channels": CHANNELS}}))
    await ws.send(json.dumps({"type": "ping", "request_id": "ready"}))
    while json.loads(await ws.recv()).get("request_id") != "ready":
        pass
    return ws


def _report(clients: list[Client], connected: int, cpu_s: float, wall_s: float) -> dict[str, Any]:
    lags: dict[str, list[float]] = {"all": [], "probe": [], "worker": []}
    union: set[int] = set()
    for c in clients:
        for event_id, _kind, at, arrived, probe in c.got:
            lag = arrived - datetime.fromisoformat(at).timestamp()
            lags["all"].append(lag)
            lags["probe" if probe else "worker"].append(lag)
            union.add(event_id)
    types: dict[str, int] = {}
    for _id, kind, *_ in clients[0].got if clients else []:
        types[kind] = types.get(kind, 0) + 1
    complete = sum(1 for c in clients if {g[0] for g in c.got} == union)
    return {
        "sockets": len(clients),
        "connected": connected,
        "closed_by_server": sum(1 for c in clients if c.closed is not None),
        "events": len(union),
        "deliveries": sum(len(c.got) for c in clients),
        "sockets_with_every_event": complete,
        "event_types": types,
        "event_to_client": summary_ms(lags["all"]),
        "probe_event_to_client": summary_ms(lags["probe"]),
        "worker_event_to_client": summary_ms(lags["worker"]),
        "clients_cpu_cores": round(cpu_s / max(wall_s, 1e-6), 3),
    }


async def main(url: str, n: int, out: str) -> None:
    token = os.environ["HYPERORU_BENCH_TOKEN"]
    clients = [Client() for _ in range(n)]
    sockets: list[ClientConnection] = []
    for i in range(0, n, CONNECT_AT_ONCE):
        batch = clients[i : i + CONNECT_AT_ONCE]
        sockets += await asyncio.gather(*(_open(url, token, c) for c in batch))
    readers = [asyncio.create_task(c.read(ws)) for c, ws in zip(clients, sockets, strict=True)]
    print(f"ready {len(sockets)}", flush=True)
    cpu0, t0 = time.process_time(), time.monotonic()
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() not in ("stop", ""):
        pass
    cpu_s, wall_s = time.process_time() - cpu0, time.monotonic() - t0
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    await asyncio.gather(*readers, return_exceptions=True)
    with open(out, "w") as f:
        json.dump(_report(clients, len(sockets), cpu_s, wall_s), f)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
