"""A paper account's state row is created once, even when two processes create it at once.

The API's first view of a trader and the worker's first account sync can both find no row and
both insert one; the second used to fail with a UNIQUE violation (a 500 from the API). Here the
second insert is held until the first has committed, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from decimal import Decimal

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

from adapters.exchanges.paper import PaperExchange
from config.settings import sync_url
from db.models import Account
from domain import paper


def test_two_first_uses_at_once_share_one_row(database_url: str) -> None:
    url = sync_url(database_url)
    first, second = create_engine(url), create_engine(url)
    with Session(first) as s, s.begin():
        s.add(Account(id=7, name="t", account_type="program", initial_capital=Decimal(1000),
                      max_leverage=Decimal(5), max_position_notional_usd=Decimal(1000),
                      max_concurrent_positions=3, symbols=["BTC"]))  # fmt: skip
    at_insert, first_done = threading.Event(), threading.Event()

    @event.listens_for(second, "before_cursor_execute")
    def hold(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO PAPER_ACCOUNTS"):
            at_insert.set()
            first_done.wait(10)

    results: dict[str, object] = {}

    def load_second() -> None:
        try:
            with Session(second) as s, s.begin():
                results["second"] = PaperExchange._load(s, 7, lock=False)
        except Exception as exc:
            results["second"] = exc

    worker = threading.Thread(target=load_second)
    worker.start()
    assert at_insert.wait(10)
    with Session(first) as s, s.begin():
        mine = PaperExchange._load(s, 7, lock=False)
    first_done.set()
    worker.join(20)
    assert isinstance(results["second"], paper.PaperAccount), results["second"]
    assert results["second"] == mine
