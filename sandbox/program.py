"""Child side: the namespace a user program runs in (Decision, restricted builtins, imports).

The restrictions here are defence in depth only. Python cannot be sandboxed from inside (e.g.
`().__class__.__base__.__subclasses__()` reaches any loaded module); the real boundary is the
process isolation in `sandbox.jail`.
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sandbox.protocol import DECISION_FIELDS, NUMERIC_DECISION_FIELDS

# Modules a program may import. Everything here is imported before the jail closes (no file
# access afterwards), see preload().
ALLOWED_MODULES = frozenset(
    {
        "__future__", "math", "cmath", "statistics", "datetime", "json", "collections",
        "collections.abc", "itertools", "functools", "decimal", "re", "random", "operator",
        "bisect", "heapq", "fractions", "typing", "dataclasses", "enum", "copy", "string",
        "numpy", "numpy.linalg", "numpy.random", "numpy.fft", "numpy.polynomial",
    }
)  # fmt: skip
# Imported for the sandbox's own use or to warm lazy imports; not importable by programs.
_INTERNAL_PRELOAD = (
    "_strptime", "talib", "traceback", "linecache",
    "unicodedata",  # the parser needs it for non-ASCII identifiers (`α = 0.5`)
    "numpy.ma", "numpy.strings", "numpy.char", "numpy.rec",  # lazily imported by numpy calls
)  # fmt: skip

REMOVED_BUILTINS = frozenset(
    {
        "open", "exec", "eval", "compile", "input", "breakpoint", "globals", "locals", "vars",
        "memoryview", "help", "exit", "quit", "copyright", "credits", "license",
        "__loader__", "__spec__", "__import__",
    }
)  # fmt: skip


def preload() -> None:
    """Import everything a program (or the sandbox) may touch while files are still readable."""
    for name in sorted(ALLOWED_MODULES) + list(_INTERNAL_PRELOAD):
        importlib.import_module(name)
    import datetime
    import time

    datetime.datetime.strptime("2026-01-01", "%Y-%m-%d")  # pulls in locale/calendar lazily
    time.localtime()  # makes glibc read its timezone data now (TZ=UTC in the child env)
    from domain import factors, indicators
    from sandbox import jail

    jail.preload_pyseccomp()
    indicators.warm_up()  # any import hidden inside numpy/talib code paths happens now
    factors.warm_up()


def reseed() -> None:
    """Fork mode: fresh random state in each child (it inherits the zygote's otherwise). Seeds
    from os.urandom, as a fresh interpreter does; numpy's from 32 bits (its fast path)."""
    import os
    import random

    import numpy

    random.seed(os.urandom(32))
    numpy.random.seed(int.from_bytes(os.urandom(4), "little"))


class Decision:
    """What should_trade returns. Validated by the parent against domain.decision.Decision."""

    __slots__ = DECISION_FIELDS

    def __init__(
        self,
        operation: str,
        *,
        symbol: str | None = None,
        size_usd: Any = None,
        leverage: Any = None,
        take_profit_pct: Any = None,
        stop_loss_pct: Any = None,
        reasoning: str = "",
    ) -> None:
        self.operation = operation
        self.symbol = symbol
        self.size_usd = size_usd
        self.leverage = leverage
        self.take_profit_pct = take_profit_pct
        self.stop_loss_pct = stop_loss_pct
        self.reasoning = reasoning

    def __repr__(self) -> str:
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in DECISION_FIELDS)
        return f"Decision({fields})"


class InvalidDecisionError(Exception):
    pass


def decision_to_wire(result: object) -> dict[str, Any]:
    """Turn the program's return value into plain JSON types (numbers as strings)."""
    if Decision not in type(result).__mro__:
        got = "None" if result is None else type(result).__name__
        raise InvalidDecisionError(
            f"should_trade must return Decision(...), got {got}"
            + (" (did you forget a return?)" if result is None else "")
        )
    wire: dict[str, Any] = {}
    for field in DECISION_FIELDS:
        # Read the raw slot through our own descriptor: a subclass cannot fake it.
        value = Decision.__dict__[field].__get__(result, Decision)
        wire[field] = _wire_value(field, value)
    return wire


def _wire_value(field: str, value: object) -> Any:
    if value is None:
        return None
    if field in NUMERIC_DECISION_FIELDS:
        return _number_text(field, value)
    if isinstance(value, str):
        return str.__str__(value)  # exact str, even for str subclasses
    raise InvalidDecisionError(f"{field} must be a string, got {type(value).__name__}")


def _number_text(field: str, value: object) -> str:
    if isinstance(value, bool):
        raise InvalidDecisionError(f"{field} must be a number, got bool")
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, Decimal):
        return Decimal.__str__(value)
    import numpy

    if isinstance(value, numpy.integer):
        return repr(int(value))
    if isinstance(value, numpy.floating):
        return repr(float(value))
    raise InvalidDecisionError(f"{field} must be a number, got {type(value).__name__}")


def _restricted_import(
    name: str,
    globals: Mapping[str, object] | None = None,
    locals: Mapping[str, object] | None = None,
    fromlist: tuple[str, ...] | list[str] = (),
    level: int = 0,
) -> Any:
    if type(fromlist) is list:
        # Not an `import` statement (those pass None or a tuple): C code such as numpy's array
        # printing or datetime.today() importing its helpers via PyImport_Import, which uses
        # the builtins of the calling frame, i.e. ours. A program can call this path itself,
        # which gains nothing beyond the __subclasses__() tricks; nothing new can be loaded
        # under seccomp anyway.
        return builtins.__import__(name, globals, locals, fromlist, level)
    if level != 0:
        raise ImportError("relative imports are not available in strategies")
    if name not in ALLOWED_MODULES:
        allowed = ", ".join(sorted(m for m in ALLOWED_MODULES if not m.startswith("_")))
        raise ImportError(f"import of {name!r} is not allowed in strategies; allowed: {allowed}")
    return builtins.__import__(name, None, None, fromlist, 0)


def program_globals(decision_cls: type = Decision) -> dict[str, Any]:
    safe: dict[str, Any] = {k: v for k, v in vars(builtins).items() if k not in REMOVED_BUILTINS}
    safe["__import__"] = _restricted_import
    return {
        "__builtins__": safe,
        "__name__": "__program__",
        "__doc__": None,
        "Decision": decision_cls,
    }


def find_should_trade(namespace: Mapping[str, object]) -> Callable[[Any], object]:
    """Instantiate Strategy() and return its bound should_trade (errors surface to the user)."""
    strategy_cls = namespace.get("Strategy")
    if not isinstance(strategy_cls, type):
        raise TypeError("the program must define `class Strategy`")
    instance = strategy_cls()
    method = getattr(instance, "should_trade", None)
    if not callable(method):
        raise TypeError("Strategy.should_trade must be a method")
    return method
