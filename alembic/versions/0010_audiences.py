"""audiences and custom message content (with RLS)

Revision ID: 0010_audiences
Revises: 0009_tags
Create Date: 2026-12-01 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import tenants.types  # noqa: F401  (UTCDateTime in column types)
from tenants import rls
from alembic import op


revision: str = '0010_audiences'
down_revision: str | None = '0009_tags'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ["audience", "message_content"]


def upgrade() -> None:
    op.create_table('audience',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('expression', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('filters', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('created_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff_member.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'name', name='uq_audience_name')
    )
    with op.batch_alter_table('audience', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audience_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('message_content',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=8000), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('updated_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message_content', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_content_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_message_content_owner', ['tenant_id', 'owner'], unique=False)

    rls.wall_new_tables(op, TENANT_TABLES)


def downgrade() -> None:
    with op.batch_alter_table('message_content', schema=None) as batch_op:
        batch_op.drop_index('ix_message_content_owner')
        batch_op.drop_index(batch_op.f('ix_message_content_tenant_id'))

    op.drop_table('message_content')
    with op.batch_alter_table('audience', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audience_tenant_id'))

    op.drop_table('audience')
