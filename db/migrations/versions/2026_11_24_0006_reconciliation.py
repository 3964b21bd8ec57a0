"""reconciliation events

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 08:20:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reconciliation_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('subject', sa.String(length=128), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('fingerprint', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'],
            ['accounts.id'],
            name=op.f('fk_reconciliation_events_account_id_accounts'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_events')),
        sa.UniqueConstraint('account_id', 'fingerprint', name='uq_reconciliation_account_print'),
    )
    with op.batch_alter_table('reconciliation_events', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_reconciliation_events_account_id'), ['account_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('reconciliation_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_events_account_id'))
    op.drop_table('reconciliation_events')
