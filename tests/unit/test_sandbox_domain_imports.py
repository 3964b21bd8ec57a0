"""What the sandbox child takes from domain/ is the TA-Lib wrapper, its bounds, the factors built
on it and the interval lengths they annualise with, nothing more.

The child imports everything before its jail closes (sandbox.program.preload, sandbox/zygote.py)
and every run forks from that: domain.indicators and domain.factors must stay numpy + TA-Lib
(domain.market: the standard library), without pydantic or the rest of domain/ riding along
into each zygote.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What the zygote imports before it jails itself (sandbox/zygote.py main), as `python -I`.
CHILD_IMPORTS = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
from sandbox import program
program.preload()
import sandbox.market_data, sandbox.runtime
print(json.dumps({{
    "domain": sorted(m for m in sys.modules if m == "domain" or m.startswith("domain.")),
    "pydantic": "pydantic" in sys.modules,
}}))
"""


def test_the_child_loads_only_the_indicator_wrapper_from_domain() -> None:
    out = subprocess.run(
        [sys.executable, "-I", "-c", CHILD_IMPORTS],
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = json.loads(out.stdout)
    assert loaded == {
        "domain": [
            "domain",
            "domain.factors",
            "domain.indicator_periods",
            "domain.indicators",
            "domain.market",
        ],
        "pydantic": False,
    }
