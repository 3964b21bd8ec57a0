"""Handing a decision's input snapshot from context gathering to the strategy step in memory.

Both steps usually run on the same worker (local activities), and the snapshot (~75 KB of JSON)
was just written to the database: parsing it back cost more worker CPU than any other part of a
decision. This is only a shortcut: the database row stays the record, and a miss (another
worker, a restart, an evicted entry, a retried attempt) reads it from there.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HandedSnapshot:
    snapshot: dict[str, Any]
    encoded: bytes | None  # its JSON, as stored (None: encode it again)


class SnapshotHandOff:
    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[str, HandedSnapshot] = OrderedDict()

    def put(self, decision_id: str, snapshot: dict[str, Any], encoded: bytes | None = None) -> None:
        self._items[decision_id] = HandedSnapshot(snapshot, encoded)
        self._items.move_to_end(decision_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def take(self, decision_id: str) -> HandedSnapshot | None:
        return self._items.pop(decision_id, None)
