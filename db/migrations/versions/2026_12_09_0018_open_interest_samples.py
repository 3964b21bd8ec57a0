"""open-interest samples: the open interest decisions saw, the history of the oi_change factor

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-09 18:00:00.000000

Nothing to backfill: the table starts empty and fills as decisions gather open interest.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=30, scale=10)


def upgrade() -> None:
    op.create_table(
        'open_interest_samples',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('symbol', sa.String(length=32), nullable=False),
        sa.Column('time_ms', sa.BigInteger(), nullable=False),
        sa.Column('open_interest', MONEY, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_open_interest_samples')),
        sa.UniqueConstraint(
            'source', 'symbol', 'time_ms', name='uq_open_interest_samples_key'
        ),
    )
    op.create_index('ix_open_interest_samples_time', 'open_interest_samples', ['time_ms'])


def downgrade() -> None:
    op.drop_index('ix_open_interest_samples_time', table_name='open_interest_samples')
    op.drop_table('open_interest_samples')
