"""`python -m bench.equity_sample`: one equity sample pass (adapters/equity.py) over many paper
traders, on a real migrated database (SQLite in a temp dir, or --database-url).

--traders paper traders are active, --holding of them with a position on each of three
symbols; the pass reads them all, prices the symbols once, values every account and writes one
point and one event each. Prints the pass's wall time and this process's CPU (median of
--passes), and the rows written.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from adapters.equity import EquitySampler
from config.settings import Settings, async_url
from db.migrate import upgrade
from db.models import Account, PaperAccountRecord
from db.session import make_engine, make_sessionmaker
from domain import paper
from domain.trader import TraderStatus
from domain.vocabulary import AccountType, PositionSide
from runtime.deps import default_deps

SYMBOLS = ("BTC", "ETH", "SOL")


def _state() -> dict[str, object]:
    positions = {
        sym: paper.PaperPosition(sym, PositionSide.LONG, Decimal("0.01"), Decimal(100), Decimal(2))
        for sym in SYMBOLS
    }
    return paper.account_to_dict(paper.PaperAccount(Decimal(9990), positions=positions))


async def main(traders: int, holding: int, passes: int, database_url: str | None) -> None:
    tmp = None
    if database_url is None:
        tmp = tempfile.mkdtemp(prefix="bench-equity-")
        database_url = f"sqlite:///{tmp}/bench.db"
    upgrade(database_url)
    engine = make_engine(async_url(database_url))
    sessions = make_sessionmaker(engine)
    async with sessions() as s, s.begin():
        for n in range(traders):
            s.add(Account(name=f"t{n}", account_type=AccountType.PROGRAM,
                          initial_capital=Decimal(10000), max_leverage=Decimal(5),
                          max_position_notional_usd=Decimal(1000), max_concurrent_positions=3,
                          symbols=list(SYMBOLS), status=TraderStatus.ACTIVE))  # fmt: skip
        await s.flush()
    async with sessions() as s, s.begin():
        for account_id in range(1, holding + 1):
            s.add(PaperAccountRecord(account_id=account_id, state=_state()))
    settings = Settings(database_url=database_url, data_dir=Path(tmp or tempfile.mkdtemp()))
    sampler = EquitySampler(sessions, default_deps(settings, sessions).exchange)
    walls, cpus = [], []
    for _ in range(passes):
        w, c = time.perf_counter(), time.process_time()
        result = await sampler.sample()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    print(
        f"{traders} paper traders ({holding} holding 3 positions): one pass "
        f"{statistics.median(walls) * 1000:.0f} ms wall, {statistics.median(cpus) * 1000:.0f} ms "
        f"CPU (median of {passes}); {result.sampled} points and {result.sampled} events written"
    )
    await engine.dispose()
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traders", type=int, default=1000)
    parser.add_argument("--holding", type=int, default=500)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.traders, args.holding, args.passes, args.database_url))
