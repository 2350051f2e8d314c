"""Plans, tenants' subscriptions to them, and each tenant's daily usage.

Platform tables: none carries ``tenant_id`` (which would put them behind the
tenant wall); the tenant they describe is ``subject_tenant_id``, as in
``StripeEvent``. On PostgreSQL row-level security hides them from any
transaction running inside a tenant (migration 0016).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tenants.models import ts_field

# At most one open subscription per tenant, checked by the database: a partial
# unique index (PostgreSQL and SQLite both have them).
OPEN_SUBSCRIPTION_INDEX = "uq_tenant_subscription_open"


class Plan(SQLModel, table=True):
    """A price list entry operators sell (Basic, Pro, Enterprise ...).

    A price change applies to subscriptions opened afterwards (each subscription
    keeps its own price). Limits: None = unlimited. Messages up to
    ``messages_included`` a billing month are in the price; each one beyond is
    billed at ``message_overage_fen`` on the period's invoice; ``messages_cap``
    (None = no cap) is where sending stops. ``stripe_plan_id`` names the Stripe
    Plan of this price (a Stripe Plan's amount cannot change: a new price gets a
    new Stripe Plan, see docs/design/billing.md).
    """

    __tablename__ = "plan"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    name_zh: str = Field(max_length=60)
    name_en: str = Field(max_length=60)
    monthly_fen: int
    active: bool = True
    sort_order: int = 0
    max_staff: int | None = None  # staff seats (active + invited accounts)
    max_locations: int | None = None
    max_active_patients: int | None = None  # patients not archived / deleted
    messages_included: int = 0  # per billing period (month)
    message_overage_fen: int = 0  # price of each message beyond the allowance
    messages_cap: int | None = None  # hard stop per billing period
    trial_days: int = 14  # trial length for a self-serve sign-up on this plan
    stripe_plan_id: str = Field(default="", max_length=100)
    created_at: datetime = ts_field()


class TenantSubscription(SQLModel, table=True):
    """One stretch of a tenant on one plan; the rows of a tenant are its history.

    A plan change closes the open row and opens the next at the same instant
    (``ended_at`` of the one == ``started_at`` of the other); a row that ends
    with no successor is a churn.
    """

    __tablename__ = "tenant_subscription"
    __table_args__ = (
        sa.Index(
            OPEN_SUBSCRIPTION_INDEX,
            "subject_tenant_id",
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
        # MRR and churn read the rows open at an instant or ended in a month.
        sa.Index("ix_tenant_subscription_started_ended", "started_at", "ended_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject_tenant_id: int = Field(foreign_key="tenant.id", index=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    monthly_fen: int  # the plan's price when the row was opened
    started_at: datetime = ts_field()
    ended_at: datetime | None = ts_field(nullable=True, default_now=False)
    reason: str = Field(default="", max_length=300)  # why it was opened
    end_reason: str = Field(default="", max_length=300)  # why it was closed
    created_by_operator_id: int | None = Field(default=None, foreign_key="operator.id")


class TenantUsageDay(SQLModel, table=True):
    """What one tenant used on one UTC day, written after the tenant's KPI roll-up."""

    __tablename__ = "tenant_usage_day"
    __table_args__ = (
        sa.UniqueConstraint("subject_tenant_id", "day", name="uq_tenant_usage_day"),
        # The platform dashboard reads every tenant's rows in a range of days.
        sa.Index("ix_tenant_usage_day_day", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject_tenant_id: int = Field(foreign_key="tenant.id")
    day: date
    patients: int = 0  # registered at the end of the day
    new_patients: int = 0
    messages: int = 0  # sent that day
    bookings: int = 0  # confirmed that day
    updated_at: datetime = ts_field()
