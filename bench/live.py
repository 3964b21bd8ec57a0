"""The live stream under load: N sockets (bench/ws_clients.py, a process of their own) connected
to the API's `/ws` while a workload runs, and the event-to-client latency they saw.

Events measured: those the worker records (decisions, fills, positions, statuses) and probes
this harness writes itself, PROBE_RATE a second, through db/events.py `append` in a transaction
of their own, as the worker writes its events: so the figure exists whatever the worker
records. A probe is a `model_chat_update` with decision id `bench-probe-<n>` and trigger type
`bench_probe`; its `time` is taken just before its transaction, so its latency covers the
commit, the API's poll (HYPERORU_WS_POLL_SECONDS), the fan-out to every socket and the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bench.stack import ROOT, BenchStack, cpu_times
from bench.ws_clients import PROBE
from db import events
from domain.events import ModelChatUpdate
from domain.vocabulary import DecisionStatus

PROBE_RATE = 10.0  # probe events a second (python -m bench --ws-probe-rate)
SETTLE_S = 1.5  # after the workload: the last events reach the clients


def _write_probe(stack: BenchStack, account_id: int, n: int) -> None:
    probe = ModelChatUpdate(
        account_id=account_id,
        time=datetime.now(UTC),
        decision_id=f"{PROBE}{n}",
        trigger_type="bench_probe",
        status=DecisionStatus.HOLD,
        operation="hold",
        reasoning="bench: event-to-client latency probe",
    )
    with Session(stack.db) as s, s.begin():
        events.append(s, probe)


async def _probes(
    stack: BenchStack, traders: Sequence[int], stop: asyncio.Event, rate: float
) -> int:
    sent = 0
    for n in itertools.count():
        if stop.is_set():
            break
        await asyncio.to_thread(_write_probe, stack, traders[n % len(traders)], n)
        sent += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1 / rate)
    return sent


async def with_clients(
    stack: BenchStack,
    clients: int,
    traders: Sequence[int],
    workload: Callable[[], Awaitable[dict[str, Any]]],
    probe_rate: float = PROBE_RATE,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run `workload` with `clients` sockets connected; its result and the stream's figures."""
    out = Path(tempfile.mkdtemp(prefix="hyperoru-bench-ws-")) / "clients.json"
    token = stack.api.headers["Authorization"].split()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.ws_clients", stack.ws_url, str(clients), str(out),
        cwd=ROOT, env={**os.environ, "HYPERORU_BENCH_TOKEN": token},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    t_connect = time.monotonic()
    line = await asyncio.wait_for(proc.stdout.readline(), 180)
    if not line.startswith(b"ready"):
        raise RuntimeError(f"the socket clients did not start: {line!r}")
    connect_s = time.monotonic() - t_connect
    hub = stack.app.state.ws_hub
    served = hub.count
    stop = asyncio.Event()
    cpu0, t0 = cpu_times(proc.pid)[0], time.monotonic()
    probes = asyncio.create_task(_probes(stack, traders, stop, probe_rate))
    delivered0 = hub.delivered
    try:
        result = await workload()
    finally:
        stop.set()
        sent = await probes
        await asyncio.sleep(SETTLE_S)
        clients_cpu = (cpu_times(proc.pid)[0] - cpu0) / (time.monotonic() - t0)
        proc.stdin.write(b"stop\n")
        await proc.stdin.drain()
        await asyncio.wait_for(proc.wait(), 60)
    figures = json.loads(out.read_text())
    figures.update(
        clients_requested=clients,
        sockets_served=served,
        connect_s=round(connect_s, 2),
        probes_written=sent,
        probe_rate_per_s=probe_rate,
        events_handed_on=hub.delivered - delivered0,
        clients_cpu_cores=round(clients_cpu, 3),
        poll_s=stack.settings.ws_poll_seconds,
    )
    return result, figures
