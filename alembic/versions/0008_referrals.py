"""referrals: who referred a patient (by member card number), rewarded once (with RLS)

Revision ID: 0008_referrals
Revises: 0007_membership_policy
Create Date: 2026-12-01 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import tenants.types  # noqa: F401  (UTCDateTime in column types)
from tenants import rls
from alembic import op


revision: str = '0008_referrals'
down_revision: str | None = '0007_membership_policy'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('referral',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referrer_patient_id', sa.Integer(), nullable=False),
    sa.Column('referred_patient_id', sa.Integer(), nullable=False),
    sa.Column('created_at', tenants.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('rewarded_at', tenants.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('reversed_at', tenants.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('referrer_patient_id <> referred_patient_id', name='ck_referral_self'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.ForeignKeyConstraint(['referred_patient_id'], ['patient.id'], ),
    sa.ForeignKeyConstraint(['referrer_patient_id'], ['patient.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'referred_patient_id', name='uq_referral_referred')
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index('ix_referral_referrer', ['tenant_id', 'referrer_patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_tenant_id'), ['tenant_id'], unique=False)

    _walls()


def _walls() -> None:
    """Row-level security for the new tenant table (as 0004 does)."""
    rls.wall_new_tables(op, ["referral"])


def downgrade() -> None:
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_tenant_id'))
        batch_op.drop_index('ix_referral_referrer')

    op.drop_table('referral')
