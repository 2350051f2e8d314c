"""The front desk (``FRONT_DESK``: admins and staff): the day calendar of a
location, check-in by code or id, no-shows, completion, walk-ins, and finding
patients and their bookings by name or phone.

Status changes are conditional UPDATEs on the current status, so two desks
scanning the same code at once check the patient in once.
"""

from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement
from sqlmodel import col, or_, select, update

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.models import Patient
from prm_saas.audit.services import record
from prm_saas.automations.hooks import fire as fire_automations
from prm_saas.booking.models import Booking, BookingStatus, Location, Slot
from prm_saas.booking.schedule import (
    SlotView,
    available_slots,
    local_label,
    local_today,
    make_slots_for_view,
    tenant_zone,
)
from prm_saas.booking.services import _int_id, _rowcount, reserve
from prm_saas.display import masked_phone
from prm_saas.mall.models import HealthPackage, PackageLocation
from prm_saas.membership import cards, points
from prm_saas.membership.models import RuleKind
from prm_saas.orders.models import PaymentMethod
from prm_saas.tags.services import reevaluate_for_patient
from tenants.db import TenantSession
from tenants.errors import DomainError, NotFound
from tenants.lookup import get_or_404
from tenants.types import utcnow

SEARCH_MAX = 50
QUERY_MAX = 100


@dataclass(frozen=True)
class DeskBooking:
    """One booking as the desk sees it (the phone in full for staff who call; the
    masked form for screens others can see)."""

    booking_id: int
    slot_id: int
    patient_id: int
    patient_name: str
    patient_phone: str
    patient_phone_masked: str
    package_id: int
    package_name_zh: str
    package_name_en: str
    status: str
    walk_in: bool
    override_reason: str
    starts_at: datetime
    ends_at: datetime
    checked_in_at: datetime | None
    checkin_code: str


@dataclass(frozen=True)
class DeskSlot:
    """One slot of the day with its bookings."""

    slot_id: int
    starts_at: datetime
    ends_at: datetime
    local_start: str
    local_end: str
    capacity: int
    booked: int
    bookings: list[DeskBooking] = field(default_factory=list)


@dataclass(frozen=True)
class DayCalendar:
    """A location's day: slots, bookings, and counts by status."""

    location_id: int
    day: date
    slots: list[DeskSlot]
    counts: dict[str, int]
    total_booked: int
    total_capacity: int


@dataclass(frozen=True)
class PatientHit:
    """A patient found by name or phone."""

    id: int
    name: str
    phone: str
    phone_masked: str


def _desk_rows(
    session: TenantSession, stmt_filter: list[object], limit: int = 2000
) -> list[DeskBooking]:
    rows = session.exec(
        select(Booking, Slot, Patient, HealthPackage)
        .join(Slot, col(Slot.id) == col(Booking.slot_id))
        .join(Patient, col(Patient.id) == col(Booking.patient_id))
        .join(HealthPackage, col(HealthPackage.id) == col(Booking.package_id))
        .where(*stmt_filter)  # type: ignore[arg-type]
        .order_by(col(Slot.starts_at), col(Booking.id))
        .limit(limit)
    ).all()
    return [
        DeskBooking(
            booking_id=int(b.id or 0),
            slot_id=b.slot_id,
            patient_id=b.patient_id,
            patient_name=p.name,
            patient_phone=p.phone or "",
            patient_phone_masked=masked_phone(p.phone),
            package_id=b.package_id,
            package_name_zh=pkg.name_zh,
            package_name_en=pkg.name_en or pkg.name_zh,
            status=str(b.status),
            walk_in=b.walk_in,
            override_reason=b.override_reason,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            checked_in_at=b.checked_in_at,
            checkin_code=b.checkin_code,
        )
        for b, s, p, pkg in rows
    ]


def day_calendar(
    *, session: TenantSession, actor: Principal, location_id: int, day: date
) -> DayCalendar:
    """The location's slots of ``day`` with their bookings (expired holds left out)."""
    require_staff(session, actor, Permission.FRONT_DESK)
    loc = get_or_404(session, Location, _int_id(location_id))
    tz = tenant_zone(session)
    make_slots_for_view(session, int(loc.id or 0), day, utcnow(), tz)
    slots = session.exec(
        select(Slot)
        .where(Slot.location_id == loc.id, Slot.day == day)
        .order_by(col(Slot.starts_at))
    ).all()
    bookings = _desk_rows(
        session,
        [
            Booking.location_id == loc.id,
            Slot.day == day,
            col(Booking.status) != BookingStatus.EXPIRED,
        ],
    )
    by_slot: dict[int, list[DeskBooking]] = {}
    counts: dict[str, int] = {}
    for b in bookings:
        by_slot.setdefault(b.slot_id, []).append(b)
        counts[b.status] = counts.get(b.status, 0) + 1
    out = [
        DeskSlot(
            slot_id=int(s.id or 0),
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            local_start=local_label(s.starts_at, tz),
            local_end=local_label(s.ends_at, tz),
            capacity=s.capacity,
            booked=s.booked,
            bookings=by_slot.get(int(s.id or 0), []),
        )
        for s in slots
    ]
    return DayCalendar(
        location_id=int(loc.id or 0),
        day=day,
        slots=out,
        counts=counts,
        total_booked=sum(s.booked for s in out),
        total_capacity=sum(s.capacity for s in out),
    )


def _find(session: TenantSession, code_or_id: object) -> Booking:
    """A booking by id or by check-in code (another tenant's code is simply not found)."""
    if isinstance(code_or_id, int) and not isinstance(code_or_id, bool):
        return get_or_404(session, Booking, code_or_id)
    text = str(code_or_id or "").strip()[:64]
    if not text:
        raise NotFound()
    if text.isdigit() and len(text) < 12:
        return get_or_404(session, Booking, int(text))
    b = session.exec(select(Booking).where(Booking.checkin_code == text)).first()
    if b is None:
        raise NotFound()
    return b


def _move(
    session: TenantSession, b: Booking, frm: BookingStatus, to: BookingStatus, now: datetime
) -> bool:
    values: dict[str, object] = {"status": to, "updated_at": now}
    if to == BookingStatus.CHECKED_IN:
        values["checked_in_at"] = now
    if to == BookingStatus.COMPLETED:
        values["completed_at"] = now
    result = session.exec(
        update(Booking)
        .where(col(Booking.id) == b.id, col(Booking.status) == frm)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(b)
    return _rowcount(result) == 1


def check_in(
    *, session: TenantSession, actor: Principal, code_or_id: object, now: datetime | None = None
) -> Booking:
    """Check in a confirmed booking of today (by its QR code or its id)."""
    actor = require_staff(session, actor, Permission.FRONT_DESK)
    now = now or utcnow()
    b = _find(session, code_or_id)
    slot = get_or_404(session, Slot, b.slot_id)
    if b.status in (BookingStatus.CHECKED_IN, BookingStatus.COMPLETED):
        raise DomainError("booking.already_checked_in")
    if b.status != BookingStatus.CONFIRMED:
        raise DomainError("booking.checkin_not_confirmed")
    if slot.day != local_today(now, tenant_zone(session)):
        raise DomainError("booking.checkin_not_today")
    if not _move(session, b, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, now):
        raise DomainError("booking.already_checked_in")
    record(session, actor=actor, action="booking.check_in", target_type="booking", target_id=b.id)
    return b


def mark_no_show(
    *, session: TenantSession, actor: Principal, booking_id: int, now: datetime | None = None
) -> Booking:
    """A confirmed booking whose slot has started and who did not come (the seat stays
    counted: it was used up)."""
    actor = require_staff(session, actor, Permission.FRONT_DESK)
    now = now or utcnow()
    b = get_or_404(session, Booking, _int_id(booking_id))
    slot = get_or_404(session, Slot, b.slot_id)
    if b.status != BookingStatus.CONFIRMED:
        raise DomainError("booking.not_changeable")
    if slot.starts_at > now:
        raise DomainError("booking.no_show_too_early")
    if not _move(session, b, BookingStatus.CONFIRMED, BookingStatus.NO_SHOW, now):
        raise DomainError("booking.not_changeable")
    record(session, actor=actor, action="booking.no_show", target_type="booking", target_id=b.id)
    reevaluate_for_patient(session=session, patient_id=b.patient_id, now=now)  # tag rules
    return b


def complete(
    *, session: TenantSession, actor: Principal, booking_id: int, now: datetime | None = None
) -> Booking:
    """A checked-in patient finished the checkup: the tenant's CHECKUP_COMPLETED
    points are earned (once per booking, by its idempotency key) and the card's
    level recalculated, in the same transaction."""
    actor = require_staff(session, actor, Permission.FRONT_DESK)
    now = now or utcnow()
    b = get_or_404(session, Booking, _int_id(booking_id))
    if b.status == BookingStatus.COMPLETED:
        return b
    if b.status != BookingStatus.CHECKED_IN:
        raise DomainError("booking.not_checked_in")
    if not _move(session, b, BookingStatus.CHECKED_IN, BookingStatus.COMPLETED, now):
        raise DomainError("booking.not_checked_in")
    record(session, actor=actor, action="booking.complete", target_type="booking", target_id=b.id)
    points.award(
        session,
        patient_id=b.patient_id,
        rule=RuleKind.CHECKUP_COMPLETED,
        source=points.Source("booking", str(b.id)),
        idempotency_key=f"booking:{b.id}:completed",
        now=now,
    )
    cards.recalc_level(session, patient_id=b.patient_id, now=now)
    reevaluate_for_patient(session=session, patient_id=b.patient_id, now=now)  # tag rules
    fire_automations(session, "booking_completed", b.patient_id, now=now, booking_id=b.id)
    return b


def walk_in(
    *,
    session: TenantSession,
    actor: Principal,
    patient_id: int,
    package_id: int,
    slot_id: int,
    override_reason: str = "",
    idempotency_key: str = "",
    now: datetime | None = None,
) -> Booking:
    """Book a patient at the desk: confirmed at once, paid at the clinic. With a
    reason, the slot's (and resources') capacity may be exceeded (audited)."""
    actor = require_staff(session, actor, Permission.FRONT_DESK)
    now = now or utcnow()
    slot = get_or_404(session, Slot, _int_id(slot_id))
    b = reserve(
        session=session,
        patient_id=patient_id,
        package_id=package_id,
        location_id=slot.location_id,
        slot_id=int(slot.id or 0),
        addon_item_ids=[],
        idempotency_key=idempotency_key or f"walkin:{uuid.uuid4()}",
        hold_until=None,
        now=now,
        staff=actor,
        override_reason=override_reason,
    )
    if not b.walk_in:
        b.walk_in = True
        session.add(b)
        session.flush()
        _clinic_order(session, b)
    record(session, actor=actor, action="booking.walk_in", target_type="booking", target_id=b.id)
    return b


def _clinic_order(session: TenantSession, booking: Booking) -> None:
    """The walk-in's order, paid at the desk (from orders, when it is installed)."""
    try:
        orders = importlib.import_module("prm_saas.orders.services")
    except ImportError:
        return
    open_order = getattr(orders, "open_order_for_booking", None)
    if open_order is None:
        return
    from prm_saas.mall.services import package_for_booking

    priced = package_for_booking(
        session=session,
        package_id=booking.package_id,
        location_id=booking.location_id,
        addon_item_ids=[],
    )
    open_order(
        session=session,
        booking=booking,
        priced=priced,
        method=PaymentMethod.CLINIC,
        expires_at=None,
    )


def _like(query: str) -> tuple[str, str]:
    q = (query or "").strip()[:QUERY_MAX]
    digits = "".join(ch for ch in q if ch.isdigit())
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%", (f"%{digits}%" if len(digits) >= 3 else "")


def search_patients(
    *, session: TenantSession, actor: Principal, query: str, limit: int = 20
) -> list[PatientHit]:
    """Patients whose name contains ``query`` or whose phone contains its digits (3+)."""
    require_staff(session, actor, Permission.FRONT_DESK)
    name_like, phone_like = _like(query)
    if name_like == "%%":
        return []
    cond: ColumnElement[bool] = col(Patient.name).like(name_like, escape="\\")
    if phone_like:
        cond = or_(cond, col(Patient.phone).like(phone_like))
    rows = session.exec(
        select(Patient)
        .where(cond)
        .order_by(col(Patient.name), col(Patient.id))
        .limit(max(1, min(int(limit), SEARCH_MAX)))
    ).all()
    return [
        PatientHit(
            id=int(p.id or 0), name=p.name, phone=p.phone or "", phone_masked=masked_phone(p.phone)
        )
        for p in rows
    ]


def search_bookings(
    *, session: TenantSession, actor: Principal, location_id: int, day: date, query: str
) -> list[DeskBooking]:
    """The day's bookings at the location of patients matching a name or phone."""
    require_staff(session, actor, Permission.FRONT_DESK)
    loc = get_or_404(session, Location, _int_id(location_id))
    name_like, phone_like = _like(query)
    if name_like == "%%":
        return []
    cond: ColumnElement[bool] = col(Patient.name).like(name_like, escape="\\")
    if phone_like:
        cond = or_(cond, col(Patient.phone).like(phone_like))
    return _desk_rows(
        session,
        [
            Booking.location_id == loc.id,
            Slot.day == day,
            col(Booking.status) != BookingStatus.EXPIRED,
            cond,
        ],
        limit=SEARCH_MAX,
    )


def walk_in_packages(
    *, session: TenantSession, actor: Principal, location_id: int
) -> list[HealthPackage]:
    """Published packages offered at the location (the walk-in form's choices)."""
    require_staff(session, actor, Permission.FRONT_DESK)
    loc = get_or_404(session, Location, _int_id(location_id))
    return list(
        session.exec(
            select(HealthPackage)
            .join(PackageLocation, col(PackageLocation.package_id) == col(HealthPackage.id))
            .where(PackageLocation.location_id == loc.id, col(HealthPackage.published).is_(True))
            .order_by(col(HealthPackage.sort_order), col(HealthPackage.id))
        ).all()
    )


def walk_in_slots(
    *, session: TenantSession, actor: Principal, location_id: int, day: date
) -> list[SlotView]:
    """The day's slots with seats left (the walk-in form's choices)."""
    require_staff(session, actor, Permission.FRONT_DESK)
    return available_slots(session=session, location_id=_int_id(location_id), day=day)
