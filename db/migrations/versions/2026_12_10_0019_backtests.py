"""backtests: program (and later prompt) backtest runs and their results

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-10 09:00:00.000000

Nothing to backfill: the tables start empty. A run's results (trades, equity, decisions) are
written together with its final status (db/backtests.py).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=30, scale=10)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'backtests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('program_id', sa.Integer(), nullable=True),
        sa.Column('prompt_id', sa.Integer(), nullable=True),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('config', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('progress', MONEY, nullable=False),
        sa.Column('steps_done', sa.Integer(), nullable=False),
        sa.Column('total_steps', sa.Integer(), nullable=False),
        sa.Column('created_at', TIME, nullable=False),
        sa.Column('started_at', TIME, nullable=True),
        sa.Column('finished_at', TIME, nullable=True),
        sa.Column('total_pnl', MONEY, nullable=True),
        sa.Column('total_trades', sa.Integer(), nullable=True),
        sa.Column('win_rate', sa.String(length=32), nullable=True),
        sa.Column('metrics', sa.JSON(), nullable=True),
        sa.Column('result_hash', sa.String(length=64), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('workflow_id', sa.String(length=64), nullable=True),
        sa.Column('checkpoint', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ['owner_id'], ['users.id'], name=op.f('fk_backtests_owner_id_users')
        ),
        sa.ForeignKeyConstraint(
            ['program_id'], ['programs.id'], name=op.f('fk_backtests_program_id_programs'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['prompt_id'], ['prompts.id'], name=op.f('fk_backtests_prompt_id_prompts'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'], name=op.f('fk_backtests_account_id_accounts'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_backtests')),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_backtests_owner', 'backtests', ['owner_id', 'id'])
    op.create_index('ix_backtests_status', 'backtests', ['status'])
    op.create_table(
        'backtest_trades',
        sa.Column('backtest_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('symbol', sa.String(length=32), nullable=False),
        sa.Column('trade', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ['backtest_id'], ['backtests.id'],
            name=op.f('fk_backtest_trades_backtest_id_backtests'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('backtest_id', 'seq', name=op.f('pk_backtest_trades')),
    )
    op.create_table(
        'backtest_equity',
        sa.Column('backtest_id', sa.Integer(), nullable=False),
        sa.Column('at_ms', sa.BigInteger(), nullable=False),
        sa.Column('equity', MONEY, nullable=False),
        sa.Column('equity_low', MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ['backtest_id'], ['backtests.id'],
            name=op.f('fk_backtest_equity_backtest_id_backtests'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('backtest_id', 'at_ms', name=op.f('pk_backtest_equity')),
    )
    op.create_table(
        'backtest_decisions',
        sa.Column('backtest_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('at_ms', sa.BigInteger(), nullable=False),
        sa.Column('operation', sa.String(length=16), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('symbol', sa.String(length=32), nullable=True),
        sa.Column('verdict_code', sa.String(length=64), nullable=True),
        sa.Column('error_code', sa.String(length=64), nullable=True),
        sa.Column('run_ms', sa.Integer(), nullable=True),
        sa.Column('reasoning', sa.Text(), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ['backtest_id'], ['backtests.id'],
            name=op.f('fk_backtest_decisions_backtest_id_backtests'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('backtest_id', 'seq', name=op.f('pk_backtest_decisions')),
    )


def downgrade() -> None:
    op.drop_table('backtest_decisions')
    op.drop_table('backtest_equity')
    op.drop_table('backtest_trades')
    op.drop_index('ix_backtests_status', table_name='backtests')
    op.drop_index('ix_backtests_owner', table_name='backtests')
    op.drop_table('backtests')
