"""Run untrusted user program strategies in an isolated child process.

The child (sandbox/boot.py) imports modules of this package too, so this file must stay free of
heavy imports: the public API (sandbox.runner) is loaded lazily on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.runner import SandboxLimits, SandboxResult, run_program, validate_program

__all__ = ["SandboxLimits", "SandboxResult", "run_program", "validate_program"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sandbox import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
