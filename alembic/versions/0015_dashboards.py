"""dashboards: package views, daily KPI roll-up, cohorts, and the indexes the KPIs read

Revision ID: 0015_dashboards
Revises: 0014_message_report_indexes
Create Date: 2026-12-01 23:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls
from tenants.types import UTCDateTime

revision: str = '0015_dashboards'
down_revision: str | None = '0014_message_report_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ['package_view', 'kpi_daily', 'kpi_cohort', 'kpi_rollup_state']


def upgrade() -> None:
    op.create_table(
        'package_view',
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=True),
        sa.Column('viewed_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['package_id'], ['health_package.id']),
        sa.ForeignKeyConstraint(['patient_id'], ['patient.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_package_view_tenant_at', 'package_view', ['tenant_id', 'viewed_at'])
    op.create_index('ix_package_view_tenant_id', 'package_view', ['tenant_id'])
    op.create_table(
        'kpi_daily',
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.Column('metric', sa.String(length=40), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'day', 'location_id', 'metric', name='uq_kpi_daily'),
    )
    op.create_index('ix_kpi_daily_tenant_id', 'kpi_daily', ['tenant_id'])
    op.create_table(
        'kpi_cohort',
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cohort_month', sa.Date(), nullable=False),
        sa.Column('activity_month', sa.Date(), nullable=False),
        sa.Column('patients', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'cohort_month', 'activity_month', name='uq_kpi_cohort'),
    )
    op.create_index('ix_kpi_cohort_tenant_id', 'kpi_cohort', ['tenant_id'])
    op.create_table(
        'kpi_rollup_state',
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rolled_through', sa.Date(), nullable=True),
        sa.Column('rolled_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', name='uq_kpi_rollup_state'),
    )
    op.create_index('ix_kpi_rollup_state_tenant_id', 'kpi_rollup_state', ['tenant_id'])
    rls.wall_new_tables(op, TABLES, append_only=('package_view',))

    op.create_index(
        'ix_booking_confirmed', 'booking', ['tenant_id', 'confirmed_at'],
        postgresql_include=['location_id'],
    )
    op.create_index(
        'ix_booking_completed', 'booking', ['tenant_id', 'completed_at'],
        postgresql_include=['location_id', 'patient_id', 'status'],
    )
    op.create_index(
        'ix_booking_patient_completed', 'booking', ['tenant_id', 'patient_id', 'completed_at']
    )
    op.create_index(
        'ix_order_created', 'orders', ['tenant_id', 'created_at'], postgresql_include=['booking_id']
    )
    op.create_index(
        'ix_order_paid', 'orders', ['tenant_id', 'paid_at'],
        postgresql_include=['booking_id', 'paid_fen'],
    )
    op.create_index('ix_refund_created', 'refund', ['tenant_id', 'created_at'])
    op.create_index(
        'ix_points_entry_created', 'points_entry', ['tenant_id', 'created_at'],
        postgresql_include=['kind', 'points'],
    )


def downgrade() -> None:
    for table, index in (
        ('points_entry', 'ix_points_entry_created'),
        ('refund', 'ix_refund_created'),
        ('orders', 'ix_order_paid'),
        ('orders', 'ix_order_created'),
        ('booking', 'ix_booking_patient_completed'),
        ('booking', 'ix_booking_completed'),
        ('booking', 'ix_booking_confirmed'),
    ):
        op.drop_index(index, table_name=table)
    for table in reversed(TABLES):
        op.drop_table(table)
