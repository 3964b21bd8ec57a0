"""Heartbeat while a long awaitable runs, so a dead worker is noticed within seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from temporalio import activity

T = TypeVar("T")


async def with_heartbeats(work: Coroutine[Any, Any, T], every_s: float = 1.0) -> T:
    local = activity.info().is_local
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=every_s)
            if done:
                return task.result()
            if not local:  # a local activity has no server-side heartbeat timeout
                activity.heartbeat()
    finally:
        if not task.done():  # cancelled by Temporal (timeout, worker shutdown)
            task.cancel()
