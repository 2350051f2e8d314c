"""Seats and bookings: reserve, confirm, release, patient cancel and reschedule,
and the patient's own booking pages.

Capacity lives in the database. A booking takes its seat with the conditional
``UPDATE slot SET booked = booked + 1 WHERE id = :id AND booked < capacity`` and
one unit of each scarce resource with ``UPDATE resource_day SET used = used + 1
WHERE id = :id AND used < daily_limit``; a row count of 0 is "full". These are
ORM bulk UPDATEs run through the tenant session, so the tenant wall scopes them.
On PostgreSQL the row lock serializes the updates and READ COMMITTED re-checks
the condition on the newest row; on SQLite the write transaction is opened with
``BEGIN IMMEDIATE`` before the first write so there is one writer at a time and
no stale read snapshot to upgrade.

Everything a use case writes happens in one transaction: a check that fails
raises ``DomainError`` and the caller's transaction (or the savepoint around the
seat-taking) leaves nothing behind.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from prm_saas.accounts.authz import Permission, Principal, require_patient, require_staff
from prm_saas.accounts.models import Patient
from prm_saas.audit.services import record
from prm_saas.booking import messages
from prm_saas.booking.models import (
    SEATED,
    Booking,
    BookingResource,
    BookingStatus,
    Closure,
    Location,
    LocationHours,
    Resource,
    ResourceDay,
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
    write_lock,
)
from prm_saas.mall.models import HealthPackage
from prm_saas.mall.services import check_eligibility, package_for_booking
from tenants.db import TenantSession
from tenants.errors import DomainError, NotFound, PermissionDenied
from tenants.lookup import get_or_404
from tenants.models import Tenant

IDEMPOTENCY_KEY_MAX = 100
OVERRIDE_REASON_MAX = 300
# Statuses a patient (or a release) may still move away from.
OPEN = (BookingStatus.HELD, BookingStatus.CONFIRMED)


# --- the database primitives ---------------------------------------------------------------


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def take_seat(session: TenantSession, slot_id: int, *, beyond_capacity: bool = False) -> bool:
    """One seat of the slot; False if it is full (always True beyond capacity)."""
    stmt = update(Slot).where(col(Slot.id) == slot_id).values(booked=col(Slot.booked) + 1)
    if not beyond_capacity:
        stmt = stmt.where(col(Slot.booked) < col(Slot.capacity))
    result = session.exec(stmt.execution_options(synchronize_session=False))
    return _rowcount(result) == 1


def free_seat(session: TenantSession, slot_id: int) -> None:
    """Give one seat of the slot back.

    A Slot this session loaded before (a patient's cancel reads it for the cutoff)
    has its ``booked`` expired: the UPDATE does not touch it, and the waiting-list
    offer that follows would otherwise read the old count and find the slot full."""
    session.exec(
        update(Slot)
        .where(col(Slot.id) == slot_id, col(Slot.booked) > 0)
        .values(booked=col(Slot.booked) - 1)
        .execution_options(synchronize_session=False)
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Slot) and obj.id == slot_id:
            session.expire(obj, ["booked"])


def _resource_day(session: TenantSession, resource: Resource, day: date) -> ResourceDay:
    """The resource's counter for ``day``, created on first use (race-safe)."""
    stmt = select(ResourceDay).where(ResourceDay.resource_id == resource.id, ResourceDay.day == day)
    row = session.exec(stmt).first()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = ResourceDay(resource_id=pk(resource), day=day, daily_limit=resource.daily_limit)
            session.add(row)
            session.flush()
        return row
    except IntegrityError:
        return session.exec(stmt).one()


def take_unit(session: TenantSession, resource_day_id: int, *, beyond_limit: bool = False) -> bool:
    """One unit of a resource on its day; False if the day's limit is reached."""
    stmt = (
        update(ResourceDay)
        .where(col(ResourceDay.id) == resource_day_id)
        .values(used=col(ResourceDay.used) + 1)
    )
    if not beyond_limit:
        stmt = stmt.where(col(ResourceDay.used) < col(ResourceDay.daily_limit))
    result = session.exec(stmt.execution_options(synchronize_session=False))
    return _rowcount(result) == 1


def _free_units(session: TenantSession, booking_id: int) -> None:
    ids = session.exec(
        select(BookingResource.resource_day_id).where(BookingResource.booking_id == booking_id)
    ).all()
    for rd_id in ids:
        session.exec(
            update(ResourceDay)
            .where(col(ResourceDay.id) == rd_id, col(ResourceDay.used) > 0)
            .values(used=col(ResourceDay.used) - 1)
            .execution_options(synchronize_session=False)
        )
    for br in session.exec(
        select(BookingResource).where(BookingResource.booking_id == booking_id)
    ).all():
        session.delete(br)
    session.flush()


def _take_units(
    session: TenantSession,
    *,
    booking_id: int,
    location_id: int,
    day: date,
    keys: set[str],
    override: bool,
) -> list[str]:
    """One unit of each needed resource (in id order, so no two bookings deadlock);
    returns the keys taken beyond their limit under an override."""
    beyond: list[str] = []
    if not keys:
        return beyond
    resources = session.exec(
        select(Resource)
        .where(Resource.location_id == location_id, col(Resource.key).in_(sorted(keys)))
        .order_by(col(Resource.id))
    ).all()
    for res in resources:
        rd = _resource_day(session, res, day)
        assert rd.id is not None
        if not take_unit(session, rd.id):
            if not override:
                raise DomainError("booking.resource_full", resource=res.name_zh)
            take_unit(session, rd.id, beyond_limit=True)
            beyond.append(res.key)
        session.add(BookingResource(booking_id=booking_id, resource_day_id=rd.id))
    session.flush()
    return beyond


# --- reserve -----------------------------------------------------------------------------


def _by_idem(session: TenantSession, key: str) -> Booking | None:
    return session.exec(select(Booking).where(Booking.idempotency_key == key)).first()


def _same_request(b: Booking, patient_id: int, slot_id: int) -> Booking:
    if b.patient_id != patient_id or b.slot_id != slot_id:
        raise DomainError("booking.idempotency_conflict")
    return b


def _check_not_booked(
    session: TenantSession, patient_id: int, location_id: int, day: date, exclude: int | None
) -> None:
    stmt = (
        select(Booking.id)
        .join(Slot, col(Slot.id) == col(Booking.slot_id))
        .where(
            Booking.patient_id == patient_id,
            Booking.location_id == location_id,
            Slot.day == day,
            col(Booking.status).in_([str(s) for s in SEATED]),
        )
    )
    if exclude is not None:
        stmt = stmt.where(col(Booking.id) != exclude)
    if session.exec(stmt).first() is not None:
        raise DomainError("booking.already_booked")


# sqlmodel's select() is typed for up to four columns; these statements read more.
_select_many: Any = select


def _int_id(value: object) -> int:
    if isinstance(value, bool):
        raise NotFound()
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise NotFound() from None


def reserve(
    *,
    session: TenantSession,
    patient_id: int,
    package_id: int,
    location_id: int,
    slot_id: int,
    addon_item_ids: Sequence[int],
    idempotency_key: str,
    hold_until: datetime | None,
    now: datetime,
    staff: Principal | None = None,
    override_reason: str = "",
) -> Booking:
    """Take a seat (and one unit of each scarce resource) for a patient.

    Checks, in this order: the staff actor (if any), the idempotency key (the same
    key returns the booking it made), patient / slot / location exist in this
    tenant, the day (``booking.past_day``, ``booking.closed``,
    ``booking.outside_window``, ``booking.same_day_cutoff``), the slot has not
    started (``booking.slot_started``), the package at that location
    (``booking.not_offered`` and the mall's keys), eligibility (``booking.wrong_sex``,
    ``booking.too_young``, ``booking.too_old``, ...), one booking per patient per
    day and location (``booking.already_booked``), then the seat
    (``booking.slot_full``) and the resources (``booking.resource_full``), taken
    with conditional UPDATEs. The booking is ``held`` until ``hold_until``, or
    ``confirmed`` at once when it is None.

    Front-desk ``staff`` may book today and outside the window, and with a
    non-empty ``override_reason`` beyond capacity (audited
    ``booking.capacity_override``).
    """
    if staff is not None:
        staff = require_staff(session, staff, Permission.FRONT_DESK)
    reason = (override_reason or "").strip()[:OVERRIDE_REASON_MAX]
    if reason and staff is None:
        raise PermissionDenied()
    key = (idempotency_key or "").strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX:
        raise DomainError("error.invalid_input")
    pid, sid, lid = _int_id(patient_id), _int_id(slot_id), _int_id(location_id)
    try:
        return _reserve_new(
            session,
            key=key,
            pid=pid,
            sid=sid,
            lid=lid,
            package_id=package_id,
            addon_item_ids=addon_item_ids,
            hold_until=hold_until,
            now=now,
            staff=staff,
            reason=reason,
        )
    except DomainError:
        # A concurrent request with the same key may have won meanwhile (its booking
        # then makes this one look "already booked" or "full"): that booking is the answer.
        winner = _by_idem(session, key)
        if winner is None:
            raise
        return _same_request(winner, pid, sid)


def _reserve_new(
    session: TenantSession,
    *,
    key: str,
    pid: int,
    sid: int,
    lid: int,
    package_id: int,
    addon_item_ids: Sequence[int],
    hold_until: datetime | None,
    now: datetime,
    staff: Principal | None,
    reason: str,
) -> Booking:
    # Few round trips: this runs for every attempt on a popular slot. One statement
    # reads the slot, its location, whether the day is a closure and whether the key
    # was used already; a second the patient, whether they are booked that day and
    # whether the location opens on that weekday.
    tid = session.tenant_id
    row = session.exec(
        _select_many(
            Slot,
            Location,
            select(Booking.id).where(Booking.idempotency_key == key).scalar_subquery(),
            select(Closure.id)
            .where(Closure.location_id == Slot.location_id, Closure.day == Slot.day)
            .exists(),
            select(Tenant.timezone).where(col(Tenant.id) == tid).scalar_subquery(),
            select(Tenant.slug).where(col(Tenant.id) == tid).scalar_subquery(),
        )
        .join(Location, col(Location.id) == col(Slot.location_id))
        .where(col(Slot.id) == sid)
    ).first()
    if row is not None and row[2] is not None:
        return _same_request(get_or_404(session, Booking, row[2]), pid, sid)
    if row is None or row[0].tenant_id != tid or row[0].location_id != lid:
        raise NotFound()
    slot, loc, _used, closure, zone, slug = row
    seated = (
        select(Booking.id)
        .join(Slot, col(Slot.id) == col(Booking.slot_id))
        .where(
            Booking.patient_id == pid,
            Booking.location_id == lid,
            Slot.day == slot.day,
            col(Booking.status).in_([str(st) for st in SEATED]),
        )
        .exists()
    )
    opens = (
        select(LocationHours.id)
        .where(LocationHours.location_id == lid, LocationHours.weekday == slot.day.weekday())
        .exists()
    )
    prow = session.exec(select(Patient, seated, opens).where(col(Patient.id) == pid)).first()
    if prow is None or prow[0].tenant_id != tid:
        raise NotFound()
    patient, has_booking, has_hours = prow
    tz = ZoneInfo(zone or "Asia/Shanghai")
    problem = day_problem(
        session,
        loc,
        slot.day,
        now,
        tz,
        staff=staff is not None,
        closed=bool(closure) or not has_hours,
    )
    if problem is not None:
        raise DomainError(problem[0], **problem[1])
    if staff is None and slot.starts_at <= now:
        raise DomainError("booking.slot_started")
    priced = package_for_booking(
        session=session, package_id=package_id, location_id=lid, addon_item_ids=addon_item_ids
    )
    why = check_eligibility(
        package=priced.package,
        sex=str(patient.sex),
        birth_date=patient.birth_date,
        on_day=slot.day,
    )
    if why:
        raise DomainError(why)
    if has_booking:
        raise DomainError("booking.already_booked")
    override = bool(reason)
    if not override and slot.booked >= slot.capacity:
        raise DomainError("booking.slot_full")  # fast answer; the UPDATE below decides

    booking = Booking(
        patient_id=pid,
        package_id=pk(priced.package),
        location_id=lid,
        slot_id=sid,
        status=BookingStatus.HELD if hold_until is not None else BookingStatus.CONFIRMED,
        hold_expires_at=hold_until,
        idempotency_key=key,
        checkin_code=secrets.token_urlsafe(18)[:24],
        addon_item_ids=json.dumps(priced.addon_item_ids),
        ics_uid=f"booking-{uuid.uuid4()}@{slug}.prm",
        walk_in=False,
        created_by_staff_id=staff.id if staff is not None else None,
        override_reason=reason,
        created_at=now,
        updated_at=now,
        confirmed_at=None if hold_until is not None else now,
    )
    write_lock(session)
    # The patient's row locked, then "booked that day?" asked again: two requests of one
    # patient with different keys (two tabs) cannot both pass the check above.
    # Two statements: in one, PostgreSQL would answer the EXISTS from the snapshot taken
    # before the lock was granted, blind to the booking that made it wait.
    session.exec(select(Patient.id).where(col(Patient.id) == pid).with_for_update()).one()
    if session.exec(select(seated)).one():
        raise DomainError("booking.already_booked")
    try:
        with session.begin_nested():
            # The booking row first: a concurrent request with the same key waits
            # here on the unique index and then loses, before touching the slot.
            session.add(booking)
            session.flush()
    except IntegrityError:
        winner = _by_idem(session, key)
        if winner is None:
            raise
        return _same_request(winner, pid, sid)
    assert booking.id is not None
    keys = set(priced.resource_keys)
    # The seat after the booking row, so its row lock is held only until the commit
    # that follows. With resources, seat and units share a savepoint (a unit that is
    # gone undoes the seat and earlier units); without, the seat is one UPDATE that
    # either happened or did not.
    try:
        if keys:
            with session.begin_nested():
                beyond_seat, beyond_units = _take_all(
                    session, booking, slot, keys=keys, override=override
                )
        else:
            beyond_seat, beyond_units = _take_all(
                session, booking, slot, keys=keys, override=override
            )
    except DomainError:
        # Nothing half-written, even for a caller that keeps its transaction going.
        session.delete(booking)
        session.flush()
        raise
    session.expire(slot)
    if beyond_seat or beyond_units:
        record(
            session,
            actor=staff,
            action="booking.capacity_override",
            target_type="booking",
            target_id=booking.id,
            details={
                "slot_id": sid,
                "reason": reason,
                "beyond_slot": beyond_seat,
                "beyond_resources": beyond_units,
            },
        )
    if booking.status == BookingStatus.CONFIRMED:
        messages.booking_confirmed(session, booking, now)
    return booking


def _take_all(
    session: TenantSession, booking: Booking, slot: Slot, *, keys: set[str], override: bool
) -> tuple[bool, list[str]]:
    """The seat, then a unit of each scarce resource (slot rows before resource-day
    rows, as everywhere); (seat beyond capacity, resource keys beyond their limit),
    both only under an override."""
    assert booking.id is not None
    assert slot.id is not None
    beyond_seat = False
    if not take_seat(session, slot.id):
        if not override:
            raise DomainError("booking.slot_full")
        take_seat(session, slot.id, beyond_capacity=True)
        beyond_seat = True
    beyond_units = _take_units(
        session,
        booking_id=booking.id,
        location_id=booking.location_id,
        day=slot.day,
        keys=keys,
        override=override,
    )
    return beyond_seat, beyond_units


# --- confirm / release ---------------------------------------------------------------------


def confirm(*, session: TenantSession, booking_id: int, now: datetime) -> Booking:
    """held → confirmed (payment arrived, or pay at the clinic). Idempotent: a booking
    already confirmed or further along is returned as is; a cancelled or expired one
    is ``booking.hold_expired``."""
    b = get_or_404(session, Booking, booking_id)
    if b.status == BookingStatus.HELD:
        result = session.exec(
            update(Booking)
            .where(col(Booking.id) == b.id, col(Booking.status) == BookingStatus.HELD)
            .values(
                status=BookingStatus.CONFIRMED,
                confirmed_at=now,
                hold_expires_at=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        session.refresh(b)
        if _rowcount(result) == 1:
            for entry in session.exec(
                select(WaitlistEntry).where(
                    WaitlistEntry.booking_id == b.id,
                    WaitlistEntry.status == WaitlistStatus.OFFERED,
                )
            ).all():
                entry.status = WaitlistStatus.BOOKED
                entry.updated_at = now
                session.add(entry)
            session.flush()
            messages.booking_confirmed(session, b, now)
    if b.status in (BookingStatus.CANCELLED, BookingStatus.EXPIRED):
        raise DomainError("booking.hold_expired")
    return b


def on_paid(session: TenantSession, booking_id: int, now: datetime) -> Booking:
    """The orders package's hook when an order is paid: confirm the booking."""
    return confirm(session=session, booking_id=booking_id, now=now)


def release(
    *, session: TenantSession, booking_id: int, now: datetime, status: BookingStatus | str
) -> None:
    """Cancel or expire a held/confirmed booking and give its seat and resource units
    back, exactly once however often it is called (a conditional status UPDATE);
    then the seat is offered to the slot's waiting list."""
    new = BookingStatus(status)
    if new not in (BookingStatus.CANCELLED, BookingStatus.EXPIRED):
        raise ValueError(f"release to {new}")
    b = get_or_404(session, Booking, booking_id)
    was = b.status
    if was not in OPEN:
        return
    write_lock(session)
    result = session.exec(
        update(Booking)
        .where(col(Booking.id) == b.id, col(Booking.status).in_([str(s) for s in OPEN]))
        # A cancellation is a change of the event: SEQUENCE goes up (RFC 5546 CANCEL).
        .values(
            status=new,
            cancelled_at=now,
            updated_at=now,
            ics_sequence=col(Booking.ics_sequence) + 1,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(b)
    if _rowcount(result) != 1:
        return
    assert b.id is not None
    # The seat before the resource units: slot rows, then resource-day rows, the order
    # every use case locks them in (no deadlock).
    free_seat(session, b.slot_id)
    _free_units(session, b.id)
    for entry in session.exec(
        select(WaitlistEntry).where(
            WaitlistEntry.booking_id == b.id, WaitlistEntry.status == WaitlistStatus.OFFERED
        )
    ).all():
        entry.status = WaitlistStatus.LAPSED
        entry.updated_at = now
        session.add(entry)
    session.flush()
    messages.booking_released(session, b, was_confirmed=was == BookingStatus.CONFIRMED, now=now)
    from prm_saas.booking.waitlist import offer_seat  # waitlist builds on this module

    offer_seat(session=session, slot_id=b.slot_id, now=now)


# --- the patient's own bookings ------------------------------------------------------------


@dataclass(frozen=True)
class CancelResult:
    """What a patient's cancellation did; orders refunds ``refund_percent`` of what was paid."""

    booking_id: int
    status: str  # the booking's status after the call
    refund_percent: int  # 100, the policy's late percent, or 0
    was_confirmed: bool


def _own_booking(session: TenantSession, actor: Principal, booking_id: object) -> Booking:
    actor = require_patient(session, actor)
    b = get_or_404(session, Booking, booking_id)
    if b.patient_id != actor.id:
        raise NotFound()
    return b


def _slot_of(session: TenantSession, b: Booking) -> Slot:
    return get_or_404(session, Slot, b.slot_id)


def _check_cutoff(session: TenantSession, b: Booking, now: datetime) -> tuple[Slot, timedelta]:
    if b.status not in OPEN:
        raise DomainError("booking.not_changeable")
    slot = _slot_of(session, b)
    settings = get_booking_settings(session=session)
    left = slot.starts_at - now
    if left < timedelta(hours=settings.cancel_cutoff_hours):
        raise DomainError("booking.cancel_too_late", hours=settings.cancel_cutoff_hours)
    return slot, left


def cancel_by_patient(
    *, session: TenantSession, actor: Principal, booking_id: int, now: datetime
) -> CancelResult:
    """The patient cancels their own booking before the policy's cutoff. The refund
    share: 100 when at least ``full_refund_hours`` ahead, else ``late_refund_percent``;
    0 for a booking never paid (held)."""
    b = _own_booking(session, actor, booking_id)
    _slot, left = _check_cutoff(session, b, now)
    settings = get_booking_settings(session=session)
    was_confirmed = b.status == BookingStatus.CONFIRMED
    if not was_confirmed:
        percent = 0
    elif left >= timedelta(hours=settings.full_refund_hours):
        percent = 100
    else:
        percent = settings.late_refund_percent
    release(session=session, booking_id=int(b.id or 0), now=now, status=BookingStatus.CANCELLED)
    record(
        session,
        actor=actor,
        action="booking.cancel",
        target_type="booking",
        target_id=b.id,
        details={"refund_percent": percent},
    )
    return CancelResult(
        booking_id=int(b.id or 0),
        status=str(b.status),
        refund_percent=percent,
        was_confirmed=was_confirmed,
    )


def reschedule_by_patient(
    *, session: TenantSession, actor: Principal, booking_id: int, new_slot_id: int, now: datetime
) -> Booking:
    """Move the patient's own booking to another slot of the same location. The new
    seat (and resource units, for another day) is taken before the old ones are
    freed, in one transaction; the same checks as ``reserve`` apply to the new slot.
    ``ics_sequence`` goes up by one (calendar apps update the event)."""
    b = _own_booking(session, actor, booking_id)
    old_slot, _left = _check_cutoff(session, b, now)
    new_slot = get_or_404(session, Slot, _int_id(new_slot_id))
    if new_slot.location_id != b.location_id:
        raise NotFound()
    if new_slot.id == old_slot.id:
        raise DomainError("booking.same_slot")
    loc = get_or_404(session, Location, b.location_id)
    tz = tenant_zone(session)
    problem = day_problem(session, loc, new_slot.day, now, tz)
    if problem is not None:
        raise DomainError(problem[0], **problem[1])
    if new_slot.starts_at <= now:
        raise DomainError("booking.slot_started")
    addons = json.loads(b.addon_item_ids or "[]")
    priced = package_for_booking(
        session=session, package_id=b.package_id, location_id=b.location_id, addon_item_ids=addons
    )
    patient = get_or_404(session, Patient, b.patient_id)
    why = check_eligibility(
        package=priced.package,
        sex=str(patient.sex),
        birth_date=patient.birth_date,
        on_day=new_slot.day,
    )
    if why:
        raise DomainError(why)
    _check_not_booked(session, b.patient_id, b.location_id, new_slot.day, exclude=b.id)
    if new_slot.booked >= new_slot.capacity:
        raise DomainError("booking.slot_full")
    assert b.id is not None
    assert new_slot.id is not None
    old_seq = b.ics_sequence
    write_lock(session)
    with session.begin_nested():
        # Both slot rows locked in id order (two patients swapping slots at once cannot
        # deadlock), seats before resource units (as everywhere).
        session.exec(
            select(Slot.id)
            .where(col(Slot.id).in_([new_slot.id, old_slot.id]))
            .order_by(col(Slot.id))
            .with_for_update()
        ).all()
        if not take_seat(session, new_slot.id):
            raise DomainError("booking.slot_full")
        free_seat(session, old_slot.id or 0)
        if new_slot.day != old_slot.day:
            _free_units(session, b.id)
            _take_units(
                session,
                booking_id=b.id,
                location_id=b.location_id,
                day=new_slot.day,
                keys=set(priced.resource_keys),
                override=False,
            )
        b.slot_id = new_slot.id
        b.ics_sequence = old_seq + 1
        b.updated_at = now
        session.add(b)
        session.flush()
    session.expire(new_slot)
    session.expire(old_slot)
    record(
        session,
        actor=actor,
        action="booking.reschedule",
        target_type="booking",
        target_id=b.id,
        details={"from_slot": old_slot.id, "to_slot": new_slot.id},
    )
    messages.booking_rescheduled(session, b, old_sequence=old_seq, now=now)
    from prm_saas.booking.waitlist import offer_seat

    offer_seat(session=session, slot_id=int(old_slot.id or 0), now=now)
    return b


@dataclass(frozen=True)
class BookingView:
    """A booking as the patient's pages (and messages) show it."""

    id: int
    status: str
    package_id: int
    package_name_zh: str
    package_name_en: str
    instructions_zh: str
    instructions_en: str
    location_id: int
    location_name_zh: str
    location_name_en: str
    location_address: str
    slot_id: int
    day: date
    starts_at: datetime
    ends_at: datetime
    local_start: str
    local_end: str
    timezone: str
    hold_expires_at: datetime | None
    checkin_code: str
    ics_uid: str
    ics_sequence: int
    addon_item_ids: list[int]
    walk_in: bool


def view_of(session: TenantSession, b: Booking) -> BookingView:
    """The display form of a booking (names and local times)."""
    tz = tenant_zone(session)
    slot = _slot_of(session, b)
    pkg = session.get(HealthPackage, b.package_id)
    loc = session.get(Location, b.location_id)
    return BookingView(
        id=int(b.id or 0),
        status=str(b.status),
        package_id=b.package_id,
        package_name_zh=pkg.name_zh if pkg else "",
        package_name_en=(pkg.name_en or pkg.name_zh) if pkg else "",
        instructions_zh=pkg.instructions_zh if pkg else "",
        instructions_en=(pkg.instructions_en or pkg.instructions_zh) if pkg else "",
        location_id=b.location_id,
        location_name_zh=loc.name_zh if loc else "",
        location_name_en=(loc.name_en or loc.name_zh) if loc else "",
        location_address=loc.address if loc else "",
        slot_id=b.slot_id,
        day=slot.day,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        local_start=local_label(slot.starts_at, tz),
        local_end=local_label(slot.ends_at, tz),
        timezone=str(tz.key),
        hold_expires_at=b.hold_expires_at,
        checkin_code=b.checkin_code,
        ics_uid=b.ics_uid,
        ics_sequence=b.ics_sequence,
        addon_item_ids=[int(i) for i in json.loads(b.addon_item_ids or "[]")],
        walk_in=b.walk_in,
    )


def my_bookings(*, session: TenantSession, actor: Principal, limit: int = 100) -> list[BookingView]:
    """The patient's own bookings, newest first."""
    actor = require_patient(session, actor)
    rows = session.exec(
        select(Booking)
        .where(Booking.patient_id == actor.id)
        .order_by(col(Booking.created_at).desc(), col(Booking.id).desc())
        .limit(max(1, min(int(limit), 500)))
    ).all()
    return [view_of(session, b) for b in rows]


def booking_detail(*, session: TenantSession, actor: Principal, booking_id: int) -> BookingView:
    """One of the patient's own bookings (another's, or another tenant's, is NotFound)."""
    return view_of(session, _own_booking(session, actor, booking_id))
