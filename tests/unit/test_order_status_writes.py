"""Every write of an order's status goes through db/order_status.set_order_status, the one place
that checks the order state table: no other module updates the orders table, and no module that
handles order rows assigns a `.status` (creating a row with its first status is not a write of
its status, and stays allowed)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.product_source import product_modules

THE_WRITER = Path("db/order_status.py")
ORDER_NAMES = {"ORDERS", "OrderRecord"}


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _updates_orders(tree: ast.Module) -> list[int]:
    """Lines of `update(ORDERS)`, `update(OrderRecord)` and `ORDERS.update()`."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        called = (
            fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
        )
        if called != "update":
            continue
        on_orders = any(_names(a) & ORDER_NAMES for a in node.args) or (
            isinstance(fn, ast.Attribute) and bool(_names(fn.value) & ORDER_NAMES)
        )
        if on_orders:
            found.append(node.lineno)
    return sorted(found)


def _status_assignments(tree: ast.Module) -> list[int]:
    """Lines assigning `<anything>.status` or calling `setattr(<anything>, "status", ...)`."""
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for t in ast.walk(target):
                if isinstance(t, ast.Attribute) and t.attr == "status":
                    found.append(node.lineno)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "setattr"
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value == "status"
        ):
            found.append(node.lineno)
    return sorted(found)


def test_only_the_one_writer_updates_the_orders_table() -> None:
    offenders = {
        str(rel): lines
        for rel, tree in product_modules()
        if rel != THE_WRITER and (lines := _updates_orders(tree))
    }
    assert offenders == {}, f"write order statuses through {THE_WRITER}: {offenders}"


def test_no_module_handling_order_rows_assigns_a_status() -> None:
    offenders = {
        str(rel): lines
        for rel, tree in product_modules()
        if _names(tree) & ORDER_NAMES and (lines := _status_assignments(tree))
    }
    assert offenders == {}, f"write order statuses through {THE_WRITER}: {offenders}"


def test_the_guard_sees_the_writes_it_forbids() -> None:
    """The checks themselves: each form of a status write is caught."""
    caught = ast.parse(
        "stmt = update(ORDERS).values(status='x')\n"
        "sa.update(OrderRecord)\n"
        "ORDERS.update()\n"
        "row.status = 'x'\n"
        "a.status, b = 1, 2\n"
        "setattr(row, 'status', 'x')\n"
    )
    assert _updates_orders(caught) == [1, 2, 3]
    assert _status_assignments(caught) == [4, 5, 6]
    allowed = ast.parse("update(DECISIONS).values(status='x')\nOrderRecord(status='intent')\n")
    assert _updates_orders(allowed) == [] and _status_assignments(allowed) == []
