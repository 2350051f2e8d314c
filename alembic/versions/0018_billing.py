"""billing: plan limits and Stripe plan, tenant billing accounts, invoices, usage periods

Revision ID: 0018_billing
Revises: 0017_dashboard_campaigns
Create Date: 2026-12-02 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import tenants.types  # noqa: F401  (UTCDateTime in column types)
from tenants import rls
from alembic import op


revision: str = '0018_billing'
down_revision: str | None = '0017_dashboard_campaigns'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLATFORM_TABLES = ("tenant_billing", "billing_invoice", "billing_usage_period")
TS = tenants.types.UTCDateTime(timezone=True)


def _str(n: int) -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_staff', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('max_locations', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('max_active_patients', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('messages_included', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(
            sa.Column('message_overage_fen', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(sa.Column('messages_cap', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('trial_days', sa.Integer(), nullable=False, server_default='14')
        )
        batch_op.add_column(
            sa.Column('stripe_plan_id', _str(100), nullable=False, server_default='')
        )

    op.create_table('tenant_billing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_tenant_id', sa.Integer(), nullable=False),
    sa.Column('billing_email', _str(254), nullable=False),
    sa.Column('stripe_customer_id', _str(100), nullable=False),
    sa.Column('stripe_subscription_id', _str(100), nullable=False),
    sa.Column('stripe_plan_id', _str(100), nullable=False),
    sa.Column('trial_ends_at', TS, nullable=True),
    sa.Column('current_period_start', TS, nullable=True),
    sa.Column('current_period_end', TS, nullable=True),
    sa.Column('past_due_since', TS, nullable=True),
    sa.Column('suspension', _str(10), nullable=False),
    sa.Column('suspension_reason', _str(300), nullable=False),
    sa.Column('payment_method_id', _str(100), nullable=False),
    sa.Column('card_brand', _str(20), nullable=False),
    sa.Column('card_last4', _str(4), nullable=False),
    sa.Column('card_exp', _str(7), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['subject_tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tenant_billing', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_tenant_billing_subject_tenant_id'), ['subject_tenant_id'], unique=True
        )
        batch_op.create_index(
            batch_op.f('ix_tenant_billing_stripe_customer_id'), ['stripe_customer_id'], unique=False
        )

    op.create_table('billing_invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stripe_invoice_id', _str(100), nullable=False),
    sa.Column('subject_tenant_id', sa.Integer(), nullable=False),
    sa.Column('number', _str(60), nullable=False),
    sa.Column('status', _str(20), nullable=False),
    sa.Column('billing_reason', _str(30), nullable=False),
    sa.Column('currency', _str(3), nullable=False),
    sa.Column('subtotal_fen', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.Integer(), nullable=False),
    sa.Column('amount_due_fen', sa.Integer(), nullable=False),
    sa.Column('amount_paid_fen', sa.Integer(), nullable=False),
    sa.Column('period_start', TS, nullable=True),
    sa.Column('period_end', TS, nullable=True),
    sa.Column('stripe_created', TS, nullable=False),
    sa.Column('paid_at', TS, nullable=True),
    sa.Column('lines_json', _str(20000), nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['subject_tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('billing_invoice', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_billing_invoice_stripe_invoice_id'), ['stripe_invoice_id'], unique=True
        )
        batch_op.create_index(
            'ix_billing_invoice_tenant_created', ['subject_tenant_id', 'stripe_created'], unique=False
        )

    op.create_table('billing_usage_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_tenant_id', sa.Integer(), nullable=False),
    sa.Column('period_start', TS, nullable=False),
    sa.Column('period_end', TS, nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('messages_included', sa.Integer(), nullable=False),
    sa.Column('overage_messages', sa.Integer(), nullable=False),
    sa.Column('overage_fen', sa.Integer(), nullable=False),
    sa.Column('stripe_invoice_item_id', _str(100), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], ),
    sa.ForeignKeyConstraint(['subject_tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject_tenant_id', 'period_start', name='uq_billing_usage_period_start')
    )

    rls.wall_new_tables(op, [], platform_tables=PLATFORM_TABLES)


def downgrade() -> None:
    op.drop_table('billing_usage_period')
    with op.batch_alter_table('billing_invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_invoice_tenant_created')
        batch_op.drop_index(batch_op.f('ix_billing_invoice_stripe_invoice_id'))
    op.drop_table('billing_invoice')
    with op.batch_alter_table('tenant_billing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tenant_billing_stripe_customer_id'))
        batch_op.drop_index(batch_op.f('ix_tenant_billing_subject_tenant_id'))
    op.drop_table('tenant_billing')
    with op.batch_alter_table('plan', schema=None) as batch_op:
        for name in (
            'stripe_plan_id', 'trial_days', 'messages_cap', 'message_overage_fen',
            'messages_included', 'max_active_patients', 'max_locations', 'max_staff',
        ):
            batch_op.drop_column(name)
