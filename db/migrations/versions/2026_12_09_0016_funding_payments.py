"""funding payments: each live position's funding settlements, counted in its round trip

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-09 12:00:00.000000

Nothing to backfill: no funding payment was recorded before this revision (round trips kept
`funding` 0); the first account sync of each live trader records the venue's last 24 hours.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=30, scale=10)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'funding_payments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('symbol', sa.String(length=32), nullable=False),
        sa.Column('payment_id', sa.String(length=96), nullable=False),
        sa.Column('amount', MONEY, nullable=False),
        sa.Column('rate', MONEY, nullable=True),
        sa.Column('paid_at', TIME, nullable=False),
        sa.Column('created_at', TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'], name=op.f('fk_funding_payments_account_id_accounts')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_payments')),
        sa.UniqueConstraint('account_id', 'payment_id', name='uq_funding_payments_venue_id'),
        sqlite_autoincrement=True,
    )
    op.create_index(
        'ix_funding_payments_account_symbol_paid',
        'funding_payments',
        ['account_id', 'symbol', 'paid_at'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_funding_payments_account_symbol_paid', table_name='funding_payments')
    op.drop_table('funding_payments')
