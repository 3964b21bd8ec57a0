"""manual orders: an order's type, limit price, time in force, base-unit size and name

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-09 12:00:00.000000

Every order recorded before this revision was a market order sized in USD: `order_type` is
`market` for them (the column's server default), the other columns are empty.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=30, scale=10)
COLUMNS = ('name', 'size_base', 'time_in_force', 'limit_price', 'order_type')


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('order_type', sa.String(length=16), nullable=False, server_default='market')
        )
        batch_op.add_column(sa.Column('limit_price', MONEY, nullable=True))
        batch_op.add_column(sa.Column('time_in_force', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('size_base', MONEY, nullable=True))
        batch_op.add_column(sa.Column('name', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.drop_column(column)
