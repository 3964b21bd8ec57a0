"""events: the live stream's record of fills, positions, decisions, equity and statuses

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 15:30:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('type', sa.String(length=32), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'], name=op.f('fk_events_account_id_accounts')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_events_account_id_id', 'events', ['account_id', 'id'], unique=False)
    op.create_index(op.f('ix_events_created_at'), 'events', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_events_created_at'), table_name='events')
    op.drop_index('ix_events_account_id_id', table_name='events')
    op.drop_table('events')
