"""equity history: a trader's equity points (asset curve) and how far thinning has got

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 10:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=30, scale=10, asdecimal=True)


def upgrade() -> None:
    op.create_table(
        'equity_snapshots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('time', sa.DateTime(timezone=True), nullable=False),
        sa.Column('cash', MONEY, nullable=False),
        sa.Column('unrealized_pnl', MONEY, nullable=False),
        sa.Column('equity', MONEY, nullable=False),
        sa.Column('margin_used', MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'],
            name=op.f('fk_equity_snapshots_account_id_accounts'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_equity_snapshots')),
        sqlite_autoincrement=True,
    )
    op.create_index(
        'ix_equity_snapshots_account_time', 'equity_snapshots', ['account_id', 'time'],
        unique=False,
    )
    op.create_index('ix_equity_snapshots_time', 'equity_snapshots', ['time'], unique=False)
    op.create_table(
        'equity_thinning',
        sa.Column('every_seconds', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('done_until', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('every_seconds', name=op.f('pk_equity_thinning')),
    )


def downgrade() -> None:
    op.drop_table('equity_thinning')
    op.drop_index('ix_equity_snapshots_time', table_name='equity_snapshots')
    op.drop_index('ix_equity_snapshots_account_time', table_name='equity_snapshots')
    op.drop_table('equity_snapshots')
