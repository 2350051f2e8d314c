"""The patient's day picker (the booking window with closed days marked) and a
booking's invitation and QR code as the patient gets them: own booking only,
SEQUENCE following reschedules, METHOD:CANCEL after a cancellation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from icalendar import Calendar

from prm_saas.booking import schedule, services
from prm_saas.booking.calendar import bookable_days
from prm_saas.booking.invites import booking_invitation, booking_qr
from tenants.db import tenant_session
from tenants.errors import NotFound
from tests.booking.builders import DAY, NOW, first_slot, make_location, make_package, slots_of
from tests.factories import World


def _book(world: World, loc: int, pkg: int, slot: int, key: str = "k1") -> int:
    with tenant_session(world.a.id) as s:
        b = services.reserve(
            session=s,
            patient_id=world.patient_a.id,
            package_id=pkg,
            location_id=loc,
            slot_id=slot,
            addon_item_ids=[],
            idempotency_key=key,
            hold_until=None,
            now=NOW,
        )
        return int(b.id or 0)


def _parse(ics: bytes) -> tuple[Calendar, dict[str, object]]:
    cal = Calendar.from_ical(ics)
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == 1
    return cal, dict(events[0])


def test_days_cover_the_window_and_mark_closed_ones(world: World) -> None:
    # Open Monday to Friday, bookable 1 to 10 days ahead; a closure on DAY.
    loc = make_location(world.a, world.admin_a, weekdays=range(5), max_days_ahead=10)
    with tenant_session(world.a.id) as s:
        schedule.add_closure(
            session=s, actor=world.admin_a, location_id=loc, day=DAY, reason="设备检修"
        )
    with tenant_session(world.a.id) as s:
        days = bookable_days(session=s, location_id=loc, now=NOW)
    assert [d.day for d in days] == [date(2026, 12, 2) + timedelta(days=i) for i in range(10)]
    by_day = {d.day: d for d in days}
    assert by_day[DAY].reason == "booking.closed"
    saturday = by_day[date(2026, 12, 5)]
    assert (saturday.open, saturday.reason) == (False, "booking.closed")
    friday = by_day[date(2026, 12, 4)]
    assert (friday.open, friday.reason) == (True, "")


def test_days_of_another_tenants_location_are_not_found(world: World) -> None:
    loc_b = make_location(world.b, world.admin_b)
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        bookable_days(session=s, location_id=loc_b, now=NOW)
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        bookable_days(session=s, location_id="1; DROP TABLE slot", now=NOW)


def test_invitation_follows_the_booking_through_reschedule_and_cancel(world: World) -> None:
    loc = make_location(world.a, world.admin_a, capacity=3)
    pkg = make_package(world.a, [loc])
    bid = _book(world, loc, pkg, first_slot(world.a, loc))

    with tenant_session(world.a.id) as s:
        first = booking_invitation(session=s, actor=world.patient_a, booking_id=bid, now=NOW)
    cal, ev = _parse(first.content)
    assert str(cal["METHOD"]) == "REQUEST"
    uid = str(ev["UID"])
    assert int(str(ev["SEQUENCE"])) == 0
    # 08:00 Shanghai on DAY, written with its zone and a VTIMEZONE.
    start = ev["DTSTART"].dt  # type: ignore[attr-defined]
    assert (start.hour, start.minute, str(start.tzinfo)) == (8, 0, "Asia/Shanghai")
    assert any(c.name == "VTIMEZONE" for c in cal.subcomponents)
    assert "禁食" in str(ev["DESCRIPTION"])

    later = slots_of(world.a, loc, DAY)[1].id
    with tenant_session(world.a.id) as s:
        services.reschedule_by_patient(
            session=s, actor=world.patient_a, booking_id=bid, new_slot_id=later, now=NOW
        )
    with tenant_session(world.a.id) as s:
        moved = booking_invitation(session=s, actor=world.patient_a, booking_id=bid, now=NOW)
    _cal, ev = _parse(moved.content)
    assert str(ev["UID"]) == uid
    assert int(str(ev["SEQUENCE"])) == 1
    moved_start = ev["DTSTART"].dt  # type: ignore[attr-defined]
    assert (moved_start.hour, moved_start.minute) == (8, 30)

    with tenant_session(world.a.id) as s:
        services.cancel_by_patient(session=s, actor=world.patient_a, booking_id=bid, now=NOW)
    with tenant_session(world.a.id) as s:
        gone = booking_invitation(session=s, actor=world.patient_a, booking_id=bid, now=NOW)
        qr = booking_qr(session=s, actor=world.patient_a, booking_id=bid)
    cal, ev = _parse(gone.content)
    assert str(cal["METHOD"]) == "CANCEL"
    assert str(ev["UID"]) == uid
    assert int(str(ev["SEQUENCE"])) >= 2
    assert str(ev["STATUS"]) == "CANCELLED"
    assert qr == ""  # nothing to check in any more


def test_qr_and_invitation_are_the_patients_own(world: World) -> None:
    loc = make_location(world.a, world.admin_a)
    pkg = make_package(world.a, [loc])
    bid = _book(world, loc, pkg, first_slot(world.a, loc))
    with tenant_session(world.a.id) as s:
        qr = booking_qr(session=s, actor=world.patient_a, booking_id=bid)
        assert qr.startswith("data:image/svg+xml")
        # Front-desk staff of the tenant may print it too.
        assert booking_qr(session=s, actor=world.staff_a, booking_id=bid) == qr
    # The other tenant's patient and staff: the same NotFound as a missing booking.
    for actor in (world.patient_b, world.staff_b):
        with tenant_session(world.b.id) as s, pytest.raises(NotFound):
            booking_invitation(session=s, actor=actor, booking_id=bid, now=NOW)
        with tenant_session(world.b.id) as s, pytest.raises(NotFound):
            booking_qr(session=s, actor=actor, booking_id=bid)
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        booking_qr(session=s, actor=world.patient_a, booking_id=bid + 999)
