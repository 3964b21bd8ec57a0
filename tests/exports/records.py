"""Helpers for the export tests: a trader's records as the API lists them, oldest first, and an
export's CSV read back into the API's values."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from tests.support.stack import Stack

LISTS = {
    "decisions": "decisions",
    "orders": "orders",
    "fills": "trades",
    "round_trips": "round-trips",
}


async def listed(st: Stack, account_id: int, route: str) -> list[dict[str, Any]]:
    """Every item of a paginated history route, oldest first (the routes list newest first)."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        url = f"/api/account/{account_id}/{route}"
        got = (await st.api.get(url, params={"page": page, "per_page": 200})).json()
        items += got["items"]
        if len(items) >= got["total"]:
            return items[::-1]
        page += 1


def bucket_lasts(points: list[dict[str, Any]], seconds: int = 300) -> list[dict[str, Any]]:
    """The last point of each `seconds` bucket, as the asset curve downsamples stored points
    (`points` oldest first)."""
    last: dict[int, dict[str, Any]] = {}
    for p in points:
        last[int(datetime.fromisoformat(p["time"]).timestamp()) // seconds] = p
    return [last[b] for b in sorted(last)]


def from_csv(text: str, like: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parse a CSV export, each cell read back to the type of the same field in `like` (the
    API's records): an object or a list from its JSON text, empty as null, true/false."""
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    out = []
    for row, model in zip(rows, like, strict=False):
        item: dict[str, Any] = {}
        for key, cell in row.items():
            want = model.get(key)
            if cell == "" and want is None:
                item[key] = None
            elif isinstance(want, bool):
                item[key] = {"true": True, "false": False}[cell]
            elif isinstance(want, dict | list):
                item[key] = json.loads(cell)
            elif isinstance(want, int):
                item[key] = int(cell)
            else:
                item[key] = cell
        out.append(item)
    assert len(rows) == len(like), (len(rows), len(like))
    return out
