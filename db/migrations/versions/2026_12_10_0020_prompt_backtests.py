"""prompt backtests: tasks, their items, and the LLM answer cache

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-10 09:00:00.000000

Nothing to backfill: the tables start empty.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=30, scale=10)


def upgrade() -> None:
    op.create_table(
        'prompt_backtest_tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('prompt_id', sa.Integer(), nullable=True),
        sa.Column('mode', sa.String(length=16), nullable=False),
        sa.Column('config', sa.JSON(), nullable=False),
        sa.Column('temperature', sa.Float(), nullable=False),
        sa.Column('use_cache', sa.Boolean(), nullable=False),
        sa.Column('concurrency', sa.Integer(), nullable=False),
        sa.Column('max_cost_usd', MONEY, nullable=True),
        sa.Column('status', sa.String(length=24), nullable=False),
        sa.Column('sample_count', sa.Integer(), nullable=False),
        sa.Column('completed_count', sa.Integer(), nullable=False),
        sa.Column('failed_count', sa.Integer(), nullable=False),
        sa.Column('cached_count', sa.Integer(), nullable=False),
        sa.Column('spent_cost_usd', MONEY, nullable=False),
        sa.Column('estimate', sa.JSON(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('checkpoint', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('workflow_id', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ['owner_id'], ['users.id'], name=op.f('fk_prompt_backtest_tasks_owner_id_users')
        ),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'],
            name=op.f('fk_prompt_backtest_tasks_account_id_accounts'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_prompt_backtest_tasks')),
        sqlite_autoincrement=True,
    )
    op.create_index(
        'ix_prompt_backtest_tasks_owner', 'prompt_backtest_tasks', ['owner_id', 'id']
    )
    op.create_table(
        'prompt_backtest_items',
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('ts', sa.BigInteger(), nullable=True),
        sa.Column('source_decision_id', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('prompt_hash', sa.String(length=64), nullable=True),
        sa.Column('original', sa.JSON(), nullable=True),
        sa.Column('decision', sa.JSON(), nullable=True),
        sa.Column('usage', sa.JSON(), nullable=True),
        sa.Column('cost', MONEY, nullable=True),
        sa.Column('cached', sa.Boolean(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['task_id'], ['prompt_backtest_tasks.id'],
            name=op.f('fk_prompt_backtest_items_task_id_prompt_backtest_tasks'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('task_id', 'seq', name=op.f('pk_prompt_backtest_items')),
    )
    op.create_table(
        'llm_cache',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('model', sa.String(length=200), nullable=False),
        sa.Column('response', sa.JSON(), nullable=False),
        sa.Column('usage', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_llm_cache')),
    )


def downgrade() -> None:
    op.drop_table('llm_cache')
    op.drop_table('prompt_backtest_items')
    op.drop_index('ix_prompt_backtest_tasks_owner', table_name='prompt_backtest_tasks')
    op.drop_table('prompt_backtest_tasks')
