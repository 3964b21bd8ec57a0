"""notifications: users' channels (webhook, Telegram), their deliveries, the notifier's cursor

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-09 12:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'notification_channels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=True),
        sa.Column('telegram_base_url', sa.String(length=500), nullable=True),
        sa.Column('telegram_chat_id', sa.String(length=64), nullable=True),
        sa.Column('secret_sealed', sa.Text(), nullable=True),
        sa.Column('secret_hint', sa.String(length=16), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('status_reason', sa.Text(), nullable=True),
        sa.Column('created_at', TIME, nullable=False),
        sa.Column('updated_at', TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_notification_channels_user_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_channels')),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f('ix_notification_channels_user_id'), 'notification_channels', ['user_id'],
        unique=False,
    )
    op.create_table(
        'notification_deliveries',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('channel_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', TIME, nullable=False),
        sa.Column('last_attempt_at', TIME, nullable=True),
        sa.Column('delivered_at', TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ['channel_id'], ['notification_channels.id'],
            name=op.f('fk_notification_deliveries_channel_id_notification_channels'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_deliveries')),
        sa.UniqueConstraint('channel_id', 'key', name='uq_notification_deliveries_channel_key'),
    )
    op.create_index(
        'ix_notification_deliveries_status', 'notification_deliveries', ['status'], unique=False
    )
    op.create_index(
        'ix_notification_deliveries_channel_created', 'notification_deliveries',
        ['channel_id', 'created_at'], unique=False,
    )
    op.create_table(
        'notification_cursor',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('last_event_id', sa.Integer(), nullable=False),
        sa.Column('gaps', sa.JSON(), nullable=False),
        sa.Column('updated_at', TIME, nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_notification_cursor')),
    )


def downgrade() -> None:
    op.drop_table('notification_cursor')
    op.drop_index('ix_notification_deliveries_channel_created', table_name='notification_deliveries')
    op.drop_index('ix_notification_deliveries_status', table_name='notification_deliveries')
    op.drop_table('notification_deliveries')
    op.drop_index(op.f('ix_notification_channels_user_id'), table_name='notification_channels')
    op.drop_table('notification_channels')
