"""The in-memory snapshot hand-off is bounded and single use; a miss means: read the database."""

from __future__ import annotations

from activities.snapshots import SnapshotHandOff


def test_take_once_then_miss() -> None:
    h = SnapshotHandOff()
    h.put("dec-1-1", {"prices": {"BTC": "1"}})
    assert h.take("dec-1-1") == {"prices": {"BTC": "1"}}
    assert h.take("dec-1-1") is None  # a retried attempt reads the stored row


def test_bounded_oldest_evicted_and_latest_attempt_wins() -> None:
    h = SnapshotHandOff(size=2)
    h.put("a", {"n": 1})
    h.put("b", {"n": 2})
    h.put("a", {"n": 3})  # a retried gather_context replaces its earlier snapshot
    h.put("c", {"n": 4})
    assert h.take("b") is None and h.take("a") == {"n": 3} and h.take("c") == {"n": 4}
