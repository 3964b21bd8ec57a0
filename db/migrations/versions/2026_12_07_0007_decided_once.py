"""decided once: trigger keys and each step's first recorded result

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 11:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trigger_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('context_summary', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('strategy_output', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            'uq_decisions_account_trigger', ['account_id', 'trigger_key'], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index('uq_decisions_account_trigger')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('strategy_output')
        batch_op.drop_column('context_summary')
        batch_op.drop_column('trigger_key')
