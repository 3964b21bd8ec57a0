"""market history: backfill tasks (fetching candles and funding rates from a venue) and
funding-rate history

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-09 13:00:00.000000

Nothing to backfill: both tables start empty. The candles table (0001) already has the key
imported and backfilled candles are stored under: (source, symbol, interval, open_time_ms).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
# Why 0016 and not 0011: this branch was cut from main after 0016 (funding_payments) landed on
# 0011; two heads would stop `alembic upgrade head` (and every test). The integrator re-chains.
down_revision = '0016'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=30, scale=10)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'backfill_tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('exchange', sa.String(length=16), nullable=False),
        sa.Column('environment', sa.String(length=16), nullable=False),
        sa.Column('symbol', sa.String(length=32), nullable=False),
        sa.Column('interval', sa.String(length=8), nullable=True),
        sa.Column('start_ms', sa.BigInteger(), nullable=False),
        sa.Column('end_ms', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('progress_pct', sa.Float(), nullable=False),
        sa.Column('rows_written', sa.BigInteger(), nullable=False),
        sa.Column('cursor_ms', sa.BigInteger(), nullable=False),
        sa.Column('created_at', TIME, nullable=False),
        sa.Column('started_at', TIME, nullable=True),
        sa.Column('finished_at', TIME, nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('workflow_id', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ['owner_id'], ['users.id'], name=op.f('fk_backfill_tasks_owner_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_backfill_tasks')),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_backfill_tasks_owner', 'backfill_tasks', ['owner_id', 'id'])
    op.create_table(
        'funding_rates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('symbol', sa.String(length=32), nullable=False),
        sa.Column('funding_time_ms', sa.BigInteger(), nullable=False),
        sa.Column('rate', MONEY, nullable=False),
        sa.Column('mark_price', MONEY, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_rates')),
        sa.UniqueConstraint(
            'source', 'symbol', 'funding_time_ms', name='uq_funding_rates_key'
        ),
    )


def downgrade() -> None:
    op.drop_table('funding_rates')
    op.drop_index('ix_backfill_tasks_owner', table_name='backfill_tasks')
    op.drop_table('backfill_tasks')
