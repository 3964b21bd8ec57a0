"""circuit breakers: a trader's breaker settings, and what its breakers remember

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-09 10:00:00.000000

Settings on `accounts` (both limits null: no breaker); `breaker_states` holds, per trader
whose breakers are armed, when they were armed, the UTC day's starting equity and the equity
peak since the arming (domain/breakers.py). A trader without a row is armed at its next sync.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=30, scale=10, asdecimal=True)
PCT = MONEY  # a percentage, in the money columns' precision


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('daily_loss_limit_pct', PCT, nullable=True))
        batch.add_column(sa.Column('max_drawdown_pct', PCT, nullable=True))
        batch.add_column(
            sa.Column(
                'breaker_closes_positions', sa.Boolean(), nullable=False,
                server_default=sa.false(),
            )
        )
    op.create_table(
        'breaker_states',
        sa.Column('account_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('armed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('day_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('day_start_equity', MONEY, nullable=False),
        sa.Column('peak_equity', MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'], name=op.f('fk_breaker_states_account_id_accounts'),
        ),
        sa.PrimaryKeyConstraint('account_id', name=op.f('pk_breaker_states')),
    )


def downgrade() -> None:
    op.drop_table('breaker_states')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('breaker_closes_positions')
        batch.drop_column('max_drawdown_pct')
        batch.drop_column('daily_loss_limit_pct')
