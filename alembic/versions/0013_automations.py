"""automations and enrollments (with RLS)

Revision ID: 0013_automations
Revises: 0012_tracking
Create Date: 2026-12-01 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import tenants.types  # noqa: F401  (UTCDateTime in column types)
from tenants import rls
from alembic import op


revision: str = '0013_automations'
down_revision: str | None = '0012_tracking'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('automation',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('trigger', sa.String(length=24), nullable=False),
    sa.Column('trigger_params', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('builtin', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('created_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'builtin', name='uq_automation_builtin')
    )
    with op.batch_alter_table('automation', schema=None) as batch_op:
        batch_op.create_index('ix_automation_trigger', ['tenant_id', 'trigger', 'active'], unique=False)
        batch_op.create_index(batch_op.f('ix_automation_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('automation_version',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('automation_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('steps', sqlmodel.sql.sqltypes.AutoString(length=20000), nullable=False),
    sa.Column('created_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['automation_id'], ['automation.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'automation_id', 'version', name='uq_automation_version')
    )
    with op.batch_alter_table('automation_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_automation_version_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('automation_enrollment',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('automation_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('occurrence', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('step_index', sa.Integer(), nullable=False),
    sa.Column('next_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('exit_reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('entered_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', tenants.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['automation_id'], ['automation.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'automation_id', 'patient_id', 'occurrence', name='uq_enrollment')
    )
    with op.batch_alter_table('automation_enrollment', schema=None) as batch_op:
        batch_op.create_index('ix_enrollment_due', ['tenant_id', 'status', 'next_at'], unique=False)
        batch_op.create_index('ix_enrollment_automation', ['tenant_id', 'automation_id', 'version'], unique=False)
        batch_op.create_index(batch_op.f('ix_automation_enrollment_tenant_id'), ['tenant_id'], unique=False)

    _walls()


TENANT_TABLES = ["automation", "automation_version", "automation_enrollment"]


def _walls() -> None:
    """Row-level security for the new tenant tables (as 0009 does)."""
    rls.wall_new_tables(op, TENANT_TABLES)


def downgrade() -> None:
    with op.batch_alter_table('automation_enrollment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_automation_enrollment_tenant_id'))
        batch_op.drop_index('ix_enrollment_automation')
        batch_op.drop_index('ix_enrollment_due')

    op.drop_table('automation_enrollment')
    with op.batch_alter_table('automation_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_automation_version_tenant_id'))

    op.drop_table('automation_version')
    with op.batch_alter_table('automation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_automation_tenant_id'))
        batch_op.drop_index('ix_automation_trigger')

    op.drop_table('automation')
