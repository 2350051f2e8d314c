"""A tenant's billing account, its invoices (mirrored from Stripe) and its usage periods.

Platform tables like ``plan``: none carries ``tenant_id``; the tenant is
``subject_tenant_id``. On PostgreSQL row-level security hides them from every
transaction running inside a tenant (migration 0018), so tenant-facing services
read them in a platform session after checking the actor (docs/design/billing.md).
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tenants.models import ts_field


class Suspension(enum.StrEnum):
    """Why a tenant is suspended: unpaid bills (lifted by a payment) or an operator
    (lifted only by an operator)."""

    NONE = ""
    BILLING = "billing"
    MANUAL = "manual"


class TenantBilling(SQLModel, table=True):
    """One per tenant: its Stripe customer and subscription, the billing period we
    are in, the card on file and the dunning state."""

    __tablename__ = "tenant_billing"

    id: int | None = Field(default=None, primary_key=True)
    subject_tenant_id: int = Field(foreign_key="tenant.id", unique=True, index=True)
    billing_email: str = Field(default="", max_length=254)
    stripe_customer_id: str = Field(default="", max_length=100, index=True)
    stripe_subscription_id: str = Field(default="", max_length=100)
    stripe_plan_id: str = Field(default="", max_length=100)  # the subscription's plan
    trial_ends_at: datetime | None = ts_field(nullable=True, default_now=False)
    # The billing period the tenant is in (UTC); usage is counted per period.
    current_period_start: datetime | None = ts_field(nullable=True, default_now=False)
    current_period_end: datetime | None = ts_field(nullable=True, default_now=False)
    past_due_since: datetime | None = ts_field(nullable=True, default_now=False)
    suspension: str = Field(default=Suspension.NONE, max_length=10)
    suspension_reason: str = Field(default="", max_length=300)
    payment_method_id: str = Field(default="", max_length=100)
    card_brand: str = Field(default="", max_length=20)
    card_last4: str = Field(default="", max_length=4)
    card_exp: str = Field(default="", max_length=7)  # "MM/YYYY"
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class BillingInvoice(SQLModel, table=True):
    """A Stripe invoice of a tenant, as Stripe last told us (webhook or sync)."""

    __tablename__ = "billing_invoice"
    __table_args__ = (
        # The tenant's billing page and the console's "last invoice" read newest first.
        sa.Index("ix_billing_invoice_tenant_created", "subject_tenant_id", "stripe_created"),
    )

    id: int | None = Field(default=None, primary_key=True)
    stripe_invoice_id: str = Field(max_length=100, unique=True, index=True)
    subject_tenant_id: int = Field(foreign_key="tenant.id")
    number: str = Field(default="", max_length=60)
    status: str = Field(default="draft", max_length=20)  # draft open paid void uncollectible
    billing_reason: str = Field(default="", max_length=30)  # trial_end renewal plan_change ...
    currency: str = Field(default="cny", max_length=3)
    subtotal_fen: int = 0
    total_fen: int = 0
    amount_due_fen: int = 0
    amount_paid_fen: int = 0
    period_start: datetime | None = ts_field(nullable=True, default_now=False)
    period_end: datetime | None = ts_field(nullable=True, default_now=False)
    stripe_created: datetime = ts_field()
    paid_at: datetime | None = ts_field(nullable=True, default_now=False)
    # [{"description", "amount_fen", "quantity", "kind"}] as JSON text.
    lines_json: str = Field(default="[]", max_length=20000)
    updated_at: datetime = ts_field()


class BillingUsagePeriod(SQLModel, table=True):
    """The messages a tenant sent in one billing period and what went on the invoice.

    One row per (tenant, period start): reporting the overage twice is impossible
    (the unique constraint), and the Stripe invoice item it created is recorded.
    """

    __tablename__ = "billing_usage_period"
    __table_args__ = (
        sa.UniqueConstraint(
            "subject_tenant_id", "period_start", name="uq_billing_usage_period_start"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject_tenant_id: int = Field(foreign_key="tenant.id")
    period_start: datetime = ts_field(default_now=False)
    period_end: datetime = ts_field(default_now=False)
    plan_id: int = Field(foreign_key="plan.id")
    messages: int = 0
    messages_included: int = 0
    overage_messages: int = 0
    overage_fen: int = 0
    stripe_invoice_item_id: str = Field(default="", max_length=100)
    created_at: datetime = ts_field()
