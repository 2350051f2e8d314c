"""The waiting list of a full slot: first come, first served, automatically.

When a seat frees (``services.release``, a reschedule), ``offer_seat`` gives it
to the first waiting patient as a ``held`` booking for
``BookingSettings.waitlist_offer_minutes`` (with an order to pay, from orders'
``open_order_for_booking``) and tells them. If they do not pay in time,
``expire_holds`` (every minute) expires that booking, which releases the seat,
which offers it to the next in line.

Two releases at once never offer one seat twice and never offer two seats to one
entry: an entry is claimed with a conditional UPDATE (``status = 'waiting'``)
and the seat is taken with the slot's conditional UPDATE, both inside one
savepoint that is rolled back whole if either fails.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import col, func, select, update

from prm_saas.accounts.authz import Principal, require_patient
from prm_saas.accounts.models import Patient
from prm_saas.booking import messages
from prm_saas.booking.models import (
    Booking,
    BookingStatus,
    Location,
    Slot,
    WaitlistEntry,
    WaitlistStatus,
)
from prm_saas.booking.schedule import (
    day_problem,
    get_booking_settings,
    local_label,
    pk,
    tenant_zone,
)
from prm_saas.booking.services import (
    _check_not_booked,
    _int_id,
    _rowcount,
    release,
    reserve,
    write_lock,
)
from prm_saas.mall.models import HealthPackage
from prm_saas.mall.services import check_eligibility, package_for_booking
from prm_saas.orders.models import PaymentMethod
from tenants.db import TenantSession
from tenants.errors import DomainError, NotFound
from tenants.lookup import get_or_404
from tenants.types import utcnow

# Errors that say the seat or the day is gone for everybody: the entry keeps its
# place. Any other error is about this patient (no longer eligible, booked
# elsewhere that day): their entry lapses and the next one is asked.
_SLOT_LEVEL = frozenset(
    {
        "booking.past_day",
        "booking.closed",
        "booking.outside_window",
        "booking.same_day_cutoff",
        "booking.slot_started",
        "booking.slot_full",
        "booking.resource_full",
    }
)
ACTIVE = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)


def join_waitlist(
    *,
    session: TenantSession,
    actor: Principal,
    slot_id: int,
    package_id: int,
    addon_item_ids: Sequence[int],
    now: datetime | None = None,
) -> WaitlistEntry:
    """Put the patient on a full slot's waiting list (once per slot)."""
    actor = require_patient(session, actor)
    now = now or utcnow()
    slot = get_or_404(session, Slot, _int_id(slot_id))
    loc = get_or_404(session, Location, slot.location_id)
    problem = day_problem(session, loc, slot.day, now, tenant_zone(session))
    if problem is not None:
        raise DomainError(problem[0], **problem[1])
    if slot.starts_at <= now:
        raise DomainError("booking.slot_started")
    priced = package_for_booking(
        session=session,
        package_id=package_id,
        location_id=slot.location_id,
        addon_item_ids=addon_item_ids,
    )
    patient = get_or_404(session, Patient, actor.id)
    why = check_eligibility(
        package=priced.package, sex=str(patient.sex), birth_date=patient.birth_date, on_day=slot.day
    )
    if why:
        raise DomainError(why)
    if slot.booked < slot.capacity:
        raise DomainError("booking.waitlist_not_full")
    # The patient's row locked (SQLite: the write lock) before "already waiting?", so
    # two taps on "join" make one entry.
    write_lock(session)
    session.exec(select(Patient.id).where(col(Patient.id) == actor.id).with_for_update()).one()
    if session.exec(
        select(WaitlistEntry.id).where(
            WaitlistEntry.slot_id == slot.id,
            WaitlistEntry.patient_id == actor.id,
            col(WaitlistEntry.status).in_([str(s) for s in ACTIVE]),
        )
    ).first():
        raise DomainError("booking.waitlist_already")
    _check_not_booked(session, actor.id, slot.location_id, slot.day, None)
    entry = WaitlistEntry(
        slot_id=pk(slot),
        patient_id=actor.id,
        package_id=pk(priced.package),
        addon_item_ids=json.dumps(priced.addon_item_ids),
        created_at=now,
        updated_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def leave_waitlist(
    *, session: TenantSession, actor: Principal, entry_id: int, now: datetime | None = None
) -> None:
    """The patient leaves a waiting list (an entry already offered keeps its booking,
    which the patient cancels like any other)."""
    actor = require_patient(session, actor)
    entry = get_or_404(session, WaitlistEntry, entry_id)
    if entry.patient_id != actor.id:
        raise NotFound()
    session.exec(
        update(WaitlistEntry)
        .where(
            col(WaitlistEntry.id) == entry.id, col(WaitlistEntry.status) == WaitlistStatus.WAITING
        )
        .values(status=WaitlistStatus.CANCELLED, updated_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(entry)


@dataclass(frozen=True)
class WaitlistView:
    """A patient's place on a waiting list."""

    id: int
    slot_id: int
    status: str
    position: int  # 1 = next in line (0 when not waiting)
    booking_id: int | None
    day: date
    local_start: str  # in the tenant's zone
    local_end: str
    package_name_zh: str
    package_name_en: str


def my_waitlist(*, session: TenantSession, actor: Principal) -> list[WaitlistView]:
    """The patient's waiting-list entries, newest first, with their place in line
    and what they wait for (slot time, package)."""
    actor = require_patient(session, actor)
    tz = tenant_zone(session)
    rows = session.exec(
        select(WaitlistEntry, Slot, HealthPackage)
        .join(Slot, col(Slot.id) == col(WaitlistEntry.slot_id))
        .join(HealthPackage, col(HealthPackage.id) == col(WaitlistEntry.package_id))
        .where(WaitlistEntry.patient_id == actor.id)
        .order_by(col(WaitlistEntry.id).desc())
        .limit(100)
    ).all()
    out = []
    for e, slot, pkg in rows:
        pos = 0
        if e.status == WaitlistStatus.WAITING:
            ahead = session.exec(
                select(func.count())
                .select_from(WaitlistEntry)
                .where(
                    WaitlistEntry.slot_id == e.slot_id,
                    col(WaitlistEntry.status) == WaitlistStatus.WAITING,
                    col(WaitlistEntry.id) < e.id,
                )
            ).one()
            pos = int(ahead) + 1
        out.append(
            WaitlistView(
                id=int(e.id or 0),
                slot_id=e.slot_id,
                status=str(e.status),
                position=pos,
                booking_id=e.booking_id,
                day=slot.day,
                local_start=local_label(slot.starts_at, tz),
                local_end=local_label(slot.ends_at, tz),
                package_name_zh=pkg.name_zh,
                package_name_en=pkg.name_en or pkg.name_zh,
            )
        )
    return out


def _open_order(session: TenantSession, booking: Booking, until: datetime) -> None:
    """The offer's order to pay, from the orders package (when it is installed)."""
    try:
        orders = importlib.import_module("prm_saas.orders.services")
    except ImportError:
        return
    open_order = getattr(orders, "open_order_for_booking", None)
    if open_order is None:
        return
    priced = package_for_booking(
        session=session,
        package_id=booking.package_id,
        location_id=booking.location_id,
        addon_item_ids=json.loads(booking.addon_item_ids or "[]"),
    )
    open_order(
        session=session,
        booking=booking,
        priced=priced,
        method=PaymentMethod.STRIPE,
        expires_at=until,
    )


class _Skip(Exception):
    """The entry was claimed by someone else: roll its savepoint back, try the next."""


def offer_seat(*, session: TenantSession, slot_id: int, now: datetime) -> Booking | None:
    """Offer a free seat of the slot to the first waiting patient (a held booking
    until now + ``waitlist_offer_minutes``, an order, a message). Returns the
    booking made, or None (nobody waiting, no seat free, or the day is past)."""
    slot = session.exec(select(Slot).where(Slot.id == slot_id)).first()
    if slot is None or slot.starts_at <= now:
        return None
    loc = get_or_404(session, Location, slot.location_id)
    if day_problem(session, loc, slot.day, now, tenant_zone(session), staff=True) is not None:
        return None
    minutes = get_booking_settings(session=session).waitlist_offer_minutes
    until = min(now + timedelta(minutes=minutes), slot.starts_at)
    waiting = session.exec(
        select(WaitlistEntry.id)
        .where(
            WaitlistEntry.slot_id == slot.id, col(WaitlistEntry.status) == WaitlistStatus.WAITING
        )
        .order_by(col(WaitlistEntry.id))
        .limit(200)
    ).all()
    write_lock(session)
    for entry_id in waiting:
        try:
            with session.begin_nested():
                claimed = session.exec(
                    update(WaitlistEntry)
                    .where(
                        col(WaitlistEntry.id) == entry_id,
                        col(WaitlistEntry.status) == WaitlistStatus.WAITING,
                    )
                    .values(status=WaitlistStatus.OFFERED, offer_expires_at=until, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                if _rowcount(claimed) != 1:
                    raise _Skip()
                entry = session.exec(
                    select(WaitlistEntry).where(WaitlistEntry.id == entry_id)
                ).one()
                session.refresh(entry)
                booking = _book_offer(session, entry, slot, until, now)
                return booking
        except _Skip:
            continue
        except DomainError as exc:
            if exc.key in _SLOT_LEVEL:
                return None  # the seat went to someone else (or the day closed): keep the line
            session.exec(
                update(WaitlistEntry)
                .where(
                    col(WaitlistEntry.id) == entry_id,
                    col(WaitlistEntry.status) == WaitlistStatus.WAITING,
                )
                .values(status=WaitlistStatus.LAPSED, updated_at=now)
                .execution_options(synchronize_session=False)
            )
    return None


def _book_offer(
    session: TenantSession, entry: WaitlistEntry, slot: Slot, until: datetime, now: datetime
) -> Booking:
    booking = reserve(
        session=session,
        patient_id=entry.patient_id,
        package_id=entry.package_id,
        location_id=slot.location_id,
        slot_id=int(slot.id or 0),
        addon_item_ids=json.loads(entry.addon_item_ids or "[]"),
        idempotency_key=f"waitlist:{entry.id}",
        hold_until=until,
        now=now,
    )
    if booking.status != BookingStatus.HELD:
        # The key was used before (a retried offer): nothing new to offer.
        raise _Skip()
    entry.booking_id = booking.id
    entry.updated_at = now
    session.add(entry)
    session.flush()
    _open_order(session, booking, until)
    messages.waitlist_offer(session, booking, entry)
    return booking


def expire_holds(*, session: TenantSession, now: datetime, limit: int = 500) -> int:
    """Held bookings whose hold ran out → expired, seat and resources freed (which
    offers the seat to the next in line; a lapsed offer's entry becomes ``lapsed``).
    Returns how many expired. Safe to run twice at once: ``release`` acts once."""
    ids = session.exec(
        select(Booking.id)
        .where(
            Booking.status == BookingStatus.HELD,
            col(Booking.hold_expires_at).is_not(None),
            col(Booking.hold_expires_at) <= now,
        )
        .order_by(col(Booking.hold_expires_at))
        .limit(limit)
    ).all()
    n = 0
    for bid in ids:
        if bid is None:
            continue
        b = session.exec(select(Booking).where(Booking.id == bid)).one()
        if b.status != BookingStatus.HELD:
            continue
        release(session=session, booking_id=bid, now=now, status=BookingStatus.EXPIRED)
        n += 1
    return n
