"""Static checks of a program's source. Parses and compiles only; never executes anything."""

from __future__ import annotations

import ast

from sandbox.program import ALLOWED_MODULES
from sandbox.protocol import MAX_CODE_CHARS

PROGRAM_FILENAME = "<program>"


def validate_program(code: str, *, check_imports: bool = False) -> list[str]:
    """Return human-readable problems with `code`; an empty list means it looks runnable.

    Checks: size, syntax (with line numbers), a top-level `class Strategy` that defines a plain
    (not async, not static/class) method `should_trade(self, data)`; with `check_imports`, also
    every import statement against the sandbox's allowlist. Why optional: saving or checking a
    program reports a forbidden import up front, while a run leaves it to the sandbox's own
    import guard, which refuses it the same way (and which its tests exercise).

    This compiles in the calling process, without a time budget: the API and the worker use
    sandbox.compile_check.check_program, which runs it in a separate helper process.
    """
    early = precheck(code)
    if early:
        return early
    imports, problems = analyse(code)
    return [*imports, *problems] if check_imports else problems


def precheck(code: object) -> list[str]:
    """The checks that need no parsing: type, emptiness, size (MAX_CODE_CHARS)."""
    if not isinstance(code, str):
        return [f"program must be a string, got {type(code).__name__}"]
    if not code.strip():
        return ["program is empty"]
    if len(code) > MAX_CODE_CHARS:
        return [f"program is too large ({len(code)} chars, limit {MAX_CODE_CHARS})"]
    return []


def analyse(code: str) -> tuple[list[str], list[str]]:
    """Parse and compile `code`: (forbidden imports, every other problem). A program that does
    not parse has only the second: its syntax error."""
    try:
        tree = ast.parse(code, filename=PROGRAM_FILENAME)
        # compile() of the tree catches what the parser lets through ('return' outside
        # function, bad nonlocal, ...). It builds a code object but does not run it.
        compile(tree, PROGRAM_FILENAME, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "unknown line"
        if exc.lineno and exc.offset:
            where += f", column {exc.offset}"
        return [], [f"syntax error at {where}: {exc.msg}"]
    except MemoryError:
        return [], ["program is too complex to compile (it needs too much memory)"]
    except RecursionError:
        return [], ["program is too deeply nested to compile"]
    except ValueError as exc:  # null bytes, lone surrogates
        return [], [f"program cannot be parsed: {type(exc).__name__}: {exc}"]
    return _check_imports(tree), _check_strategy(tree)


def _check_imports(tree: ast.Module) -> list[str]:
    """The import statements sandbox.program's import guard would refuse, in line order."""
    found: list[tuple[int, str]] = []
    allowed = ", ".join(sorted(m for m in ALLOWED_MODULES if not m.startswith("_")))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, "relative imports are not available in strategies"))
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            if name not in ALLOWED_MODULES:
                message = f"import of {name!r} is not allowed in strategies; allowed: {allowed}"
                found.append((node.lineno, message))
    return [f"line {line}: {message}" for line, message in sorted(found)]


def _check_strategy(tree: ast.Module) -> list[str]:
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Strategy"]
    if not classes:
        return ["program must define a top-level `class Strategy`"]
    strategy = classes[-1]  # the last definition is the one that wins at runtime
    methods = [
        n
        for n in strategy.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "should_trade"
    ]
    if not methods:
        return [
            f"line {strategy.lineno}: class Strategy must define a method "
            "`should_trade(self, data)`"
        ]
    method = methods[-1]
    problems: list[str] = []
    if isinstance(method, ast.AsyncFunctionDef):
        problems.append(f"line {method.lineno}: should_trade must be `def`, not `async def`")
    for deco in method.decorator_list:
        if isinstance(deco, ast.Name) and deco.id in ("staticmethod", "classmethod"):
            problems.append(f"line {method.lineno}: should_trade must be a plain method")
    if not _accepts_self_and_data(method.args):
        problems.append(
            f"line {method.lineno}: should_trade must take exactly (self, data) "
            "(extra parameters need default values)"
        )
    return problems


def _accepts_self_and_data(args: ast.arguments) -> bool:
    positional = [*args.posonlyargs, *args.args]
    required_kwonly = [d for d in args.kw_defaults if d is None]
    if required_kwonly:
        return False
    if args.vararg is not None:
        return True
    if len(positional) < 2:
        return False
    required = len(positional) - len(args.defaults)
    return required <= 2
