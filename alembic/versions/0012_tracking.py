"""tracked links and tracking events (with RLS)

Revision ID: 0012_tracking
Revises: 0011_campaigns
Create Date: 2026-12-01 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import tenants.types  # noqa: F401  (UTCDateTime in column types)
from tenants import rls
from alembic import op


revision: str = '0012_tracking'
down_revision: str | None = '0011_campaigns'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tracked_link',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('created_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'code', name='uq_tracked_link_code')
    )
    with op.batch_alter_table('tracked_link', schema=None) as batch_op:
        batch_op.create_index('ix_tracked_link_message', ['tenant_id', 'message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracked_link_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('tracking_event',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['tracked_link.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tracking_event', schema=None) as batch_op:
        batch_op.create_index('ix_tracking_event_message', ['tenant_id', 'message_id', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracking_event_tenant_id'), ['tenant_id'], unique=False)

    _walls()


TENANT_TABLES = ["tracked_link", "tracking_event"]
APPEND_ONLY_TABLES = ["tracking_event"]


def _walls() -> None:
    """Row-level security for the new tenant tables (as 0009 does); the tracking
    events are append-only (INSERT / SELECT only for the app role)."""
    rls.wall_new_tables(op, TENANT_TABLES, append_only=tuple(APPEND_ONLY_TABLES))


def downgrade() -> None:
    with op.batch_alter_table('tracking_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracking_event_tenant_id'))
        batch_op.drop_index('ix_tracking_event_message')

    op.drop_table('tracking_event')
    with op.batch_alter_table('tracked_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracked_link_tenant_id'))
        batch_op.drop_index('ix_tracked_link_message')

    op.drop_table('tracked_link')
