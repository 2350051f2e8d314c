"""Schedules: locations, weekly opening hours, closures, scarce resources and the
tenant's booking policy (``SCHEDULE_MANAGE``), and the slots cut from them.

Slots are made on demand, day by day (``ensure_slots``), from the weekly hours in
the tenant's time zone and stored in UTC. Making them is idempotent and safe to
run from many requests at once: the unique constraint ``uq_slot_start`` decides,
and a loser's insert is rolled back to a savepoint, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.audit.services import record
from prm_saas.billing import limits as plan_limits
from prm_saas.booking.models import (
    BookingSettings,
    Closure,
    Location,
    LocationHours,
    Resource,
    ResourceDay,
    Slot,
)
from prm_saas.mall.models import ExamItem, PackageItem
from prm_saas.validation import Checker
from tenants.db import TenantSession
from tenants.errors import FieldErrors, TenantReadOnly
from tenants.lookup import get_or_404
from tenants.models import Tenant
from tenants.types import utcnow

HHMM_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
RESOURCE_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
SLOT_MINUTES_MIN, SLOT_MINUTES_MAX = 5, 240
CAPACITY_MAX = 10_000
DAYS_AHEAD_MAX = 365


def pk(row: Any) -> int:
    """The primary key of a row that has been flushed."""
    assert row.id is not None
    return int(row.id)


def write_lock(session: TenantSession) -> None:
    """On SQLite, open the transaction with BEGIN IMMEDIATE (take the write lock now,
    waiting for it under busy_timeout) unless it is already open. pysqlite would
    otherwise BEGIN DEFERRED, read under a snapshot, and fail the later write with
    "database is locked" when another writer committed in between. PostgreSQL needs
    nothing: its row locks and READ COMMITTED do the work."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        dbapi.execute("BEGIN IMMEDIATE")


# --- time zone helpers ---------------------------------------------------------------


def tenant_zone(session: TenantSession) -> ZoneInfo:
    """The session tenant's time zone (Asia/Shanghai if unknown)."""
    tenant = session.get(Tenant, session.tenant_id)
    return ZoneInfo(tenant.timezone if tenant and tenant.timezone else "Asia/Shanghai")


def local_today(now: datetime, tz: ZoneInfo) -> date:
    """The tenant's calendar date at the instant ``now``."""
    return now.astimezone(tz).date()


def local_label(instant: datetime, tz: ZoneInfo) -> str:
    """``HH:MM`` of an instant in the tenant's zone."""
    return instant.astimezone(tz).strftime("%H:%M")


def _parse_hhmm(value: str) -> time:
    h, m = value.split(":")
    return time(int(h), int(m))


def _minutes(value: str) -> int:
    t = _parse_hhmm(value)
    return t.hour * 60 + t.minute


def local_instant(day: date, minutes: int, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of ``day`` + ``minutes`` wall-clock time in ``tz``, or None when
    that wall time does not exist (skipped by a daylight-saving jump)."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minutes)
    aware = naive.replace(tzinfo=tz)
    utc = aware.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return utc


# --- small validation helpers ----------------------------------------------------------


def _int(check: Checker, field: str, value: Any, lo: int, hi: int) -> int:
    try:
        v = int(value)
        if isinstance(value, bool) or (isinstance(value, float) and v != value):
            raise ValueError
    except (TypeError, ValueError):
        check.fail(field, "booking.field.number_invalid", min=lo, max=hi)
        return lo
    if not lo <= v <= hi:
        check.fail(field, "booking.field.number_invalid", min=lo, max=hi)
    return v


def _hhmm(check: Checker, field: str, value: str | None, *, required: bool = True) -> str:
    v = (value or "").strip()
    if not v and not required:
        return ""
    if not HHMM_RE.match(v):
        check.fail(field, "booking.field.time_invalid")
    return v


def _day(check: Checker, field: str, value: date | str | None) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        check.fail(field, "field.date_invalid")
        return None


# --- locations -------------------------------------------------------------------------


def _location_fields(
    check: Checker,
    *,
    name_zh: str,
    name_en: str,
    address: str,
    phone: str,
    min_days_ahead: Any,
    max_days_ahead: Any,
    same_day_cutoff: str,
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name_zh": check.text("name_zh", name_zh, max_len=80),
        "name_en": check.text("name_en", name_en, max_len=80, required=False),
        "address": check.text("address", address, max_len=200, required=False),
        "phone": check.text("phone", phone, max_len=30, required=False),
        "min_days_ahead": _int(check, "min_days_ahead", min_days_ahead, 0, DAYS_AHEAD_MAX),
        "max_days_ahead": _int(check, "max_days_ahead", max_days_ahead, 0, DAYS_AHEAD_MAX),
        "same_day_cutoff": _hhmm(check, "same_day_cutoff", same_day_cutoff, required=False),
    }
    if (
        "min_days_ahead" not in check.errors
        and "max_days_ahead" not in check.errors
        and fields["max_days_ahead"] < fields["min_days_ahead"]
    ):
        check.fail("max_days_ahead", "booking.field.window_invalid")
    return fields


def _valid_location(**details: Any) -> dict[str, Any]:
    """A location's checked fields (FieldErrors naming every bad one)."""
    check = Checker()
    fields = _location_fields(check, **details)
    check.raise_if_any()
    return fields


def create_location(
    *,
    session: TenantSession,
    actor: Principal,
    name_zh: str,
    name_en: str = "",
    address: str = "",
    phone: str = "",
    min_days_ahead: int = 1,
    max_days_ahead: int = 30,
    same_day_cutoff: str = "",
) -> Location:
    """A new location (closed every day until weekly hours are added)."""
    actor = require_staff(session, actor, Permission.SCHEDULE_MANAGE)
    fields = _valid_location(
        name_zh=name_zh,
        name_en=name_en,
        address=address,
        phone=phone,
        min_days_ahead=min_days_ahead,
        max_days_ahead=max_days_ahead,
        same_day_cutoff=same_day_cutoff,
    )
    # The plan's limit on locations (docs/design/billing.md).
    plan_limits.require_room(session, plan_limits.Resource.LOCATIONS)
    loc = Location(**fields)
    session.add(loc)
    session.flush()
    record(
        session,
        actor=actor,
        action="booking.location_create",
        target_type="location",
        target_id=loc.id,
        details={"name": loc.name_zh},
    )
    return loc


def update_location(
    *,
    session: TenantSession,
    actor: Principal,
    location_id: int,
    name_zh: str,
    name_en: str = "",
    address: str = "",
    phone: str = "",
    min_days_ahead: int = 1,
    max_days_ahead: int = 30,
    same_day_cutoff: str = "",
    active: bool = True,
) -> Location:
    """Change a location's details, booking window and same-day cutoff."""
    actor = require_staff(session, actor, Permission.SCHEDULE_MANAGE)
    loc = get_or_404(session, Location, location_id)
    fields = _valid_location(
        name_zh=name_zh,
        name_en=name_en,
        address=address,
        phone=phone,
        min_days_ahead=min_days_ahead,
        max_days_ahead=max_days_ahead,
        same_day_cutoff=same_day_cutoff,
    )
    if active and not loc.active:
        plan_limits.require_room(session, plan_limits.Resource.LOCATIONS)  # reopening counts again
    for k, v in fields.items():
        setattr(loc, k, v)
    loc.active = bool(active)
    session.add(loc)
    session.flush()
    record(
        session,
        actor=actor,
        action="booking.location_update",
        target_type="location",
        target_id=loc.id,
    )
    return loc


def list_locations(
    *, session: TenantSession, active_only: bool = True, actor: Principal | None = None
) -> list[Location]:
    """The tenant's locations (public within the tenant: the booking flow lists them).
    With a staff ``actor`` (the front desk), the actor is checked first."""
    if actor is not None:
        require_staff(session, actor, Permission.FRONT_DESK)
    stmt = select(Location).order_by(col(Location.id))
    if active_only:
        stmt = stmt.where(col(Location.active).is_(True))
    return list(session.exec(stmt).all())


# --- weekly hours ----------------------------------------------------------------------


def _hours_fields(
    check: Checker, *, weekday: Any, start: str, end: str, slot_minutes: Any, capacity: Any
) -> dict[str, Any]:
    probe = Checker()
    wd = _int(probe, "weekday", weekday, 0, 6)
    if probe.errors:
        check.fail("weekday", "booking.field.weekday_invalid")
    s = _hhmm(check, "start", start)
    e = _hhmm(check, "end", end)
    minutes = _int(check, "slot_minutes", slot_minutes, SLOT_MINUTES_MIN, SLOT_MINUTES_MAX)
    cap = _int(check, "capacity", capacity, 0, CAPACITY_MAX)
    if "start" not in check.errors and "end" not in check.errors:
        length = _minutes(e) - _minutes(s)
        if length <= 0:
            check.fail("end", "booking.field.end_before_start")
        elif "slot_minutes" not in check.errors and length % minutes != 0:
            check.fail("slot_minutes", "booking.field.slot_minutes_invalid")
    return {"weekday": wd, "start": s, "end": e, "slot_minutes": minutes, "capacity": cap}


def _check_overlap(
    session: TenantSession,
    check: Checker,
    location_id: int,
    fields: dict[str, Any],
    skip_id: int | None,
) -> None:
    if check.errors:
        return
    others = session.exec(
        select(LocationHours).where(
            LocationHours.location_id == location_id, LocationHours.weekday == fields["weekday"]
        )
    ).all()
    s, e = _minutes(fields["start"]), _minutes(fields["end"])
    for h in others:
        if h.id != skip_id and _minutes(h.start) < e and s < _minutes(h.end):
            check.fail("start", "booking.field.hours_overlap")
            return


def add_hours(
    *,
    session: TenantSession,
    actor: Principal,
    location_id: int,
    weekday: int,
    start: str,
    end: str,
    slot_minutes: int = 30,
    capacity: int = 40,
) -> LocationHours:
    """A weekly opening block: ``weekday`` (0 = Monday) from ``start`` to ``end`` local,
    cut into ``slot_minutes`` slots of ``capacity`` seats."""
    actor = require_staff(session, actor, Permission.SCHEDULE_MANAGE)
    loc = get_or_404(session, Location, location_id)
    check = Checker()
    fields = _hours_fields(
        check, weekday=weekday, start=start, end=end, slot_minutes=slot_minutes, capacity=capacity
    )
    _check_overlap(session, check, int(loc.id or 0), fields, None)
    check.raise_if_any()
    hours = LocationHours(location_id=pk(loc), **fields)
    session.add(hours)
    session.flush()
    record(
        session,
        actor=actor,
        action="booking.hours_add",
        target_type="location",
        target_id=loc.id,
        details=fields,
    )
    return hours


def update_hours(
    *,
    session: TenantSession,
    actor: Principal,
    hours_id: int,
    weekday: int,
    start: str,
    end: str,
    slot_minutes: int = 30,
    capacity: int = 40,
    now: datetime | None = None,
) -> LocationHours:
    """Change an opening block. Future slots already made from it that keep their
    times take the new capacity (a seat already booked is never taken away)."""
    actor = require_staff(session, actor, Permission.SCHEDULE_MANAGE)
    hours = get_or_404(session, LocationHours, hours_id)
    check = Checker()
    fields = _hours_fields(
        check, weekday=weekday, start=start, end=end, slot_minutes=slot_minutes, capacity=capacity
    )
    _check_overlap(session, check, hours.location_id, fields, hours.id)
    check.raise_if_any()
    for k, v in fields.items():
        setattr(hours, k, v)
    session.add(hours)
    session.flush()
    _resize_future_slots(session, hours, now or utcnow())
    record(
        session,
        actor=actor,
        action="booking.hours_update",
        target_type="location",
        target_id=hours.location_id,
        details=fields,
    )
    return hours


def _resize_future_slots(session: TenantSession, hours: LocationHours, now: datetime) -> None:
    tz = tenant_zone(session)
    slots = session.exec(
        select(Slot).where(Slot.location_id == hours.location_id, col(Slot.starts_at) > now)
    ).all()
    s, e = _minutes(hours.start), _minutes(hours.end)
    for slot in slots:
        local = slot.starts_at.astimezone(tz)
        m = local.hour * 60 + local.minute
        length = int((slot.ends_at - slot.starts_at).total_seconds() // 60)
        if (
            local.weekday() == hours.weekday
            and s <= m < e
            and length == hours.slot_minutes
            and slot.capacity != hours.capacity
        ):
            slot.capacity = hours.capacity
            session.add(slot)
    session.flush()


def delete_hours(*, session: TenantSession, actor: Principal, hours_id: int) -> None:
    """Remove an opening block (slots already made stay, with their bookings)."""
    actor = require_staff(session, actor, Permission.SCHEDULE_MANAGE)
    hours = get_or_404(session, LocationHours, hours_id)
    record(
        session,
        actor=actor,
        action="booking.hours_delete",
        target_type="location",
        target_id=hours.location_id,
        details={"weekday": hours.weekday, "start": hours.start, "end": hours.end},
    )
    session.delete(hours)
    session.flush()


def list_hours(*, session: TenantSession, location_id: int) -> list[LocationHours]:
    """A location's weekly blocks, by weekday and start."""
    get_or_404(session, Location, location_id)
    return list(
        session.exec(
            select(LocationHours)
            .where(LocationHours.location_id == location_id)
            .order_by(col(LocationHours.weekday), col(LocationHours.start))
        ).all()
    )


# --- closures --------------------------------------------------------------------------


def add_closure(
    *, session: TenantSession, actor: Principal, location_id: int, day: date | str, reason: str = ""
) -> Closure:
    """Close a location on one day (a holiday): no new slots, no new bookings."""
    actor = require_staff(session, actor, Permission.SCHEDULE_MANAGE)
    loc = get_or_404(session, Location, location_id)
    check = Checker()
    d = _day(check, "day", day)
    why = check.text("reason", reason, max_len=120, required=False)
    check.raise_if_any()
    assert d is not None
    if session.exec(select(Closure).where(Closure.location_id == loc.id, Closure.day == d)).first():
        raise FieldErrors.single("day", "booking.field.closure_exists")
    closure = Closure(location_id=pk(loc), day=d, reason=why)
    try:
        with session.begin_nested():
            session.add(closure)
            session.flush()
    except IntegrityError:
        raise FieldErrors.single("day", "booking.field.closure_exists") from None
    record(
        session,
        actor=actor,
        action="booking.closure_add",
        target_type="location",
        target_id=loc.id,
        details={"day": d.isoformat(), "reason": why},
    )
    return closure


def delete_closure(*, session: TenantSession, actor: Principal, closure_id: int) -> None:
    """Open a closed day again."""
    actor = require_staff(session, actor, Permission.SCHEDULE_MANAGE)
    closure = get_or_404(session, Closure, closure_id)
    record(
        session,
        actor=actor,
        action="booking.closure_delete",
        target_type="location",
        target_id=closure.location_id,
        details={"day": closure.day.isoformat()},
    )
    session.delete(closure)
    session.flush()


def list_closures(*, session: TenantSession, location_id: int) -> list[Closure]:
    """A location's closed days, in date order."""
    get_or_404(session, Location, location_id)
    return list(
        session.exec(
            select(Closure).where(Closure.location_id == location_id).order_by(col(Closure.day))
        ).all()
    )


def is_closed(session: TenantSession, location_id: int, day: date) -> bool:
    """Whether the location is closed that day (a closure, or no hours that weekday)."""
    if session.exec(
        select(Closure.id).where(Closure.location_id == location_id, Closure.day == day)
    ).first():
        return True
    return (
        session.exec(
            select(LocationHours.id).where(
                LocationHours.location_id == location_id, LocationHours.weekday == day.weekday()
            )
        ).first()
        is None
    )


# --- resources -------------------------------------------------------------------------


def _resource_fields(
    check: Checker, *, key: str, name_zh: str, name_en: str, daily_limit: Any
) -> dict[str, Any]:
    k = (key or "").strip()
    if not RESOURCE_KEY_RE.match(k):
        check.fail("key", "booking.field.resource_key_invalid")
    return {
        "key": k,
        "name_zh": check.text("name_zh", name_zh, max_len=60),
        "name_en": check.text("name_en", name_en, max_len=60, required=False),
        "daily_limit": _int(check, "daily_limit", daily_limit, 0, CAPACITY_MAX),
    }


def add_resource(
    *,
    session: TenantSession,
    actor: Principal,
    location_id: int,
    key: str,
    name_zh: str,
    name_en: str = "",
    daily_limit: int = 0,
) -> Resource:
    """A scarce resource at a location (``key`` matches ExamItem.resource_key)."""
    actor = require_staff(session, actor, Permission.SCHEDULE_MANAGE)
    loc = get_or_404(session, Location, location_id)
    check = Checker()
    fields = _resource_fields(
        check, key=key, name_zh=name_zh, name_en=name_en, daily_limit=daily_limit
    )
    if (
        "key" not in check.errors
        and session.exec(
            select(Resource.id).where(Resource.location_id == loc.id, Resource.key == fields["key"])
        ).first()
    ):
        check.fail("key", "booking.field.resource_key_taken")
    check.raise_if_any()
    res = Resource(location_id=pk(loc), **fields)
    try:
        with session.begin_nested():
            session.add(res)
            session.flush()
    except IntegrityError:
        raise FieldErrors.single("key", "booking.field.resource_key_taken") from None
    record(
        session,
        actor=actor,
        action="booking.resource_add",
        target_type="resource",
        target_id=res.id,
        details=fields,
    )
    return res


def update_resource(
    *,
    session: TenantSession,
    actor: Principal,
    resource_id: int,
    name_zh: str,
    name_en: str = "",
    daily_limit: int = 0,
    now: datetime | None = None,
) -> Resource:
    """Rename a resource or change its daily limit (applies to days not yet in use
    and to today's and future days already counted; units taken are never taken back)."""
    actor = require_staff(session, actor, Permission.SCHEDULE_MANAGE)
    res = get_or_404(session, Resource, resource_id)
    check = Checker()
    fields = _resource_fields(
        check, key=res.key, name_zh=name_zh, name_en=name_en, daily_limit=daily_limit
    )
    check.raise_if_any()
    res.name_zh, res.name_en, res.daily_limit = (
        fields["name_zh"],
        fields["name_en"],
        fields["daily_limit"],
    )
    session.add(res)
    today = local_today(now or utcnow(), tenant_zone(session))
    for rd in session.exec(
        select(ResourceDay).where(ResourceDay.resource_id == res.id, col(ResourceDay.day) >= today)
    ).all():
        rd.daily_limit = res.daily_limit
        session.add(rd)
    session.flush()
    record(
        session,
        actor=actor,
        action="booking.resource_update",
        target_type="resource",
        target_id=res.id,
        details=fields,
    )
    return res


def list_resources(*, session: TenantSession, location_id: int) -> list[Resource]:
    """A location's scarce resources."""
    get_or_404(session, Location, location_id)
    return list(
        session.exec(
            select(Resource).where(Resource.location_id == location_id).order_by(col(Resource.key))
        ).all()
    )


# --- booking policy --------------------------------------------------------------------


def get_booking_settings(*, session: TenantSession) -> BookingSettings:
    """The tenant's booking policy (an unsaved row of defaults when there is none)."""
    row = session.exec(select(BookingSettings)).first()
    return row if row is not None else BookingSettings()


def update_booking_settings(
    *,
    session: TenantSession,
    actor: Principal,
    hold_minutes: int,
    waitlist_offer_minutes: int,
    cancel_cutoff_hours: int,
    full_refund_hours: int,
    late_refund_percent: int,
    allow_pay_at_clinic: bool,
) -> BookingSettings:
    """Change the tenant's booking policy."""
    actor = require_staff(session, actor, Permission.SCHEDULE_MANAGE)
    check = Checker()
    values = {
        "hold_minutes": _int(check, "hold_minutes", hold_minutes, 1, 24 * 60),
        "waitlist_offer_minutes": _int(
            check, "waitlist_offer_minutes", waitlist_offer_minutes, 1, 7 * 24 * 60
        ),
        "cancel_cutoff_hours": _int(check, "cancel_cutoff_hours", cancel_cutoff_hours, 0, 30 * 24),
        "full_refund_hours": _int(check, "full_refund_hours", full_refund_hours, 0, 30 * 24),
        "late_refund_percent": _int(check, "late_refund_percent", late_refund_percent, 0, 100),
    }
    if (
        "cancel_cutoff_hours" not in check.errors
        and "full_refund_hours" not in check.errors
        and values["full_refund_hours"] < values["cancel_cutoff_hours"]
    ):
        check.fail("full_refund_hours", "booking.field.refund_hours_invalid")
    check.raise_if_any()
    row = session.exec(select(BookingSettings)).first()
    if row is None:
        row = BookingSettings()
    for k, v in values.items():
        setattr(row, k, v)
    row.allow_pay_at_clinic = bool(allow_pay_at_clinic)
    row.updated_at = utcnow()
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Another admin created the row at the same moment: update that one.
        row = session.exec(select(BookingSettings)).one()
        for k, v in values.items():
            setattr(row, k, v)
        row.allow_pay_at_clinic = bool(allow_pay_at_clinic)
        session.add(row)
        session.flush()
    record(
        session,
        actor=actor,
        action="booking.settings_update",
        target_type="booking_settings",
        details={**values, "allow_pay_at_clinic": bool(allow_pay_at_clinic)},
    )
    return row


# --- slots -----------------------------------------------------------------------------


def planned_slots(
    session: TenantSession, location_id: int, day: date, tz: ZoneInfo
) -> list[tuple[datetime, datetime, int]]:
    """(start, end, capacity) of the slots the weekly hours give ``day`` (UTC)."""
    blocks = session.exec(
        select(LocationHours).where(
            LocationHours.location_id == location_id, LocationHours.weekday == day.weekday()
        )
    ).all()
    out: list[tuple[datetime, datetime, int]] = []
    for b in blocks:
        m, end = _minutes(b.start), _minutes(b.end)
        while m + b.slot_minutes <= end:
            start = local_instant(day, m, tz)
            if start is not None:
                out.append((start, start + timedelta(minutes=b.slot_minutes), b.capacity))
            m += b.slot_minutes
    return sorted(out)


def ensure_slots(*, session: TenantSession, location_id: int, day: date) -> None:
    """Make the day's slots from the weekly hours unless the location is closed.

    Idempotent, and safe when many requests make the same day at once: each insert
    runs in a savepoint and the unique constraint ``uq_slot_start`` turns a lost
    race into a no-op."""
    loc = get_or_404(session, Location, location_id)
    if is_closed(session, int(loc.id or 0), day):
        return
    tz = tenant_zone(session)
    planned = planned_slots(session, int(loc.id or 0), day, tz)
    if not planned:
        return
    have = set(
        session.exec(
            select(Slot.starts_at).where(Slot.location_id == loc.id, Slot.day == day)
        ).all()
    )
    missing = [p for p in planned if p[0] not in have]
    if not missing:
        return
    write_lock(session)
    try:
        # The usual case: nobody else is making this day; one savepoint for all.
        with session.begin_nested():
            for start, end, cap in missing:
                session.add(
                    Slot(location_id=pk(loc), day=day, starts_at=start, ends_at=end, capacity=cap)
                )
            session.flush()
        return
    except IntegrityError:
        pass
    for start, end, cap in missing:
        try:
            with session.begin_nested():
                session.add(
                    Slot(location_id=pk(loc), day=day, starts_at=start, ends_at=end, capacity=cap)
                )
                session.flush()
        except IntegrityError:
            continue  # made by a concurrent caller


# Days a look at the schedule may make slots for: anyone in the tenant can ask for
# any date, so far-off dates only show what exists instead of filling the table.
VIEW_PAST_DAYS = 31
VIEW_FUTURE_DAYS = DAYS_AHEAD_MAX + 1


def make_slots_for_view(
    session: TenantSession, location_id: int, day: date, now: datetime, tz: ZoneInfo
) -> None:
    """``ensure_slots`` for a page that shows the day: only for days near enough to
    matter, and not for a suspended (read-only) tenant, which sees what exists."""
    today = local_today(now, tz)
    if (
        not today - timedelta(days=VIEW_PAST_DAYS)
        <= day
        <= today + timedelta(days=VIEW_FUTURE_DAYS)
    ):
        return
    try:
        ensure_slots(session=session, location_id=location_id, day=day)
    except TenantReadOnly:
        return


@dataclass(frozen=True)
class SlotView:
    """A slot as the booking pages show it."""

    id: int
    day: date
    starts_at: datetime  # UTC
    ends_at: datetime
    local_start: str  # "07:30" in the tenant's zone
    local_end: str
    capacity: int
    booked: int
    remaining: int
    full: bool
    resources_ok: bool
    bookable: bool
    reason: str  # "" when bookable, else a message key

    @property
    def slot_id(self) -> int:
        """The slot's id (the name the front desk's rows use)."""
        return self.id


def day_problem(
    session: TenantSession,
    location: Location,
    day: date,
    now: datetime,
    tz: ZoneInfo,
    *,
    staff: bool = False,
    closed: bool | None = None,
) -> tuple[str, dict[str, Any]] | None:
    """Why nobody can book ``day`` at ``location`` now, as (key, params), or None.

    Checked in a fixed order: past day, closed, outside the booking window, after
    the same-day cutoff. Front-desk staff (walk-ins) are not bound by the window
    or the cutoff. ``closed`` may be given when the caller already knows it."""
    today = local_today(now, tz)
    if day < today:
        return "booking.past_day", {}
    if closed is None:
        closed = is_closed(session, int(location.id or 0), day)
    if not location.active or closed:
        return "booking.closed", {}
    if staff:
        return None
    ahead = (day - today).days
    if ahead < location.min_days_ahead or ahead > location.max_days_ahead:
        return "booking.outside_window", {
            "min_days": location.min_days_ahead,
            "max_days": location.max_days_ahead,
        }
    if (
        ahead == 0
        and location.same_day_cutoff
        and now.astimezone(tz).strftime("%H:%M") >= location.same_day_cutoff
    ):
        return "booking.same_day_cutoff", {"cutoff": location.same_day_cutoff}
    return None


def package_resource_keys(session: TenantSession, package_id: int) -> set[str]:
    """The scarce resources a package's own items need."""
    rows = session.exec(
        select(ExamItem.resource_key)
        .join(PackageItem, col(PackageItem.item_id) == col(ExamItem.id))
        .where(PackageItem.package_id == package_id, ExamItem.resource_key != "")
    ).all()
    return {r for r in rows if r}


def resources_left(
    session: TenantSession, location_id: int, day: date, keys: set[str]
) -> dict[str, int]:
    """Units still free that day for each of ``keys`` configured at the location
    (a key with no Resource row there is not limited and is left out)."""
    if not keys:
        return {}
    resources = session.exec(
        select(Resource).where(Resource.location_id == location_id, col(Resource.key).in_(keys))
    ).all()
    out: dict[str, int] = {}
    for r in resources:
        rd = session.exec(
            select(ResourceDay).where(ResourceDay.resource_id == r.id, ResourceDay.day == day)
        ).first()
        out[r.key] = (rd.daily_limit - rd.used) if rd else r.daily_limit
    return out


def available_slots(
    *,
    session: TenantSession,
    location_id: int,
    day: date,
    package_id: int | None = None,
    now: datetime | None = None,
) -> list[SlotView]:
    """The day's slots with remaining seats and whether each can be booked now."""
    now = now or utcnow()
    loc = get_or_404(session, Location, location_id)
    tz = tenant_zone(session)
    make_slots_for_view(session, int(loc.id or 0), day, now, tz)
    problem = day_problem(session, loc, day, now, tz)
    resources_ok = True
    if package_id is not None:
        left = resources_left(
            session, int(loc.id or 0), day, package_resource_keys(session, int(package_id))
        )
        resources_ok = all(v > 0 for v in left.values())
    slots = session.exec(
        select(Slot)
        .where(Slot.location_id == loc.id, Slot.day == day)
        .order_by(col(Slot.starts_at))
    ).all()
    out: list[SlotView] = []
    for s in slots:
        remaining = max(0, s.capacity - s.booked)
        reason = ""
        if problem is not None:
            reason = problem[0]
        elif s.starts_at <= now:
            reason = "booking.slot_started"
        elif remaining == 0:
            reason = "booking.slot_full"
        elif not resources_ok:
            reason = "booking.resource_full"
        out.append(
            SlotView(
                id=int(s.id or 0),
                day=s.day,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                local_start=local_label(s.starts_at, tz),
                local_end=local_label(s.ends_at, tz),
                capacity=s.capacity,
                booked=s.booked,
                remaining=remaining,
                full=remaining == 0,
                resources_ok=resources_ok,
                bookable=not reason,
                reason=reason,
            )
        )
    return out
