"""Hand-placed rows for the KPI tests: every timestamp chosen so the expected
numbers can be worked out by hand (see test_tenant_kpis.py)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from prm_saas.accounts.models import Patient, Sex
from prm_saas.booking.models import Booking, BookingStatus, Location, Slot
from prm_saas.dashboards.models import PackageView
from prm_saas.mall.models import HealthPackage
from prm_saas.membership.models import EntryKind, PointsEntry
from prm_saas.orders.models import Order, OrderStatus, Payment, PaymentMethod, Refund
from tenants.db import TenantSession

_seq = itertools.count(1)


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    """A UTC instant."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=UTC)


def location(s: TenantSession, name: str) -> int:
    loc = Location(name_zh=name, name_en=f"{name}-en")
    s.add(loc)
    s.flush()
    return int(loc.id or 0)


def package(s: TenantSession) -> int:
    n = next(_seq)
    pkg = HealthPackage(code=f"P{n}", name_zh=f"套餐{n}", sale_price_fen=50000, published=True)
    s.add(pkg)
    s.flush()
    return int(pkg.id or 0)


def patient(
    s: TenantSession,
    *,
    sex: Sex = Sex.UNKNOWN,
    birth_date: date | None = None,
    created_at: datetime | None = None,
) -> int:
    """A patient registered on 1 October 2026 unless ``created_at`` says otherwise."""
    n = next(_seq)
    p = Patient(name=f"客户{n}", phone=f"139{n:08d}", sex=sex, birth_date=birth_date)
    p.created_at = created_at or utc(2026, 10, 1)
    s.add(p)
    s.flush()
    return int(p.id or 0)


def slot(s: TenantSession, location_id: int, day: date, capacity: int, booked: int) -> int:
    start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC) + timedelta(minutes=next(_seq))
    row = Slot(
        location_id=location_id,
        day=day,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        capacity=capacity,
        booked=booked,
    )
    s.add(row)
    s.flush()
    return int(row.id or 0)


def booking(
    s: TenantSession,
    *,
    patient_id: int,
    package_id: int,
    location_id: int,
    slot_id: int,
    status: BookingStatus,
    confirmed_at: datetime | None,
    completed_at: datetime | None = None,
    cancelled_at: datetime | None = None,
) -> int:
    n = next(_seq)
    b = Booking(
        patient_id=patient_id,
        package_id=package_id,
        location_id=location_id,
        slot_id=slot_id,
        status=status,
        idempotency_key=f"k{n}",
        checkin_code=f"c{n}",
        ics_uid=f"u{n}",
        confirmed_at=confirmed_at,
        completed_at=completed_at,
        cancelled_at=cancelled_at,
        created_at=confirmed_at or utc(2026, 11, 1),
    )
    s.add(b)
    s.flush()
    return int(b.id or 0)


def order(
    s: TenantSession,
    *,
    patient_id: int,
    booking_id: int | None,
    created_at: datetime,
    paid_at: datetime | None = None,
    paid_fen: int = 0,
    refunds: tuple[tuple[datetime, int, str], ...] = (),
) -> int:
    n = next(_seq)
    refunded = sum(a for _at, a, st in refunds if st in ("succeeded", "pending"))
    status = OrderStatus.PENDING_PAYMENT
    if paid_at is not None:
        status = (
            OrderStatus.REFUNDED
            if refunded >= paid_fen
            else OrderStatus.PARTIALLY_REFUNDED
            if refunded
            else OrderStatus.PAID
        )
    o = Order(
        number=f"N{n}",
        patient_id=patient_id,
        booking_id=booking_id,
        status=status,
        total_fen=max(paid_fen, 1000),
        paid_fen=paid_fen,
        refunded_fen=refunded,
        idempotency_key=f"o{n}",
        created_at=created_at,
        paid_at=paid_at,
    )
    s.add(o)
    s.flush()
    if paid_at is not None:
        pay = Payment(
            order_id=o.id or 0,
            method=PaymentMethod.STRIPE,
            provider_ref=f"pi_{n}",
            status="succeeded",
            amount_fen=paid_fen,
            created_at=paid_at,
        )
        s.add(pay)
        s.flush()
        for at, amount, st in refunds:
            s.add(
                Refund(
                    order_id=o.id or 0,
                    payment_id=pay.id or 0,
                    amount_fen=amount,
                    status=st,
                    idempotency_key=f"r{next(_seq)}",
                    created_at=at,
                )
            )
        s.flush()
    return int(o.id or 0)


def view(s: TenantSession, package_id: int, at: datetime) -> None:
    s.add(PackageView(package_id=package_id, viewed_at=at))
    s.flush()


def points(s: TenantSession, patient_id: int, kind: EntryKind, amount: int, at: datetime) -> None:
    s.add(
        PointsEntry(
            patient_id=patient_id,
            kind=kind,
            points=amount,
            idempotency_key=f"p{next(_seq)}",
            created_at=at,
        )
    )
    s.flush()
