"""Five months of history for a demo tenant, so its dashboard has something to
show: past appointments at every location (completed, cancelled, no-shows),
their orders and payments with a few refunds, and package views. Written as
rows (the bookings are in the past; no service books into yesterday)."""

from __future__ import annotations

import random
import secrets
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from prm_saas.accounts.auth import patient_principal
from prm_saas.accounts.models import Patient, Sex
from prm_saas.booking.models import Booking, BookingStatus, Location, Slot
from prm_saas.dashboards.models import PackageView
from prm_saas.dashboards.rollup import local_today, tenant_zone
from prm_saas.mall.models import HealthPackage
from prm_saas.membership.cards import issue_card
from prm_saas.orders.models import Order, OrderStatus, Payment, PaymentMethod, Refund
from tenants.db import TenantSession, tenant_session
from tenants.types import utcnow

DAYS = 150


def seed_history(tenant_id: int, *, seed: int, days: int = DAYS) -> int:
    """Past bookings, orders and views of the tenant; returns the bookings made."""
    rng = random.Random(seed)
    made = 0
    with tenant_session(tenant_id) as s:
        zone = ZoneInfo(tenant_zone(s))
        today = local_today(utcnow(), zone.key)
        locations = [int(i or 0) for i in s.exec(select(Location.id).order_by(col(Location.id)))]
        packages = [
            (int(i or 0), int(p))
            for i, p in s.exec(
                select(HealthPackage.id, HealthPackage.sale_price_fen).where(
                    col(HealthPackage.published).is_(True)
                )
            )
        ]
        patients = [int(i or 0) for i in s.exec(select(Patient.id).order_by(col(Patient.id)))]
        if not (locations and packages and patients):
            return 0
        # A few regulars come back; most patients come once or twice.
        regulars = patients[: max(3, len(patients) // 5)]
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            if day.weekday() == 6 and rng.random() < 0.7:
                continue  # mostly closed on Sundays
            growth = 1 + (days - back) / days  # busier lately
            newcomers = [
                _newcomer(s, rng, tenant_id, day, zone, serial=len(patients) + i)
                for i in range(rng.choice((0, 0, 1, 1, 2)))
            ]
            patients += newcomers
            for loc in locations:
                start = datetime.combine(day, time(8, 0), tzinfo=zone).astimezone(UTC)
                n = int(rng.randint(2, 6) * growth)
                slot = Slot(
                    location_id=loc,
                    day=day,
                    starts_at=start,
                    ends_at=start + timedelta(hours=4),
                    capacity=12,
                    booked=0,
                )
                s.add(slot)
                s.flush()
                for _ in range(n):
                    made += _booking(s, rng, slot, loc, packages, patients, regulars)
                while newcomers and rng.random() < 0.6:  # most newcomers book at once
                    made += _booking(s, rng, slot, loc, packages, [newcomers.pop()], [])
        for back in range(days, -1, -1):
            day = today - timedelta(days=back)
            for _ in range(rng.randint(15, 45)):
                at = datetime.combine(day, time(rng.randint(7, 22), rng.randint(0, 59)), zone)
                if at.astimezone(UTC) > utcnow():
                    continue
                pkg, _price = rng.choice(packages)
                s.add(PackageView(package_id=pkg, viewed_at=at.astimezone(UTC)))
    return made


_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"


def _newcomer(
    s: TenantSession,
    rng: random.Random,
    tenant_id: int,
    day: date,
    zone: ZoneInfo,
    *,
    serial: int,
) -> int:
    """A patient who registers on ``day`` (a first visit, new in the dashboard)."""
    n = serial
    joined = datetime.combine(day, time(rng.randint(7, 11), rng.randint(0, 59)), zone)
    p = Patient(
        name=rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2))),
        phone=f"+86136{tenant_id % 10}{n:07d}",
        sex=rng.choice((Sex.FEMALE, Sex.MALE)),
        birth_date=date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28)),
        created_at=joined.astimezone(UTC),
    )
    s.add(p)
    s.flush()
    # As registration does with the demo's policy (auto_issue_card): a member card.
    issue_card(s, actor=patient_principal(p), patient_id=int(p.id or 0), now=joined)
    return int(p.id or 0)


def _booking(
    s: TenantSession,
    rng: random.Random,
    slot: Slot,
    location_id: int,
    packages: list[tuple[int, int]],
    patients: list[int],
    regulars: list[int],
) -> int:
    patient = rng.choice(regulars) if regulars and rng.random() < 0.35 else rng.choice(patients)
    package_id, price = rng.choice(packages)
    confirmed = slot.starts_at - timedelta(days=rng.randint(1, 12), minutes=rng.randint(0, 600))
    roll = rng.random()
    status = (
        BookingStatus.CANCELLED
        if roll < 0.07
        else BookingStatus.NO_SHOW
        if roll < 0.12
        else BookingStatus.COMPLETED
    )
    if status != BookingStatus.CANCELLED:
        slot.booked += 1
        s.add(slot)
    booking = Booking(
        patient_id=patient,
        package_id=package_id,
        location_id=location_id,
        slot_id=slot.id or 0,
        status=status,
        idempotency_key=f"demo-history:{uuid.uuid4()}",
        checkin_code=secrets.token_urlsafe(18)[:24],
        ics_uid=f"booking-{uuid.uuid4()}@demo.prm",
        created_at=confirmed - timedelta(minutes=3),
        updated_at=confirmed,
        confirmed_at=confirmed,
        completed_at=(
            slot.starts_at + timedelta(minutes=rng.randint(30, 200))
            if status == BookingStatus.COMPLETED
            else None
        ),
        cancelled_at=(
            confirmed + timedelta(hours=rng.randint(2, 48))
            if status == BookingStatus.CANCELLED
            else None
        ),
    )
    s.add(booking)
    s.flush()
    refund = price if status == BookingStatus.CANCELLED else 0
    if status == BookingStatus.COMPLETED and rng.random() < 0.03:
        refund = price // 5  # an add-on not done
    order = Order(
        number=f"H{booking.id or 0:08d}",
        patient_id=patient,
        booking_id=booking.id,
        status=(
            OrderStatus.REFUNDED
            if refund and refund >= price
            else OrderStatus.PARTIALLY_REFUNDED
            if refund
            else OrderStatus.PAID
        ),
        total_fen=price,
        paid_fen=price,
        refunded_fen=refund,
        idempotency_key=f"demo-history:{booking.id}",
        created_at=confirmed - timedelta(minutes=3),
        updated_at=confirmed,
        paid_at=confirmed - timedelta(minutes=1),
    )
    s.add(order)
    s.flush()
    payment = Payment(
        order_id=order.id or 0,
        method=PaymentMethod.STRIPE,
        provider_ref=f"pi_demo_{order.id}",
        status="succeeded",
        amount_fen=price,
        created_at=confirmed,
    )
    s.add(payment)
    s.flush()
    if refund:
        s.add(
            Refund(
                order_id=order.id or 0,
                payment_id=payment.id or 0,
                provider_ref=f"re_demo_{order.id}",
                amount_fen=refund,
                reason="demo",
                status="succeeded",
                idempotency_key=f"demo-history-refund:{order.id}",
                created_at=booking.cancelled_at or (booking.completed_at or confirmed),
            )
        )
    return 1
