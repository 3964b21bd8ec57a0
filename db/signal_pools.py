"""Signal pools as their workflows read them: the pool with its definitions, and the live
traders bound to it. Each function runs inside one read transaction (db/transactions.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Account, Binding, SignalDefinitionRecord, SignalPoolRecord
from domain.contracts import PoolConfig
from domain.signals import PoolLogic, SignalDefinition, SignalId, SignalPool


def _pool_model(rec: SignalPoolRecord) -> SignalPool:
    return SignalPool(
        name=rec.name,
        symbols=list(rec.symbols),
        signal_ids=list(rec.signal_ids),
        logic=PoolLogic(rec.logic),
        cooldown_seconds=rec.cooldown_seconds,
        enabled=rec.enabled,
    )


def pool_with_definitions(
    s: Session, pool_id: int
) -> tuple[SignalPool | None, dict[int, SignalDefinition]]:
    """The pool (None: no such pool) and its definitions by id, enabled or not."""
    rec = s.get(SignalPoolRecord, pool_id)
    if rec is None:
        return None, {}
    rows = s.scalars(
        select(SignalDefinitionRecord).where(SignalDefinitionRecord.id.in_(rec.signal_ids or []))
    )
    defs = {
        d.id: SignalDefinition.model_validate({**d.spec, "name": d.name, "enabled": d.enabled})
        for d in rows
    }
    return _pool_model(rec), defs


def pool_config(s: Session, pool_id: int) -> PoolConfig:
    """What a pool's workflow runs on: the pool, and how often to evaluate it (the smallest
    timeframe among its enabled definitions)."""
    pool, defs = pool_with_definitions(s, pool_id)
    if pool is None:
        return PoolConfig(pool_id=pool_id, found=False)
    enabled_defs = [d for d in defs.values() if d.enabled]
    interval = min((d.timeframe.seconds for d in enabled_defs), default=60)
    return PoolConfig(
        pool_id=pool_id, found=True, enabled=pool.enabled, pool=pool, interval_seconds=interval
    )


def bound_traders(s: Session, pool_id: SignalId) -> list[int]:
    """The live (not deleted) traders with an enabled binding to the pool, in id order (the id
    is compared as given: bindings store ints)."""
    rows = s.execute(
        select(Binding.account_id, Binding.signal_pool_ids)
        .join(Account, Account.id == Binding.account_id)
        .where(Account.is_deleted.is_(False), Binding.enabled.is_(True))
    ).all()
    return sorted({acct for acct, pools in rows if pool_id in (pools or [])})
