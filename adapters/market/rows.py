"""Candles as the snapshot's `[open_ms, open, high, low, close, volume]` rows, converted once.

Every trader deciding within the same minute gets the same candle objects from a caching feed
(see adapters/market/simulated.py); converting their Decimals to floats for each of them was
~5% of the worker's time at saturation. The memo is keyed by the identity of every candle in
the window and holds those candles, so a key can only match the very same objects: a feed that
returns fresh candles simply misses.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import orjson

from domain.market import Candle

Row = list[float]


def to_rows(candles: Sequence[Candle]) -> list[Row]:
    return [
        [c.open_time_ms, float(c.open), float(c.high), float(c.low), float(c.close),
         float(c.volume)]
        for c in candles
    ]  # fmt: skip


class KlineRows:
    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._memo: OrderedDict[tuple[int, ...], tuple[tuple[Candle, ...], list[Row]]] = (
            OrderedDict()
        )
        self._json: dict[int, orjson.Fragment] = {}  # id(rows) -> their JSON, for rows held

    def rows(self, candles: Sequence[Candle]) -> list[Row]:
        """The rows of `candles`; shared between callers, so never mutate them."""
        key = tuple(map(id, candles))
        hit = self._memo.get(key)
        if hit is not None:
            self._memo.move_to_end(key)
            return hit[1]
        rows = to_rows(candles)
        self._memo[key] = (tuple(candles), rows)
        if len(self._memo) > self.size:
            _, (_, old) = self._memo.popitem(last=False)
            self._json.pop(id(old), None)
        return rows

    def json(self, rows: list[Row]) -> orjson.Fragment | list[Row]:
        """`rows` as JSON encoded once (every trader's snapshot in a minute embeds the same
        rows), if they are rows this memo handed out; else `rows` themselves."""
        frag = self._json.get(id(rows))
        if frag is None:
            if not any(r is rows for _, r in self._memo.values()):
                return rows
            frag = self._json[id(rows)] = orjson.Fragment(orjson.dumps(rows))
        return frag


SHARED = KlineRows()
