"""The front desk: day calendar, check-in, no-show, completion, walk-ins, search."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from prm_saas.audit.models import AuditEvent
from prm_saas.booking import frontdesk as fd
from prm_saas.booking import services
from prm_saas.booking.models import Booking, BookingStatus
from prm_saas.orders.models import Order
from tenants.db import tenant_session
from tenants.errors import DomainError, NotFound, PermissionDenied
from tests.booking.builders import DAY, NOW, TODAY, booked, make_location, make_package, slots_of
from tests.factories import World, make_patient


@pytest.fixture
def today(world: World) -> tuple[World, int, int, list[int]]:
    """A location open today 10:30-12:00 (now is 10:00) with capacity 1."""
    loc = make_location(world.a, world.admin_a, capacity=1, start="10:30", end="12:00",
                        min_days_ahead=0)  # fmt: skip
    pkg = make_package(world.a, [loc])
    make_package(world.b, [make_location(world.b, world.admin_b)])
    return world, loc, pkg, [v.id for v in slots_of(world.a, loc, TODAY)]


def _book(
    world: World, loc: int, pkg: int, sid: int, patient_id: int, hold: bool = False
) -> Booking:
    with tenant_session(world.a.id) as s:
        return services.reserve(
            session=s, patient_id=patient_id, package_id=pkg, location_id=loc, slot_id=sid,
            addon_item_ids=[], idempotency_key=f"b{patient_id}-{sid}",
            hold_until=NOW + timedelta(minutes=15) if hold else None, now=NOW,
        )  # fmt: skip


def test_check_in_by_code_then_complete(today: tuple[World, int, int, list[int]]) -> None:
    world, loc, pkg, slots = today
    b = _book(world, loc, pkg, slots[0], world.patient_a.id)
    with tenant_session(world.a.id) as s:
        done = fd.check_in(session=s, actor=world.staff_a, code_or_id=b.checkin_code, now=NOW)
        assert done.status == BookingStatus.CHECKED_IN
        assert done.checked_in_at == NOW
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as exc:
        fd.check_in(session=s, actor=world.staff_a, code_or_id=b.id, now=NOW)
    assert exc.value.key == "booking.already_checked_in"
    with tenant_session(world.a.id) as s:
        assert fd.complete(
            session=s, actor=world.staff_a, booking_id=b.id or 0, now=NOW
        ).status == (BookingStatus.COMPLETED)
        cal = fd.day_calendar(session=s, actor=world.staff_a, location_id=loc, day=TODAY)
    assert cal.counts == {"completed": 1}
    [row] = cal.slots[0].bookings
    assert row.patient_phone_masked == "138 **** 0001"
    assert (row.package_name_zh, row.status) == ("套餐P1", "completed")
    assert (cal.total_booked, cal.total_capacity) == (1, 3)


def test_check_in_refuses_unpaid_other_days_and_other_tenants(
    today: tuple[World, int, int, list[int]],
) -> None:
    world, loc, pkg, slots = today
    held = _book(world, loc, pkg, slots[0], world.patient_a.id, hold=True)
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as exc:
        fd.check_in(session=s, actor=world.staff_a, code_or_id=held.checkin_code, now=NOW)
    assert exc.value.key == "booking.checkin_not_confirmed"
    other = make_patient(world.a)
    later = _book(world, loc, pkg, slots_of(world.a, loc, DAY)[0].id, other.id)
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as exc:
        fd.check_in(session=s, actor=world.staff_a, code_or_id=later.checkin_code, now=NOW)
    assert exc.value.key == "booking.checkin_not_today"
    # Tenant B's desk scanning tenant A's code finds nothing.
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        fd.check_in(session=s, actor=world.staff_b, code_or_id=held.checkin_code, now=NOW)
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        fd.check_in(session=s, actor=world.staff_b, code_or_id=held.checkin_code, now=NOW)
    with tenant_session(world.a.id) as s, pytest.raises(PermissionDenied):
        fd.check_in(session=s, actor=world.patient_a, code_or_id=held.checkin_code, now=NOW)
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        fd.check_in(session=s, actor=world.staff_a, code_or_id="no-such-code", now=NOW)


def test_no_show_only_after_the_slot_started(today: tuple[World, int, int, list[int]]) -> None:
    world, loc, pkg, slots = today
    b = _book(world, loc, pkg, slots[0], world.patient_a.id)
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as exc:
        fd.mark_no_show(session=s, actor=world.staff_a, booking_id=b.id or 0, now=NOW)
    assert exc.value.key == "booking.no_show_too_early"
    with tenant_session(world.a.id) as s:
        fd.mark_no_show(
            session=s, actor=world.staff_a, booking_id=b.id or 0, now=NOW + timedelta(hours=1)
        )
    assert booked(world.a, slots[0]) == 1  # a no-show still used the seat
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as exc:
        fd.complete(session=s, actor=world.staff_a, booking_id=b.id or 0, now=NOW)
    assert exc.value.key == "booking.not_checked_in"


def test_walk_in_is_confirmed_and_may_exceed_capacity_with_a_reason(
    today: tuple[World, int, int, list[int]],
) -> None:
    world, loc, pkg, slots = today
    _book(world, loc, pkg, slots[0], world.patient_a.id)
    walker = make_patient(world.a, name="李四")
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as exc:
        fd.walk_in(session=s, actor=world.staff_a, patient_id=walker.id, package_id=pkg,
                   slot_id=slots[0], now=NOW)  # fmt: skip
    assert exc.value.key == "booking.slot_full"
    with tenant_session(world.a.id) as s:
        b = fd.walk_in(session=s, actor=world.staff_a, patient_id=walker.id, package_id=pkg,
                       slot_id=slots[0], override_reason="急诊转来", now=NOW)  # fmt: skip
        assert (b.status, b.walk_in, b.override_reason) == (
            BookingStatus.CONFIRMED,
            True,
            "急诊转来",
        )
        actions = {e.action for e in s.exec(select(AuditEvent)).all()}
        order = s.exec(select(Order).where(Order.booking_id == b.id)).one()
        assert (order.payment_method, order.expires_at) == ("clinic", None)
    assert {"booking.capacity_override", "booking.walk_in"} <= actions
    assert booked(world.a, slots[0]) == 2
    with tenant_session(world.a.id) as s, pytest.raises(PermissionDenied):
        fd.walk_in(session=s, actor=world.patient_a, patient_id=walker.id, package_id=pkg,
                   slot_id=slots[1], now=NOW)  # fmt: skip
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        fd.walk_in(session=s, actor=world.staff_b, patient_id=world.patient_b.id, package_id=pkg,
                   slot_id=slots[1], now=NOW)  # fmt: skip


def test_search_finds_patients_and_their_bookings_of_the_day(
    today: tuple[World, int, int, list[int]],
) -> None:
    world, loc, pkg, slots = today
    p = make_patient(world.a, name="王芳", phone="+8613912345678")
    _book(world, loc, pkg, slots[1], p.id)
    with tenant_session(world.a.id) as s:
        assert [h.name for h in fd.search_patients(session=s, actor=world.staff_a, query="王")] == [
            "王芳"
        ]
        hits = fd.search_patients(session=s, actor=world.staff_a, query="5678")
        assert [h.phone_masked for h in hits] == ["139 **** 5678"]
        assert fd.search_patients(session=s, actor=world.staff_a, query="%") == []
        found = fd.search_bookings(
            session=s, actor=world.staff_a, location_id=loc, day=TODAY, query="王芳"
        )
        assert [b.patient_name for b in found] == ["王芳"]
        assert [
            pk.id for pk in fd.walk_in_packages(session=s, actor=world.staff_a, location_id=loc)
        ] == [pkg]
    with tenant_session(world.b.id) as s:
        assert fd.search_patients(session=s, actor=world.staff_b, query="王芳") == []
