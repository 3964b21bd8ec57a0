"""Every write the live stream reports goes through a writer that reports it: fills are inserted
only by the paper exchange's and the live fills' recorders (adapters/exchanges/paper.py,
db/fills.py), and a trader's status is updated by SQL only in db/account_status.py (the API's
ORM writes are reported by its ReportingSession; order statuses by db/order_status.py, kept so
by test_order_status_writes.py). A new write site elsewhere would add subjects no event reports."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.product_source import product_modules

FILL_WRITERS = {Path("adapters/exchanges/paper.py"), Path("db/fills.py")}
STATUS_WRITER = Path("db/account_status.py")
STATUS_COLUMNS = {"status", "status_reason"}


def _called(node: ast.Call) -> str:
    fn = node.func
    return fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""


def _mentions(node: ast.AST, names: set[str]) -> bool:
    return any(
        (isinstance(n, ast.Name) and n.id in names)
        or (isinstance(n, ast.Attribute) and n.attr in names)
        for n in ast.walk(node)
    )


def fill_inserts(tree: ast.Module) -> list[int]:
    """Lines of `insert(TRADES)`, `insert(TradeRecord)` and `TradeRecord(...)`."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _called(node)
        if name == "TradeRecord" or (
            name == "insert" and any(_mentions(a, {"TRADES", "TradeRecord"}) for a in node.args)
        ):
            found.append(node.lineno)
    return sorted(found)


def status_updates(tree: ast.Module) -> list[int]:
    """Lines of a module that updates the accounts table (`update(ACCOUNTS)`,
    `update(Account)`) where a `status` or `status_reason` column is given a value (a keyword
    of `.values(...)`, or a dict key: the values bound at execution)."""
    updates = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and _called(n) == "update"
        and any(_mentions(a, {"ACCOUNTS", "Account"}) for a in n.args)
    ]
    if not updates:
        return []
    found = [
        k.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and _called(n) == "values"
        for k in n.keywords
        if k.arg in STATUS_COLUMNS
    ]
    found += [
        k.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Dict)
        for k in n.keys
        if isinstance(k, ast.Constant) and k.value in STATUS_COLUMNS
    ]
    return sorted(found)


def test_only_the_reporting_recorders_insert_fills() -> None:
    offenders = {
        str(rel): lines
        for rel, tree in product_modules()
        if rel not in FILL_WRITERS and (lines := fill_inserts(tree))
    }
    assert offenders == {}, f"record fills through {sorted(map(str, FILL_WRITERS))}: {offenders}"


def test_only_the_reporting_writer_updates_a_traders_status() -> None:
    offenders = {
        str(rel): lines
        for rel, tree in product_modules()
        if rel != STATUS_WRITER and (lines := status_updates(tree))
    }
    assert offenders == {}, f"write a trader's status through {STATUS_WRITER}: {offenders}"


def test_the_guard_sees_the_writes_it_forbids() -> None:
    caught = ast.parse(
        "conn.execute(insert(TRADES), rows)\n"
        "s.add(TradeRecord(trade_id='t'))\n"
        "stmt = sa.insert(db.tables.TRADES)\n"
        "u = update(ACCOUNTS).where(x)\n"
        "conn.execute(u, {'b': 1, 'status': 'Paused'})\n"
        "update(Account).values(status_reason=None)\n"
    )
    assert fill_inserts(caught) == [1, 2, 3]
    assert status_updates(caught) == [5, 6]
    allowed = ast.parse(
        "insert(ORDERS)\nupdate(Account).values(llm_api_key_sealed='x')\nOrderRecord(status='i')\n"
    )
    assert fill_inserts(allowed) == [] and status_updates(allowed) == []
