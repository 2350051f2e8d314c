"""Capacity under real concurrency: threads, each with its own session and
connection, race for the same seats (the big races on PostgreSQL; the double
submit on every database)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import col, func, select

from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import Patient, PrincipalKind, Sex
from prm_saas.booking import schedule, services, waitlist
from prm_saas.booking.models import Booking, BookingStatus, ResourceDay, WaitlistEntry
from tenants.db import tenant_session
from tenants.resolution import TenantInfo
from tests.booking.builders import (
    NOW,
    booked,
    count_bookings,
    make_location,
    make_package,
    slots_of,
)
from tests.concurrency import race
from tests.factories import World


def _patients(tenant: TenantInfo, n: int) -> list[int]:
    with tenant_session(tenant.id) as s:
        rows = [Patient(name=f"并发{i}", phone=f"+86137{i:08d}", sex=Sex.UNKNOWN) for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [int(p.id or 0) for p in rows]


def _reserve(tenant: TenantInfo, **kw: object) -> Booking:
    args: dict[str, object] = {
        "addon_item_ids": [],
        "hold_until": NOW + timedelta(minutes=15),
        "now": NOW,
    }
    args.update(kw)
    with tenant_session(tenant.id) as s:
        return services.reserve(session=s, **args)  # type: ignore[arg-type]


@pytest.mark.postgres_only
def test_200_threads_for_40_seats_book_exactly_40(world: World) -> None:
    loc = make_location(world.a, world.admin_a, capacity=40)
    pkg = make_package(world.a, [loc])
    sid = slots_of(world.a, loc, NOW.date() + timedelta(days=2))[0].id
    patients = _patients(world.a, 200)
    out = race(
        200,
        lambda i: _reserve(
            world.a,
            patient_id=patients[i],
            package_id=pkg,
            location_id=loc,
            slot_id=sid,
            idempotency_key=f"c{i}",
        ),
    )
    assert out == Counter({"ok": 40, "booking.slot_full": 160})
    assert booked(world.a, sid) == 40
    assert count_bookings(world.a) == 40


@pytest.mark.postgres_only
def test_a_resource_limit_holds_across_slots(world: World) -> None:
    loc = make_location(world.a, world.admin_a, capacity=100)
    pkg = make_package(world.a, [loc], resource_key="ct")
    with tenant_session(world.a.id) as s:
        schedule.add_resource(
            session=s, actor=world.admin_a, location_id=loc, key="ct", name_zh="CT", daily_limit=15
        )
    slots = [v.id for v in slots_of(world.a, loc, NOW.date() + timedelta(days=2))]
    patients = _patients(world.a, 80)
    out = race(
        80,
        lambda i: _reserve(
            world.a,
            patient_id=patients[i],
            package_id=pkg,
            location_id=loc,
            slot_id=slots[i % len(slots)],
            idempotency_key=f"r{i}",
        ),
    )
    assert out == Counter({"ok": 15, "booking.resource_full": 65})
    with tenant_session(world.a.id) as s:
        assert s.exec(select(ResourceDay.used)).all() == [15]
    assert sum(booked(world.a, sid) for sid in slots) == 15


def test_the_same_key_from_20_threads_makes_one_booking(world: World) -> None:
    loc = make_location(world.a, world.admin_a, capacity=40)
    pkg = make_package(world.a, [loc])
    sid = slots_of(world.a, loc, NOW.date() + timedelta(days=2))[0].id
    ids: set[int] = set()
    lock = threading.Lock()

    def submit(_i: int) -> None:
        b = _reserve(
            world.a, patient_id=world.patient_a.id, package_id=pkg, location_id=loc, slot_id=sid,
            idempotency_key="double-submit",
        )  # fmt: skip
        with lock:
            ids.add(int(b.id or 0))

    out = race(20, submit)
    assert out == Counter({"ok": 20})
    assert len(ids) == 1
    assert booked(world.a, sid) == 1
    assert count_bookings(world.a) == 1


@pytest.mark.postgres_only
def test_concurrent_releases_make_one_offer_per_freed_seat(world: World) -> None:
    loc = make_location(world.a, world.admin_a, capacity=10)
    pkg = make_package(world.a, [loc])
    sid = slots_of(world.a, loc, NOW.date() + timedelta(days=2))[0].id
    seated_patients = _patients(world.a, 10)
    seated = [
        int(
            _reserve(
                world.a, patient_id=p, package_id=pkg, location_id=loc, slot_id=sid,
                idempotency_key=f"s{p}", hold_until=None,
            ).id or 0
        )
        for p in seated_patients
    ]  # fmt: skip
    with tenant_session(world.a.id) as s:
        waiting = [
            Patient(name=f"候补{i}", phone=f"+86136{i:08d}", sex=Sex.UNKNOWN) for i in range(15)
        ]
        s.add_all(waiting)
        s.flush()
        waiting_ids = [int(p.id or 0) for p in waiting]
    for pid in waiting_ids:
        with tenant_session(world.a.id) as s:
            actor = Principal(kind=PrincipalKind.PATIENT, id=pid, tenant_id=world.a.id, name="w")
            waitlist.join_waitlist(
                session=s, actor=actor, slot_id=sid, package_id=pkg, addon_item_ids=[], now=NOW
            )
    # Seven seated bookings are cancelled at the same moment (twice each: retries).
    out = race(
        14,
        lambda i: _release(world.a, seated[i % 7]),
    )
    assert out == Counter({"ok": 14})
    assert booked(world.a, sid) == 10
    with tenant_session(world.a.id) as s:
        entries = s.exec(select(WaitlistEntry).order_by(col(WaitlistEntry.id))).all()
        statuses = [str(e.status) for e in entries]
        held = s.exec(
            select(func.count()).select_from(Booking).where(Booking.status == BookingStatus.HELD)
        ).one()
    # The first seven in line got one offer each; the rest still wait.
    assert statuses == ["offered"] * 7 + ["waiting"] * 8
    assert held == 7
    assert len({e.booking_id for e in entries if e.booking_id}) == 7


def _release(tenant: TenantInfo, booking_id: int) -> None:
    with tenant_session(tenant.id) as s:
        services.release(session=s, booking_id=booking_id, now=NOW, status="cancelled")


def test_one_patient_in_many_tabs_gets_one_booking_that_day(world: World) -> None:
    loc = make_location(world.a, world.admin_a, capacity=40)
    pkg = make_package(world.a, [loc])
    slots = [v.id for v in slots_of(world.a, loc, NOW.date() + timedelta(days=2))]
    out = race(
        12,
        lambda i: _reserve(
            world.a,
            patient_id=world.patient_a.id,
            package_id=pkg,
            location_id=loc,
            slot_id=slots[i % len(slots)],
            idempotency_key=f"tab{i}",
        ),
    )
    assert out == Counter({"ok": 1, "booking.already_booked": 11})
    assert count_bookings(world.a) == 1
    assert sum(booked(world.a, sid) for sid in slots) == 1


def test_two_taps_on_join_make_one_waiting_list_entry(world: World) -> None:
    loc = make_location(world.a, world.admin_a, capacity=1)
    pkg = make_package(world.a, [loc])
    sid = slots_of(world.a, loc, NOW.date() + timedelta(days=2))[0].id
    other = _patients(world.a, 1)[0]
    _reserve(world.a, patient_id=other, package_id=pkg, location_id=loc, slot_id=sid,
             idempotency_key="seat")  # fmt: skip

    def join(_i: int) -> None:
        with tenant_session(world.a.id) as s:
            waitlist.join_waitlist(
                session=s, actor=world.patient_a, slot_id=sid, package_id=pkg,
                addon_item_ids=[], now=NOW,
            )  # fmt: skip

    out = race(8, join)
    assert out == Counter({"ok": 1, "booking.waitlist_already": 7})
