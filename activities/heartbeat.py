"""Heartbeat while a long awaitable runs, so a dead worker is noticed within seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from temporalio import activity

T = TypeVar("T")


async def with_heartbeats(work: Coroutine[Any, Any, T], every_s: float = 1.0) -> T:
    if activity.info().is_local:  # no server-side heartbeat timeout: nothing to send
        return await work
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=every_s)
            if done:
                return task.result()
            activity.heartbeat()
    finally:
        if not task.done():  # cancelled by Temporal (timeout, worker shutdown)
            task.cancel()
