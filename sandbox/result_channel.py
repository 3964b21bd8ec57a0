"""Parent side: reading what the child wrote on its result channel (protocol in sandbox/serve.py).

Everything here is untrusted once the program has started: it may have written on the channel
itself (forged results, garbage, giant lines). The first line tells whether it had started.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sandbox.protocol import PROGRAM_STARTED


@dataclass(frozen=True)
class Channel:
    # The marker came first: the jail was in place and user code ran (and could write here).
    program_started: bool
    isolation: Any  # the marker's isolation report (None without the marker)
    result: dict[str, Any] | None  # the last line, if it reads as a result
    wrote: bool  # anything besides the marker


def read_channel(stdout: bytes) -> Channel:
    lines = [line for line in stdout.splitlines() if line.strip()]
    first = _json(lines[0]) if lines else None
    started = isinstance(first, dict) and first.get(PROGRAM_STARTED) is True
    isolation = first.get("isolation") if started and isinstance(first, dict) else None
    if started:
        lines = lines[1:]
    last = _json(lines[-1]) if lines else None
    result = last if isinstance(last, dict) and isinstance(last.get("ok"), bool) else None
    return Channel(started, isolation, result, bool(lines))


def _json(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):  # bad UTF-8 is a ValueError too
        return None
