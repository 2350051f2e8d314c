"""tags: tags, patient tags, tag rules and the append-only tag history (with RLS)

Revision ID: 0009_tags
Revises: 0008_referrals
Create Date: 2026-12-01 17:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import tenants.types  # noqa: F401  (UTCDateTime in column types)
from tenants import rls
from alembic import op


revision: str = '0009_tags'
down_revision: str | None = '0008_referrals'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tag',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('color', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('created_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'name', name='uq_tag_name')
    )
    with op.batch_alter_table('tag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tag_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('tag_rule',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.Column('conditions', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('evaluated_at', tenants.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('created_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tag_id'], ['tag.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'tag_id', name='uq_tag_rule_tag')
    )
    with op.batch_alter_table('tag_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tag_rule_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('patient_tag',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('added_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('added_by_staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['added_by_staff_id'], ['staff_member.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.ForeignKeyConstraint(['rule_id'], ['tag_rule.id'], ),
    sa.ForeignKeyConstraint(['tag_id'], ['tag.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'patient_id', 'tag_id', name='uq_patient_tag')
    )
    with op.batch_alter_table('patient_tag', schema=None) as batch_op:
        batch_op.create_index('ix_patient_tag_tag', ['tenant_id', 'tag_id', 'patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patient_tag_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('tag_event',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.ForeignKeyConstraint(['rule_id'], ['tag_rule.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id'], ),
    sa.ForeignKeyConstraint(['tag_id'], ['tag.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tag_event', schema=None) as batch_op:
        batch_op.create_index('ix_tag_event_patient', ['tenant_id', 'patient_id', 'id'], unique=False)
        batch_op.create_index('ix_tag_event_tag', ['tenant_id', 'tag_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tag_event_tenant_id'), ['tenant_id'], unique=False)

    _walls()


TENANT_TABLES = ["tag", "tag_rule", "patient_tag", "tag_event"]
APPEND_ONLY_TABLES = ["tag_event"]


def _walls() -> None:
    """Row-level security for the new tenant tables (as 0004 does); the tag history
    is append-only (INSERT / SELECT only for the app role)."""
    rls.wall_new_tables(op, TENANT_TABLES, append_only=tuple(APPEND_ONLY_TABLES))


def downgrade() -> None:
    with op.batch_alter_table('tag_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tag_event_tenant_id'))
        batch_op.drop_index('ix_tag_event_tag')
        batch_op.drop_index('ix_tag_event_patient')

    op.drop_table('tag_event')
    with op.batch_alter_table('patient_tag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_tag_tenant_id'))
        batch_op.drop_index('ix_patient_tag_tag')

    op.drop_table('patient_tag')
    with op.batch_alter_table('tag_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tag_rule_tenant_id'))

    op.drop_table('tag_rule')
    with op.batch_alter_table('tag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tag_tenant_id'))

    op.drop_table('tag')
