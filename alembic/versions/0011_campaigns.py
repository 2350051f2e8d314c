"""campaigns, variants, runs and recipients (with RLS)

Revision ID: 0011_campaigns
Revises: 0010_audiences
Create Date: 2026-12-01 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import tenants.types  # noqa: F401  (UTCDateTime in column types)
from tenants import rls
from alembic import op


revision: str = '0011_campaigns'
down_revision: str | None = '0010_audiences'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ["campaign", "campaign_variant", "campaign_run", "campaign_recipient"]


def upgrade() -> None:
    op.create_table('campaign',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('audience_id', sa.Integer(), nullable=False),
    sa.Column('channels', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('link', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('send_at', tenants.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recurrence', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('month_day', sa.Integer(), nullable=False),
    sa.Column('at_time', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('next_run_at', tenants.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('per_minute', sa.Integer(), nullable=False),
    sa.Column('daily_cap', sa.Integer(), nullable=False),
    sa.Column('quiet_start', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('quiet_end', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('ab_split', sa.Integer(), nullable=False),
    sa.Column('attribution_days', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('created_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['audience_id'], ['audience.id'], ),
    sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff_member.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_due', ['tenant_id', 'status', 'next_run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('campaign_variant',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('variant', sa.String(length=1), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('content_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.ForeignKeyConstraint(['content_id'], ['message_content.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'campaign_id', 'variant', 'channel', name='uq_campaign_variant')
    )
    with op.batch_alter_table('campaign_variant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_variant_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('campaign_run',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('occurrence', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('scheduled_for', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', tenants.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'campaign_id', 'occurrence', name='uq_campaign_run')
    )
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_run_status', ['tenant_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_run_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('campaign_recipient',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('variant', sa.String(length=1), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('released_at', tenants.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['campaign_run.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'run_id', 'patient_id', 'channel', name='uq_campaign_recipient')
    )
    with op.batch_alter_table('campaign_recipient', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_recipient_released', ['tenant_id', 'campaign_id', 'released_at'], unique=False)
        batch_op.create_index('ix_campaign_recipient_run', ['tenant_id', 'run_id', 'status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_recipient_tenant_id'), ['tenant_id'], unique=False)

    _walls()


def _walls() -> None:
    """Row-level security for the new tenant tables (as 0009 does)."""
    rls.wall_new_tables(op, TENANT_TABLES)


def downgrade() -> None:
    with op.batch_alter_table('campaign_recipient', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_recipient_tenant_id'))
        batch_op.drop_index('ix_campaign_recipient_run')
        batch_op.drop_index('ix_campaign_recipient_released')

    op.drop_table('campaign_recipient')
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_run_tenant_id'))
        batch_op.drop_index('ix_campaign_run_status')

    op.drop_table('campaign_run')
    with op.batch_alter_table('campaign_variant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_variant_tenant_id'))

    op.drop_table('campaign_variant')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_tenant_id'))
        batch_op.drop_index('ix_campaign_due')

    op.drop_table('campaign')
