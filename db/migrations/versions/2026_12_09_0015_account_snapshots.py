"""account snapshots per exchange and environment, and each user's selected exchange

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-09 10:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=30, scale=10, asdecimal=True)


def upgrade() -> None:
    op.create_table(
        'account_snapshots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('exchange', sa.String(length=32), nullable=False),
        sa.Column('environment', sa.String(length=16), nullable=False),
        sa.Column('balance_total', MONEY, nullable=False),
        sa.Column('balance_available', MONEY, nullable=False),
        sa.Column('margin_used', MONEY, nullable=False),
        sa.Column('unrealized_pnl', MONEY, nullable=False),
        sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'],
            name=op.f('fk_account_snapshots_account_id_accounts'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_snapshots')),
        sqlite_autoincrement=True,
    )
    op.create_index(
        'ix_account_snapshots_venue', 'account_snapshots',
        ['account_id', 'exchange', 'environment', 'id'], unique=False,
    )
    op.create_table(
        'user_exchange_configs',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('selected_exchange', sa.String(length=32), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_user_exchange_configs_user_id_users'),
        ),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_exchange_configs')),
    )


def downgrade() -> None:
    op.drop_table('user_exchange_configs')
    op.drop_index('ix_account_snapshots_venue', table_name='account_snapshots')
    op.drop_table('account_snapshots')
