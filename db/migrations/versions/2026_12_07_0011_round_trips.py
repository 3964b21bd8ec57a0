"""round trips: each position from its opening fill to the fill that left it flat, backfilled

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 16:00:00.000000

The backfill replays the recorded fills of every trader and symbol (db/round_trips.py,
domain/round_trips.py) and records each position that went flat. It reads and writes the
tables as they are at this revision (frozen below), so later changes to them do not change
what this migration does. Running it again adds nothing (one round trip per closing fill).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.round_trips import Recorder, Tables

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=30, scale=10)
TIME = sa.DateTime(timezone=True)


def _frozen(round_trips: sa.Table) -> Tables:
    """The tables the backfill touches, as they are at this revision (only what it uses)."""
    meta = sa.MetaData()
    trades = sa.Table(
        'trades', meta,
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('account_id', sa.Integer),
        sa.Column('client_order_id', sa.String(64)),
        sa.Column('symbol', sa.String(32)),
        sa.Column('side', sa.String(8)),
        sa.Column('size', MONEY),
        sa.Column('price', MONEY),
        sa.Column('fee', MONEY),
        sa.Column('realized_pnl', MONEY),
        sa.Column('trigger', sa.String(32)),
        sa.Column('created_at', TIME),
    )
    orders = sa.Table(
        'orders', meta,
        sa.Column('client_order_id', sa.String(64), primary_key=True),
        sa.Column('decision_id', sa.String(64)),
        sa.Column('account_id', sa.Integer),
        sa.Column('symbol', sa.String(32)),
        sa.Column('leverage', MONEY),
    )
    decisions = sa.Table(
        'decisions', meta,
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('binding_id', sa.Integer),
        sa.Column('trigger_type', sa.String(32)),
        sa.Column('trigger_key', sa.String(255)),
    )
    bindings = sa.Table(
        'bindings', meta,
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('program_id', sa.Integer),
        sa.Column('prompt_id', sa.Integer),
    )
    return Tables(trades, orders, decisions, bindings, round_trips)


def upgrade() -> None:
    round_trips = op.create_table(
        'round_trips',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('symbol', sa.String(length=32), nullable=False),
        sa.Column('side', sa.String(length=8), nullable=False),
        sa.Column('opened_at', TIME, nullable=False),
        sa.Column('closed_at', TIME, nullable=False),
        sa.Column('entry_price', MONEY, nullable=False),
        sa.Column('exit_price', MONEY, nullable=False),
        sa.Column('size', MONEY, nullable=False),
        sa.Column('notional', MONEY, nullable=False),
        sa.Column('leverage', MONEY, nullable=True),
        sa.Column('fees', MONEY, nullable=False),
        sa.Column('funding', MONEY, nullable=False),
        sa.Column('gross_pnl', MONEY, nullable=False),
        sa.Column('net_pnl', MONEY, nullable=False),
        sa.Column('exit_reason', sa.String(length=16), nullable=False),
        sa.Column('entry_decision_id', sa.String(length=64), nullable=True),
        sa.Column('exit_decision_id', sa.String(length=64), nullable=True),
        sa.Column('trigger_type', sa.String(length=32), nullable=True),
        sa.Column('program_id', sa.Integer(), nullable=True),
        sa.Column('prompt_id', sa.Integer(), nullable=True),
        sa.Column('first_fill_id', sa.Integer(), nullable=False),
        sa.Column('last_fill_id', sa.Integer(), nullable=False),
        sa.Column('fill_count', sa.Integer(), nullable=False),
        sa.Column('created_at', TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'], name=op.f('fk_round_trips_account_id_accounts')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_round_trips')),
        sa.UniqueConstraint('account_id', 'symbol', 'last_fill_id', name='uq_round_trips_close'),
        sqlite_autoincrement=True,
    )
    op.create_index(
        'ix_round_trips_account_closed', 'round_trips', ['account_id', 'closed_at'], unique=False
    )
    Recorder(_frozen(round_trips)).backfill(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_round_trips_account_closed', table_name='round_trips')
    op.drop_table('round_trips')
