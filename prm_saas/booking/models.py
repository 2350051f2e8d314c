"""Locations, schedules, slots with capacity, scarce resources, bookings and the
waitlist (体检预约).

Capacity is enforced in the database, the same way on PostgreSQL and SQLite:
a booking takes a seat with ``UPDATE slot SET booked = booked + 1 WHERE id = :id
AND booked < capacity`` (and likewise a unit of each scarce resource for its
day); a row count of 0 means full. No read-then-write race is possible.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from tenants.models import TenantScoped, ts_field


class Location(TenantScoped, table=True):
    """A place where checkups happen (a branch of the clinic or center)."""

    id: int | None = Field(default=None, primary_key=True)
    name_zh: str = Field(max_length=80)
    name_en: str = Field(default="", max_length=80)
    address: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=30)
    # Booking window: from min_days_ahead to max_days_ahead days after today (local).
    min_days_ahead: int = 1
    max_days_ahead: int = 30
    # With min_days_ahead = 0, same-day slots can be booked until this local time.
    same_day_cutoff: str = Field(default="", max_length=5)  # "HH:MM" or ""
    active: bool = True
    created_at: datetime = ts_field()


class LocationHours(TenantScoped, table=True):
    """A weekly opening block cut into slots: e.g. Monday 07:30-11:30, 30-minute
    slots of 40 seats. A weekday without a block is closed."""

    __tablename__ = "location_hours"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_hours_weekday"),
        sa.CheckConstraint("slot_minutes > 0 AND capacity >= 0", name="ck_hours_slots"),
    )

    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    weekday: int  # 0 = Monday
    start: str = Field(max_length=5)  # local "HH:MM"
    end: str = Field(max_length=5)
    slot_minutes: int = 30
    capacity: int = 40


class Closure(TenantScoped, table=True):
    """A day a location is closed (a public holiday, maintenance)."""

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "location_id", "day", name="uq_closure_day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    day: date
    reason: str = Field(default="", max_length=120)


class Resource(TenantScoped, table=True):
    """A scarce resource at a location with a daily limit (CT: 20 a day)."""

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "location_id", "key", name="uq_resource_key"),
        sa.CheckConstraint("daily_limit >= 0", name="ck_resource_limit"),
    )

    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    key: str = Field(max_length=30)  # matches ExamItem.resource_key
    name_zh: str = Field(max_length=60)
    name_en: str = Field(default="", max_length=60)
    daily_limit: int = 0


class Slot(TenantScoped, table=True):
    """One bookable time slot; ``booked`` counts held and confirmed seats."""

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "location_id", "starts_at", name="uq_slot_start"),
        sa.CheckConstraint("booked >= 0", name="ck_slot_booked"),
        sa.Index("ix_slot_location_day", "tenant_id", "location_id", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id")
    day: date  # local date at the location's tenant time zone
    starts_at: datetime = ts_field(default_now=False)
    ends_at: datetime = ts_field(default_now=False)
    capacity: int
    booked: int = 0


class ResourceDay(TenantScoped, table=True):
    """Units of a resource used on one day (created when first needed)."""

    __tablename__ = "resource_day"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "resource_id", "day", name="uq_resource_day"),
        sa.CheckConstraint("used >= 0", name="ck_resource_used"),
    )

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="resource.id")
    day: date
    daily_limit: int
    used: int = 0


class BookingStatus(enum.StrEnum):
    """A booking's life. ``held`` keeps its seat until ``hold_expires_at``."""

    HELD = "held"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# Statuses that occupy a seat.
SEATED = frozenset(
    {
        BookingStatus.HELD,
        BookingStatus.CONFIRMED,
        BookingStatus.CHECKED_IN,
        BookingStatus.COMPLETED,
        BookingStatus.NO_SHOW,
    }
)


class Booking(TenantScoped, table=True):
    """A patient's appointment for a package in a slot."""

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_booking_idem"),
        sa.UniqueConstraint("tenant_id", "checkin_code", name="uq_booking_checkin"),
        sa.Index("ix_booking_patient", "tenant_id", "patient_id", "created_at"),
        sa.Index("ix_booking_slot", "tenant_id", "slot_id", "status"),
        # Dashboards: bookings per confirmation day, visits per completion day
        # (index-only on PostgreSQL), and a patient's earlier visits (first visit).
        sa.Index(
            "ix_booking_confirmed",
            "tenant_id",
            "confirmed_at",
            postgresql_include=["location_id"],
        ),
        sa.Index(
            "ix_booking_completed",
            "tenant_id",
            "completed_at",
            postgresql_include=["location_id", "patient_id", "status"],
        ),
        sa.Index("ix_booking_patient_completed", "tenant_id", "patient_id", "completed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    package_id: int = Field(foreign_key="health_package.id")
    location_id: int = Field(foreign_key="location.id")
    slot_id: int = Field(foreign_key="slot.id")
    status: BookingStatus = Field(default=BookingStatus.HELD, sa_type=sa.String(12))
    hold_expires_at: datetime | None = ts_field(nullable=True, default_now=False)
    idempotency_key: str = Field(max_length=100)
    checkin_code: str = Field(max_length=32)  # shown as a QR code; unguessable
    addon_item_ids: str = Field(default="[]", max_length=500)  # JSON list of ExamItem ids
    ics_uid: str = Field(max_length=120)  # stable across reschedules
    ics_sequence: int = 0  # +1 on every change (RFC 5545)
    walk_in: bool = False
    created_by_staff_id: int | None = Field(default=None, foreign_key="staff_member.id")
    override_reason: str = Field(default="", max_length=300)  # staff exceeded capacity
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()
    confirmed_at: datetime | None = ts_field(nullable=True, default_now=False)
    checked_in_at: datetime | None = ts_field(nullable=True, default_now=False)
    completed_at: datetime | None = ts_field(nullable=True, default_now=False)
    cancelled_at: datetime | None = ts_field(nullable=True, default_now=False)


class BookingResource(TenantScoped, table=True):
    """A resource unit a booking took on its day (released if it is cancelled)."""

    __tablename__ = "booking_resource"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "booking_id", "resource_day_id", name="uq_booking_res"),
    )

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="booking.id", index=True)
    resource_day_id: int = Field(foreign_key="resource_day.id")


class WaitlistStatus(enum.StrEnum):
    """A waitlist entry's life."""

    WAITING = "waiting"
    OFFERED = "offered"  # a held booking was made for them; they must pay/confirm in time
    BOOKED = "booked"
    LAPSED = "lapsed"
    CANCELLED = "cancelled"


class WaitlistEntry(TenantScoped, table=True):
    """A patient waiting for a seat in a full slot, first come first served."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (sa.Index("ix_waitlist_slot", "tenant_id", "slot_id", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    slot_id: int = Field(foreign_key="slot.id")
    patient_id: int = Field(foreign_key="patient.id")
    package_id: int = Field(foreign_key="health_package.id")
    addon_item_ids: str = Field(default="[]", max_length=500)
    status: WaitlistStatus = Field(default=WaitlistStatus.WAITING, sa_type=sa.String(10))
    booking_id: int | None = Field(default=None, foreign_key="booking.id")
    offer_expires_at: datetime | None = ts_field(nullable=True, default_now=False)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class BookingSettings(TenantScoped, table=True):
    """A tenant's booking policy (defaults apply when there is no row)."""

    __tablename__ = "booking_settings"
    __table_args__ = (sa.UniqueConstraint("tenant_id", name="uq_booking_settings"),)

    id: int | None = Field(default=None, primary_key=True)
    hold_minutes: int = 15  # an unpaid online order keeps its seat this long
    waitlist_offer_minutes: int = 30  # a waitlisted patient's turn lasts this long
    cancel_cutoff_hours: int = 24  # no patient cancel/reschedule closer than this
    full_refund_hours: int = 48  # cancelled at least this early: full refund
    late_refund_percent: int = 50  # between the cutoffs: this share is refunded
    allow_pay_at_clinic: bool = True
    updated_at: datetime = ts_field()
