"""dashboards: campaign numbers kept by the roll-up; demographics read from the index

Revision ID: 0017_dashboard_campaigns
Revises: 0016_plans_usage
Create Date: 2026-12-02 00:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenants.types  # noqa: F401  (UTCDateTime in column types)
from tenants import rls

revision: str = '0017_dashboard_campaigns'
down_revision: str | None = '0016_plans_usage'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'kpi_campaign',
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('sent', sa.Integer(), nullable=False),
        sa.Column('converted', sa.Integer(), nullable=False),
        sa.Column('revenue_fen', sa.Integer(), nullable=False),
        sa.Column('computed_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'campaign_id', name='uq_kpi_campaign'),
    )
    op.create_index('ix_kpi_campaign_tenant_id', 'kpi_campaign', ['tenant_id'])
    rls.wall_new_tables(op, ['kpi_campaign'])
    op.drop_index('ix_patient_tenant_created_at', table_name='patient')
    op.create_index(
        'ix_patient_tenant_created_at', 'patient', ['tenant_id', 'created_at'],
        postgresql_include=['birth_date', 'sex'],
    )


def downgrade() -> None:
    op.drop_index('ix_patient_tenant_created_at', table_name='patient')
    op.create_index('ix_patient_tenant_created_at', 'patient', ['tenant_id', 'created_at'])
    op.drop_table('kpi_campaign')
