"""Decision rows are claimed once, on SQLite and PostgreSQL alike (db/decisions.py).

A regression: `insert_new` read the driver's rowcount to tell whether its INSERT ... ON CONFLICT
DO NOTHING inserted; PostgreSQL's driver reported a row where none was inserted, and a trigger
then took over the decision of another trigger whose row held the proposed id.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from config.settings import sync_url
from db.decisions import claim, found, insert_new, record_output
from db.models import Account

ROW = {"trigger_type": "manual", "trigger_context": {}}


def _session(url: str) -> Session:
    engine = create_engine(sync_url(url))
    s = Session(engine)
    s.add(Account(id=1, name="t", account_type="program", initial_capital=Decimal(1000),
                  max_leverage=Decimal(5), max_position_notional_usd=Decimal(1000),
                  max_concurrent_positions=3, symbols=["BTC"]))  # fmt: skip
    s.flush()
    return s


def _mint(seq: int) -> str:
    return f"dec-1-{seq}"


def test_a_taken_id_is_not_inserted_again(database_url: str) -> None:
    with _session(database_url) as s:
        assert insert_new(s, "dec-1-1", account_id=1, seq=1, trigger_key="a", **ROW)
        assert not insert_new(s, "dec-1-1", account_id=1, seq=1, trigger_key="b", **ROW)
        assert not insert_new(s, "dec-1-2", account_id=1, seq=2, trigger_key="a", **ROW)


def test_a_trigger_finds_its_own_row_and_only_its_own(database_url: str) -> None:
    with _session(database_url) as s:
        insert_new(s, "dec-1-1", account_id=1, seq=1, trigger_key="manual-x", **ROW)
        mine = found(s, 1, "manual-x", "dec-1-7")
        assert mine is not None and (mine.decision_id, mine.seq) == ("dec-1-1", 1)
        assert found(s, 1, "fire-y", "dec-1-1") is None


def test_a_proposed_id_taken_by_another_trigger_gets_the_next_free_one(database_url: str) -> None:
    with _session(database_url) as s:
        insert_new(s, "dec-1-1", account_id=1, seq=1, trigger_key="manual-x", **ROW)
        other = claim(s, 1, "fire-y", "dec-1-1", 1, _mint)
        assert (other.found, other.decision_id, other.seq) == (False, "dec-1-2", 2)
        again = claim(s, 1, "manual-x", "dec-1-5", 5, _mint)
        assert (again.found, again.decision_id) == (True, "dec-1-1")


def test_the_first_strategy_output_stands(database_url: str) -> None:
    with _session(database_url) as s:
        insert_new(s, "dec-1-1", account_id=1, seq=1, trigger_key="a", **ROW)
        assert record_output(s, "dec-1-1", {"ok": True, "n": 1}) is None
        assert record_output(s, "dec-1-1", {"ok": True, "n": 2}) == {"ok": True, "n": 1}
