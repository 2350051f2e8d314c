"""plans, tenant subscriptions (history, one open row per tenant) and daily tenant usage

Revision ID: 0016_plans_usage
Revises: 0015_dashboards
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import tenants.types  # noqa: F401  (UTCDateTime in column types)
from tenants import rls
from alembic import op


revision: str = '0016_plans_usage'
down_revision: str | None = '0015_dashboards'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLATFORM_TABLES = ("plan", "tenant_subscription", "tenant_usage_day")


def upgrade() -> None:
    op.create_table('plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name_zh', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('name_en', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('monthly_fen', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('created_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_code'), ['code'], unique=True)

    op.create_table('tenant_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_tenant_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('monthly_fen', sa.Integer(), nullable=False),
    sa.Column('started_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', tenants.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('end_reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('created_by_operator_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_operator_id'], ['operator.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], ),
    sa.ForeignKeyConstraint(['subject_tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tenant_subscription', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_tenant_subscription_subject_tenant_id'), ['subject_tenant_id'], unique=False
        )
        batch_op.create_index(batch_op.f('ix_tenant_subscription_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(
            'ix_tenant_subscription_started_ended', ['started_at', 'ended_at'], unique=False
        )
        batch_op.create_index(
            'uq_tenant_subscription_open',
            ['subject_tenant_id'],
            unique=True,
            sqlite_where=sa.text('ended_at IS NULL'),
            postgresql_where=sa.text('ended_at IS NULL'),
        )

    op.create_table('tenant_usage_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_tenant_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('patients', sa.Integer(), nullable=False),
    sa.Column('new_patients', sa.Integer(), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('bookings', sa.Integer(), nullable=False),
    sa.Column('updated_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subject_tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject_tenant_id', 'day', name='uq_tenant_usage_day')
    )
    with op.batch_alter_table('tenant_usage_day', schema=None) as batch_op:
        batch_op.create_index('ix_tenant_usage_day_day', ['day'], unique=False)

    rls.wall_new_tables(op, [], platform_tables=PLATFORM_TABLES)


def downgrade() -> None:
    with op.batch_alter_table('tenant_usage_day', schema=None) as batch_op:
        batch_op.drop_index('ix_tenant_usage_day_day')
    op.drop_table('tenant_usage_day')

    with op.batch_alter_table('tenant_subscription', schema=None) as batch_op:
        batch_op.drop_index('uq_tenant_subscription_open')
        batch_op.drop_index('ix_tenant_subscription_started_ended')
        batch_op.drop_index(batch_op.f('ix_tenant_subscription_plan_id'))
        batch_op.drop_index(batch_op.f('ix_tenant_subscription_subject_tenant_id'))
    op.drop_table('tenant_subscription')

    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_code'))
    op.drop_table('plan')
