"""Orders, their lines, payments (Stripe PaymentIntents or pay at the clinic),
refunds, and the Stripe webhook events received. Money is integer fen."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tenants.models import TenantScoped, ts_field


class OrderStatus(enum.StrEnum):
    """An order's life."""

    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class PaymentMethod(enum.StrEnum):
    """How the patient pays."""

    STRIPE = "stripe"
    CLINIC = "clinic"  # pay at the front desk on the day


class Order(TenantScoped, table=True):
    """What a patient buys: a package (and add-ons) for one booking."""

    __tablename__ = "orders"  # "order" is an SQL keyword
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_order_idem"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_order_number"),
        sa.CheckConstraint(
            "total_fen >= 0 AND paid_fen >= 0 AND refunded_fen >= 0 AND refunded_fen <= paid_fen",
            name="ck_order_money",
        ),
        sa.Index("ix_order_patient", "tenant_id", "patient_id", "created_at"),
        # Dashboards: orders per creation day and per payment day.
        sa.Index("ix_order_created", "tenant_id", "created_at", postgresql_include=["booking_id"]),
        sa.Index(
            "ix_order_paid", "tenant_id", "paid_at", postgresql_include=["booking_id", "paid_fen"]
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=30)  # shown to people: 20261124-000123
    patient_id: int = Field(foreign_key="patient.id")
    booking_id: int | None = Field(default=None, foreign_key="booking.id", index=True)
    status: OrderStatus = Field(default=OrderStatus.PENDING_PAYMENT, sa_type=sa.String(20))
    payment_method: PaymentMethod = Field(default=PaymentMethod.STRIPE, sa_type=sa.String(10))
    currency: str = Field(default="CNY", max_length=3)
    total_fen: int = 0
    paid_fen: int = 0
    refunded_fen: int = 0
    idempotency_key: str = Field(max_length=100)
    expires_at: datetime | None = ts_field(nullable=True, default_now=False)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()
    paid_at: datetime | None = ts_field(nullable=True, default_now=False)


class OrderLine(TenantScoped, table=True):
    """One line of an order, priced when the order was made."""

    __tablename__ = "order_line"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    kind: str = Field(max_length=10)  # package, addon
    ref_id: int  # HealthPackage.id or ExamItem.id
    name: str = Field(max_length=120)
    unit_price_fen: int
    quantity: int = 1
    amount_fen: int


class Payment(TenantScoped, table=True):
    """A Stripe PaymentIntent (or a front-desk payment) for an order."""

    __table_args__ = (sa.UniqueConstraint("provider_ref", name="uq_payment_provider_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    method: PaymentMethod = Field(sa_type=sa.String(10))
    provider_ref: str = Field(max_length=100)  # pi_... or "clinic:<order id>"
    status: str = Field(max_length=30)  # Stripe's PaymentIntent status, or "succeeded"
    amount_fen: int
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class Refund(TenantScoped, table=True):
    """Money given back, once per idempotency key."""

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_refund_idem"),
        sa.CheckConstraint("amount_fen > 0", name="ck_refund_amount"),
        sa.Index("ix_refund_created", "tenant_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    payment_id: int = Field(foreign_key="payment.id")
    provider_ref: str = Field(default="", max_length=100)  # re_...
    amount_fen: int
    reason: str = Field(default="", max_length=200)
    status: str = Field(default="pending", max_length=20)
    idempotency_key: str = Field(max_length=100)
    created_at: datetime = ts_field()


class StripeEvent(SQLModel, table=True):
    """A Stripe webhook event, stored once per event id before it is applied.

    Platform-level: the event names the PaymentIntent, whose metadata (set by us
    when we created it) names the tenant; that is how the handler finds it.
    """

    __tablename__ = "stripe_event"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=100, unique=True, index=True)
    type: str = Field(max_length=60)
    created: int  # Stripe's event timestamp (seconds)
    subject_tenant_id: int | None = Field(default=None, foreign_key="tenant.id")
    payload: str = Field(max_length=20000)
    received_at: datetime = ts_field()
    processed_at: datetime | None = ts_field(nullable=True, default_now=False)
