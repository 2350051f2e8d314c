"""Builders of the tag tests: rows written directly (bookings on slots, paid orders,
cards, points accounts, challenge participants) so each condition can be set up
in a few lines, in either tenant."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import select

from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import Patient, Sex
from prm_saas.booking.models import Booking, BookingStatus, Location, Slot
from prm_saas.challenges.models import Challenge, ChallengeParticipant
from prm_saas.mall.models import HealthPackage
from prm_saas.membership.models import MemberCard, MembershipLevel, PointsAccount
from prm_saas.orders.models import Order, OrderLine, OrderStatus, PaymentMethod
from prm_saas.tags import services
from prm_saas.tags.models import PatientTag, TagEvent, TagKind
from prm_saas.tags.services import TagInput
from tenants.db import tenant_session
from tenants.resolution import TenantInfo

# Tuesday 1 December 2026, 10:00 in Shanghai (the tenants' zone).
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)
_seq = itertools.count(1000)


def patient(tenant: TenantInfo, *, sex: Sex = Sex.UNKNOWN, birth_date: date | None = None) -> int:
    n = next(_seq)
    with tenant_session(tenant.id) as s:
        p = Patient(name=f"客户{n}", phone=f"+86137{n:08d}", sex=sex, birth_date=birth_date)
        s.add(p)
        s.flush()
        return int(p.id or 0)


def package(tenant: TenantInfo) -> int:
    n = next(_seq)
    with tenant_session(tenant.id) as s:
        pkg = HealthPackage(code=f"P{n}", name_zh=f"套餐{n}", sale_price_fen=100, published=True)
        s.add(pkg)
        s.flush()
        return int(pkg.id or 0)


def booking(
    tenant: TenantInfo, patient_id: int, day: date, status: BookingStatus, package_id: int = 0
) -> int:
    """A booking of the patient on a local ``day`` in ``status``."""
    n = next(_seq)
    package_id = package_id or package(tenant)
    with tenant_session(tenant.id) as s:
        loc = s.exec(select(Location)).first()
        if loc is None:
            loc = Location(name_zh="总院")
            s.add(loc)
            s.flush()
        start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC) + timedelta(minutes=n)
        slot = Slot(
            location_id=loc.id or 0,
            day=day,
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
            capacity=10,
        )
        s.add(slot)
        s.flush()
        b = Booking(
            patient_id=patient_id,
            package_id=package_id,
            location_id=loc.id or 0,
            slot_id=slot.id or 0,
            status=status,
            idempotency_key=f"k{n}",
            checkin_code=f"c{n}",
            ics_uid=f"u{n}",
        )
        s.add(b)
        s.flush()
        return int(b.id or 0)


def order(
    tenant: TenantInfo,
    patient_id: int,
    package_id: int,
    *,
    status: OrderStatus = OrderStatus.PAID,
    paid_at: datetime | None = NOW,
    payment_method: PaymentMethod = PaymentMethod.STRIPE,
) -> int:
    n = next(_seq)
    with tenant_session(tenant.id) as s:
        o = Order(
            number=f"N{n}",
            patient_id=patient_id,
            status=status,
            payment_method=payment_method,
            total_fen=100,
            paid_fen=100 if status != OrderStatus.PENDING_PAYMENT else 0,
            idempotency_key=f"o{n}",
            paid_at=paid_at if status != OrderStatus.PENDING_PAYMENT else None,
        )
        s.add(o)
        s.flush()
        s.add(
            OrderLine(
                order_id=o.id or 0,
                kind="package",
                ref_id=package_id,
                name="套餐",
                unit_price_fen=100,
                amount_fen=100,
            )
        )
        return int(o.id or 0)


def level(tenant: TenantInfo, rank: int, min_points_12m: int = 0) -> int:
    with tenant_session(tenant.id) as s:
        lv = MembershipLevel(name_zh=f"等级{rank}", rank=rank, min_points_12m=min_points_12m)
        s.add(lv)
        s.flush()
        return int(lv.id or 0)


def card(tenant: TenantInfo, patient_id: int, level_id: int | None) -> None:
    n = next(_seq)
    with tenant_session(tenant.id) as s:
        s.add(MemberCard(number=f"M{n}", patient_id=patient_id, level_id=level_id))


def balance(tenant: TenantInfo, patient_id: int, points: int) -> None:
    with tenant_session(tenant.id) as s:
        row = s.exec(
            select(PointsAccount).where(PointsAccount.patient_id == patient_id)
        ).first() or PointsAccount(patient_id=patient_id, balance=0)
        row.balance = points
        s.add(row)


def challenge(tenant: TenantInfo) -> int:
    with tenant_session(tenant.id) as s:
        c = Challenge(
            title_zh="打卡", starts_on=TODAY, ends_on=TODAY + timedelta(days=20), target_days=3
        )
        s.add(c)
        s.flush()
        return int(c.id or 0)


def participant(
    tenant: TenantInfo, challenge_id: int, patient_id: int, *, completed: bool = False
) -> None:
    n = next(_seq)
    with tenant_session(tenant.id) as s:
        s.add(
            ChallengeParticipant(
                challenge_id=challenge_id,
                patient_id=patient_id,
                nickname=f"n{n}",
                completed_at=NOW if completed else None,
            )
        )


def tag(tenant: TenantInfo, admin: Principal, name: str, kind: TagKind = TagKind.MANUAL) -> int:
    with tenant_session(tenant.id) as s:
        t = services.create_tag(session=s, actor=admin, data=TagInput(name=name, kind=kind))
        return int(t.id or 0)


def matches(tenant: TenantInfo, admin: Principal, conditions: Any, now: datetime = NOW) -> set[int]:
    """The patients ``conditions`` match (the preview's sample; tests keep it under 10)."""
    with tenant_session(tenant.id) as s:
        preview = services.preview_rule(session=s, actor=admin, conditions=conditions, now=now)
    ids = {pid for pid, _ in preview.sample}
    assert preview.count == len(ids)
    return ids


def holders(tenant: TenantInfo, tag_id: int) -> set[int]:
    with tenant_session(tenant.id) as s:
        return set(s.exec(select(PatientTag.patient_id).where(PatientTag.tag_id == tag_id)).all())


def events(tenant: TenantInfo) -> list[tuple[int, int, str, int | None, int | None]]:
    """(patient, tag, action, staff, rule) of every history row, oldest first."""
    with tenant_session(tenant.id) as s:
        rows = s.exec(select(TagEvent).order_by(TagEvent.id)).all()  # type: ignore[arg-type]
        return [(e.patient_id, e.tag_id, e.action, e.staff_id, e.rule_id) for e in rows]
