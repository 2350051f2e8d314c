"""The waiting list: joining, offers on release, lapses and the next in line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from prm_saas.booking import services, waitlist
from prm_saas.booking.models import Booking, BookingStatus, WaitlistEntry, WaitlistStatus
from prm_saas.messaging.models import Message
from prm_saas.orders.models import Order
from tenants.db import tenant_session
from tenants.errors import DomainError, NotFound, PermissionDenied
from tests.booking.builders import (
    DAY,
    NOW,
    booked,
    first_slot,
    make_location,
    make_package,
)
from tests.factories import World, make_patient


@pytest.fixture
def full(world: World) -> tuple[World, int, int, int, list[Booking]]:
    """A slot of capacity 2, both seats confirmed."""
    loc = make_location(world.a, world.admin_a, capacity=2)
    pkg = make_package(world.a, [loc])
    make_package(world.b, [make_location(world.b, world.admin_b)])
    sid = first_slot(world.a, loc)
    seated = []
    for i in range(2):
        p = make_patient(world.a)
        with tenant_session(world.a.id) as s:
            b = services.reserve(
                session=s, patient_id=p.id, package_id=pkg, location_id=loc, slot_id=sid,
                addon_item_ids=[], idempotency_key=f"s{i}", hold_until=None, now=NOW,
            )  # fmt: skip
            seated.append(b)
    return world, loc, pkg, sid, seated


def _join(world: World, actor: object, sid: int, pkg: int) -> WaitlistEntry:
    with tenant_session(world.a.id) as s:
        return waitlist.join_waitlist(
            session=s, actor=actor, slot_id=sid, package_id=pkg, addon_item_ids=[], now=NOW
        )  # type: ignore[arg-type]


def _entries(world: World) -> list[WaitlistEntry]:
    with tenant_session(world.a.id) as s:
        return list(s.exec(select(WaitlistEntry).order_by(WaitlistEntry.id)).all())  # type: ignore[arg-type]


def test_only_a_full_slot_has_a_waiting_list_and_once_per_patient(world: World) -> None:
    loc = make_location(world.a, world.admin_a, capacity=2)
    pkg = make_package(world.a, [loc])
    sid = first_slot(world.a, loc)
    with pytest.raises(DomainError) as exc:
        _join(world, world.patient_a, sid, pkg)
    assert exc.value.key == "booking.waitlist_not_full"


def test_join_rules(full: tuple[World, int, int, int, list[Booking]]) -> None:
    world, _loc, pkg, sid, _seated = full
    _join(world, world.patient_a, sid, pkg)
    with pytest.raises(DomainError) as exc:
        _join(world, world.patient_a, sid, pkg)
    assert exc.value.key == "booking.waitlist_already"
    with pytest.raises(PermissionDenied):
        _join(world, world.staff_a, sid, pkg)
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        waitlist.join_waitlist(
            session=s, actor=world.patient_b, slot_id=sid, package_id=pkg, addon_item_ids=[],
            now=NOW,
        )  # fmt: skip
    assert len(_entries(world)) == 1


def test_a_freed_seat_goes_to_the_first_in_line_then_the_next(
    full: tuple[World, int, int, int, list[Booking]],
) -> None:
    world, _loc, pkg, sid, seated = full
    first, second = make_patient(world.a), make_patient(world.a)
    _join(world, first, sid, pkg)
    _join(world, second, sid, pkg)
    with tenant_session(world.a.id) as s:
        services.release(session=s, booking_id=seated[0].id or 0, now=NOW, status="cancelled")
    assert booked(world.a, sid) == 2  # the freed seat is held for the first in line
    e1, e2 = _entries(world)
    assert (e1.status, e2.status) == (WaitlistStatus.OFFERED, WaitlistStatus.WAITING)
    with tenant_session(world.a.id) as s:
        offer = s.exec(select(Booking).where(Booking.id == e1.booking_id)).one()
        assert (offer.patient_id, offer.status) == (first.id, BookingStatus.HELD)
        assert offer.hold_expires_at == NOW + timedelta(minutes=30)
        keys = {m.dedupe_key for m in s.exec(select(Message)).all()}
        assert f"booking:{offer.id}:waitlist_offer:0" in keys
        # An order to pay, from orders, expiring with the offer.
        order = s.exec(select(Order).where(Order.booking_id == offer.id)).one()
        assert (order.status, order.expires_at) == ("pending_payment", offer.hold_expires_at)
    # The first one lets it lapse: the next in line gets it.
    later = NOW + timedelta(minutes=31)
    with tenant_session(world.a.id) as s:
        assert waitlist.expire_holds(session=s, now=later) == 1
        assert waitlist.expire_holds(session=s, now=later) == 0
    e1, e2 = _entries(world)
    assert (e1.status, e2.status) == (WaitlistStatus.LAPSED, WaitlistStatus.OFFERED)
    assert booked(world.a, sid) == 2
    # The second one pays: the entry is booked.
    with tenant_session(world.a.id) as s:
        services.on_paid(s, e2.booking_id or 0, later)
    assert _entries(world)[1].status == WaitlistStatus.BOOKED
    with tenant_session(world.a.id) as s:
        views = waitlist.my_waitlist(session=s, actor=second)
        assert [(v.status, v.booking_id) for v in views] == [("booked", e2.booking_id)]


def test_nobody_waiting_leaves_the_seat_free(
    full: tuple[World, int, int, int, list[Booking]],
) -> None:
    world, _loc, _pkg, sid, seated = full
    with tenant_session(world.a.id) as s:
        services.release(session=s, booking_id=seated[0].id or 0, now=NOW, status="cancelled")
    assert booked(world.a, sid) == 1


def test_a_patient_who_can_no_longer_take_the_seat_is_skipped(
    full: tuple[World, int, int, int, list[Booking]],
) -> None:
    world, loc, pkg, sid, seated = full
    first, second = make_patient(world.a), make_patient(world.a)
    _join(world, first, sid, pkg)
    _join(world, second, sid, pkg)
    # The first one booked another slot that day in the meantime.
    other_slot = first_slot(world.a, loc) + 1
    with tenant_session(world.a.id) as s:
        services.reserve(
            session=s, patient_id=first.id, package_id=pkg, location_id=loc,
            slot_id=other_slot, addon_item_ids=[], idempotency_key="elsewhere",
            hold_until=None, now=NOW,
        )  # fmt: skip
        services.release(session=s, booking_id=seated[0].id or 0, now=NOW, status="cancelled")
    e1, e2 = _entries(world)
    assert (e1.status, e2.status) == (WaitlistStatus.LAPSED, WaitlistStatus.OFFERED)


def test_leaving_the_waiting_list(full: tuple[World, int, int, int, list[Booking]]) -> None:
    world, _loc, pkg, sid, seated = full
    entry = _join(world, world.patient_a, sid, pkg)
    second = make_patient(world.a)
    _join(world, second, sid, pkg)
    with tenant_session(world.a.id) as s:
        [view] = waitlist.my_waitlist(session=s, actor=second)
    # What the patient's list shows: place in line, the slot's local time, the package.
    assert (view.status, view.position, view.day, view.local_start, view.local_end) == (
        "waiting",
        2,
        DAY,
        "08:00",
        "08:30",
    )
    assert view.package_name_en == "Package P1"
    other = make_patient(world.a)
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        waitlist.leave_waitlist(session=s, actor=other, entry_id=entry.id or 0)
    with tenant_session(world.a.id) as s:
        waitlist.leave_waitlist(session=s, actor=world.patient_a, entry_id=entry.id or 0)
        services.release(session=s, booking_id=seated[0].id or 0, now=NOW, status="cancelled")
    assert _entries(world)[0].status == WaitlistStatus.CANCELLED
    with tenant_session(world.a.id) as s:
        [view] = waitlist.my_waitlist(session=s, actor=second)
    assert view.status == "offered"  # the one behind got the seat
    assert booked(world.a, sid) == 2


def test_a_patients_own_cancellation_offers_the_seat_to_the_waiting_list(world: World) -> None:
    # The cancel reads the slot (for the cutoff) before it gives the seat back: the
    # offer that follows must see the freed seat, not the count it read first.
    loc = make_location(world.a, world.admin_a, capacity=1)
    pkg = make_package(world.a, [loc])
    sid = first_slot(world.a, loc)
    holder = make_patient(world.a)
    with tenant_session(world.a.id) as s:
        b = services.reserve(
            session=s, patient_id=holder.id, package_id=pkg, location_id=loc, slot_id=sid,
            addon_item_ids=[], idempotency_key="holder", hold_until=None, now=NOW,
        )  # fmt: skip
        held_id = b.id
    _join(world, world.patient_a, sid, pkg)
    with tenant_session(world.a.id) as s:
        services.cancel_by_patient(session=s, actor=holder, booking_id=held_id or 0, now=NOW)
    [entry] = _entries(world)
    assert entry.status == WaitlistStatus.OFFERED
    with tenant_session(world.a.id) as s:
        offered = s.exec(select(Booking).where(Booking.id == entry.booking_id)).one()
    assert (offered.patient_id, offered.status) == (world.patient_a.id, BookingStatus.HELD)
    assert booked(world.a, sid) == 1
