"""ids never reused: AUTOINCREMENT on SQLite tables with an integer id

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 11:05:00.000000

SQLite gives the highest deleted id to the next row unless a table is AUTOINCREMENT, which
only a rebuilt table can become (the rows are copied; the counter starts past the highest id
left). PostgreSQL's sequences never reuse a value: nothing to do there.
"""
from __future__ import annotations

from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLES = (
    'users', 'session_tokens', 'accounts', 'programs', 'prompts', 'bindings', 'trades',
    'signal_definitions', 'signal_pools', 'candles', 'reconciliation_events',
)


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
