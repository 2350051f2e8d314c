"""Reserving seats: every bad input with its message, nothing half-written,
idempotency, overrides, tenants; confirm, release, cancel, reschedule, the
patient's own views, and the SQLite path under threads."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlmodel import select

from prm_saas.audit.models import AuditEvent
from prm_saas.booking import schedule, services
from prm_saas.booking.models import Booking, BookingStatus
from prm_saas.i18n import translate
from prm_saas.mall.models import TargetSex
from prm_saas.messaging.models import Message, MessageStatus
from tenants.db import get_engine, tenant_session
from tenants.errors import DomainError, NotFound, PermissionDenied
from tests.booking.builders import (
    DAY,
    NOW,
    SEX,
    TODAY,
    booked,
    count_bookings,
    first_slot,
    make_location,
    make_package,
    set_patient,
    slots_of,
    units_used,
)
from tests.factories import World, make_patient


def _reserve(world: World, slot_id: int, loc: int, pkg: int, **kw: Any) -> Booking:
    args: dict[str, Any] = {
        "patient_id": world.patient_a.id,
        "package_id": pkg,
        "location_id": loc,
        "slot_id": slot_id,
        "addon_item_ids": [],
        "idempotency_key": "k1",
        "hold_until": NOW + timedelta(minutes=15),
        "now": NOW,
    }
    args.update(kw)
    with tenant_session(world.a.id) as s:
        return services.reserve(session=s, **args)


@pytest.fixture
def setup(world: World) -> tuple[World, int, int]:
    loc = make_location(world.a, world.admin_a, capacity=2)
    pkg = make_package(world.a, [loc])
    # Tenant B has the same shape, so ids exist on both sides.
    loc_b = make_location(world.b, world.admin_b, capacity=2)
    make_package(world.b, [loc_b])
    return world, loc, pkg


def test_a_reservation_holds_a_seat_until_paid(setup: tuple[World, int, int]) -> None:
    world, loc, pkg = setup
    sid = first_slot(world.a, loc)
    b = _reserve(world, sid, loc, pkg)
    assert b.status == BookingStatus.HELD
    assert b.hold_expires_at == NOW + timedelta(minutes=15)
    assert len(b.checkin_code) >= 16
    assert b.ics_uid.startswith("booking-")
    assert b.ics_uid.endswith("@clinic-a.prm")
    assert booked(world.a, sid) == 1
    with tenant_session(world.a.id) as s:
        done = services.confirm(session=s, booking_id=b.id or 0, now=NOW)
        assert done.status == BookingStatus.CONFIRMED
        again = services.on_paid(s, b.id or 0, NOW)  # idempotent
        assert again.status == BookingStatus.CONFIRMED
    assert booked(world.a, sid) == 1


def _expect(key: str, fn: Any, *a: Any, **kw: Any) -> None:
    with pytest.raises(DomainError) as exc:
        fn(*a, **kw)
    assert exc.value.key == key
    # Every message exists in both languages.
    assert translate(key, "zh-CN") != key
    assert translate(key, "en") != key


def _nothing_written(world: World, sid: int | None = None) -> None:
    assert count_bookings(world.a) == 0
    assert units_used(world.a) == 0
    if sid is not None:
        assert booked(world.a, sid) == 0


def test_a_past_day_is_refused(setup: tuple[World, int, int]) -> None:
    world, loc, pkg = setup
    sid = slots_of(world.a, loc, TODAY - timedelta(days=1))[0].id
    _expect("booking.past_day", _reserve, world, sid, loc, pkg)
    _nothing_written(world, sid)


def test_a_closed_day_is_refused(setup: tuple[World, int, int]) -> None:
    world, loc, pkg = setup
    sid = first_slot(world.a, loc)
    with tenant_session(world.a.id) as s:
        schedule.add_closure(session=s, actor=world.admin_a, location_id=loc, day=DAY)
    _expect("booking.closed", _reserve, world, sid, loc, pkg)
    _nothing_written(world, sid)


def test_outside_the_window_and_after_the_cutoff_are_refused(world: World) -> None:
    loc = make_location(world.a, world.admin_a, min_days_ahead=0, max_days_ahead=3,
                        same_day_cutoff="09:30")  # fmt: skip
    pkg = make_package(world.a, [loc])
    late = slots_of(world.a, loc, DAY + timedelta(days=5))[0].id
    _expect("booking.outside_window", _reserve, world, late, loc, pkg)
    today = next(v for v in slots_of(world.a, loc, TODAY) if v.local_start == "09:30").id
    _expect("booking.same_day_cutoff", _reserve, world, today, loc, pkg)
    _nothing_written(world)


def test_a_started_slot_is_refused(world: World) -> None:
    loc = make_location(world.a, world.admin_a, min_days_ahead=0, start="09:00", end="11:00")
    pkg = make_package(world.a, [loc])
    started = slots_of(world.a, loc, TODAY)[0].id  # 09:00, now is 10:00
    _expect("booking.slot_started", _reserve, world, started, loc, pkg)
    _nothing_written(world, started)


def test_a_package_not_offered_at_the_location_is_refused(setup: tuple[World, int, int]) -> None:
    world, loc, _pkg = setup
    other_loc = make_location(world.a, world.admin_a, name_zh="分院")
    elsewhere = make_package(world.a, [other_loc], code="P2")
    sid = first_slot(world.a, loc)
    _expect("booking.not_offered", _reserve, world, sid, loc, elsewhere)
    _nothing_written(world, sid)


@pytest.mark.parametrize(
    ("pkg_kw", "patient_kw", "key"),
    [
        ({"target_sex": TargetSex.FEMALE}, {"sex": SEX.MALE}, "booking.wrong_sex"),
        ({"min_age": 40}, {"birth_date": date(1990, 1, 1)}, "booking.too_young"),
        ({"max_age": 30}, {"birth_date": date(1960, 1, 1)}, "booking.too_old"),
    ],
)
def test_patients_outside_the_packages_range_are_refused(
    world: World, pkg_kw: dict[str, Any], patient_kw: dict[str, Any], key: str
) -> None:
    loc = make_location(world.a, world.admin_a)
    pkg = make_package(world.a, [loc], **pkg_kw)
    set_patient(world.a, world.patient_a.id, **patient_kw)
    sid = first_slot(world.a, loc)
    _expect(key, _reserve, world, sid, loc, pkg)
    _nothing_written(world, sid)


def test_a_full_slot_is_refused_and_staff_may_override_with_a_reason(
    setup: tuple[World, int, int],
) -> None:
    world, loc, pkg = setup
    sid = first_slot(world.a, loc)
    others = [make_patient(world.a) for _ in range(3)]
    for i, p in enumerate(others[:2]):
        _reserve(world, sid, loc, pkg, patient_id=p.id, idempotency_key=f"o{i}")
    _expect("booking.slot_full", _reserve, world, sid, loc, pkg)
    # A patient cannot claim an override.
    with pytest.raises(PermissionDenied):
        _reserve(world, sid, loc, pkg, override_reason="VIP")
    # Staff without a reason are bound by capacity too.
    _expect("booking.slot_full", _reserve, world, sid, loc, pkg, staff=world.staff_a)
    assert booked(world.a, sid) == 2
    b = _reserve(world, sid, loc, pkg, staff=world.staff_a, override_reason="医生加号",
                 hold_until=None)  # fmt: skip
    assert b.status == BookingStatus.CONFIRMED
    assert booked(world.a, sid) == 3
    with tenant_session(world.a.id) as s:
        [ev] = s.exec(
            select(AuditEvent).where(AuditEvent.action == "booking.capacity_override")
        ).all()
        assert ev.target_id == str(b.id)
        assert "医生加号" in ev.details


def test_a_scarce_resource_limits_bookings_per_day(world: World) -> None:
    loc = make_location(world.a, world.admin_a, capacity=10)
    pkg = make_package(world.a, [loc], resource_key="ct")
    with tenant_session(world.a.id) as s:
        schedule.add_resource(
            session=s, actor=world.admin_a, location_id=loc, key="ct", name_zh="CT", daily_limit=1
        )
    views = slots_of(world.a, loc, DAY)
    p2 = make_patient(world.a)
    _reserve(world, views[0].id, loc, pkg)
    _expect("booking.resource_full", _reserve, world, views[1].id, loc, pkg, patient_id=p2.id,
            idempotency_key="k2")  # fmt: skip
    assert booked(world.a, views[1].id) == 0  # the seat taken first was given back
    assert count_bookings(world.a) == 1
    assert units_used(world.a) == 1
    with tenant_session(world.a.id) as s:
        after = schedule.available_slots(session=s, location_id=loc, day=DAY, package_id=pkg,
                                         now=NOW)  # fmt: skip
    assert not after[1].resources_ok
    assert after[1].reason == "booking.resource_full"


def test_one_booking_per_patient_per_day_and_location(setup: tuple[World, int, int]) -> None:
    world, loc, pkg = setup
    views = slots_of(world.a, loc, DAY)
    _reserve(world, views[0].id, loc, pkg)
    _expect("booking.already_booked", _reserve, world, views[1].id, loc, pkg, idempotency_key="k2")
    assert booked(world.a, views[1].id) == 0


def test_the_same_idempotency_key_returns_the_same_booking(setup: tuple[World, int, int]) -> None:
    world, loc, pkg = setup
    sid = first_slot(world.a, loc)
    first = _reserve(world, sid, loc, pkg)
    again = _reserve(world, sid, loc, pkg)
    assert again.id == first.id
    assert booked(world.a, sid) == 1
    other = make_patient(world.a)
    _expect("booking.idempotency_conflict", _reserve, world, sid, loc, pkg, patient_id=other.id)


def test_another_tenants_slot_or_patient_is_not_found(setup: tuple[World, int, int]) -> None:
    world, loc, pkg = setup
    sid = first_slot(world.a, loc)
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        services.reserve(
            session=s, patient_id=world.patient_b.id, package_id=pkg, location_id=loc,
            slot_id=sid, addon_item_ids=[], idempotency_key="x", hold_until=None, now=NOW,
        )  # fmt: skip
    with pytest.raises(NotFound):
        _reserve(world, sid, loc, pkg, patient_id=world.patient_b.id + 1000)
    with pytest.raises(NotFound):
        _reserve(world, sid, loc, pkg, staff=world.staff_b)
    with pytest.raises(NotFound):
        _reserve(world, "1; DROP TABLE slot", loc, pkg)
    _nothing_written(world, sid)


def test_release_frees_the_seat_exactly_once(setup: tuple[World, int, int]) -> None:
    world, loc, pkg = setup
    sid = first_slot(world.a, loc)
    b = _reserve(world, sid, loc, pkg)
    for _ in range(2):
        with tenant_session(world.a.id) as s:
            services.release(session=s, booking_id=b.id or 0, now=NOW, status="expired")
    assert booked(world.a, sid) == 0
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as exc:
        services.confirm(session=s, booking_id=b.id or 0, now=NOW)
    assert exc.value.key == "booking.hold_expired"


def _confirmed(world: World, loc: int, pkg: int, sid: int, key: str = "k1") -> Booking:
    b = _reserve(world, sid, loc, pkg, idempotency_key=key)
    with tenant_session(world.a.id) as s:
        return services.confirm(session=s, booking_id=b.id or 0, now=NOW)


@pytest.mark.parametrize(
    ("hours_before", "percent"),
    [(72, 100), (30, 50)],
)
def test_patient_cancel_refunds_by_policy(
    setup: tuple[World, int, int], hours_before: int, percent: int
) -> None:
    world, loc, pkg = setup
    sid = first_slot(world.a, loc)
    b = _confirmed(world, loc, pkg, sid)
    start = slots_of(world.a, loc, DAY)[0].starts_at
    with tenant_session(world.a.id) as s:
        r = services.cancel_by_patient(
            session=s, actor=world.patient_a, booking_id=b.id or 0,
            now=start - timedelta(hours=hours_before),
        )  # fmt: skip
    assert (r.status, r.refund_percent, r.was_confirmed) == ("cancelled", percent, True)
    assert booked(world.a, sid) == 0


def test_patient_cancel_too_late_or_of_another_is_refused(setup: tuple[World, int, int]) -> None:
    world, loc, pkg = setup
    sid = first_slot(world.a, loc)
    b = _confirmed(world, loc, pkg, sid)
    start = slots_of(world.a, loc, DAY)[0].starts_at
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as exc:
        services.cancel_by_patient(
            session=s, actor=world.patient_a, booking_id=b.id or 0, now=start - timedelta(hours=2)
        )
    assert exc.value.key == "booking.cancel_too_late"
    assert translate("booking.cancel_too_late", "en", hours=24).startswith("Less than 24 hours")
    other = make_patient(world.a)
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        services.cancel_by_patient(session=s, actor=other, booking_id=b.id or 0, now=NOW)
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        services.cancel_by_patient(session=s, actor=world.patient_b, booking_id=b.id or 0, now=NOW)
    with tenant_session(world.a.id) as s, pytest.raises(PermissionDenied):
        services.cancel_by_patient(session=s, actor=world.staff_a, booking_id=b.id or 0, now=NOW)
    assert booked(world.a, sid) == 1


def _messages(world: World) -> dict[str, str]:
    with tenant_session(world.a.id) as s:
        return {m.dedupe_key: str(m.status) for m in s.exec(select(Message)).all()}


def test_confirmation_and_reminders_are_enqueued_once(setup: tuple[World, int, int]) -> None:
    world, loc, pkg = setup
    sid = first_slot(world.a, loc)
    b = _confirmed(world, loc, pkg, sid)
    with tenant_session(world.a.id) as s:
        services.confirm(session=s, booking_id=b.id or 0, now=NOW)
        rows = {m.dedupe_key: m for m in s.exec(select(Message)).all()}
    start = slots_of(world.a, loc, DAY)[0].starts_at
    assert set(rows) == {
        f"booking:{b.id}:{k}:0" for k in ("confirmed", "reminder_day", "reminder_2h")
    }
    day = rows[f"booking:{b.id}:reminder_day:0"]
    assert day.due_at.astimezone(ZoneInfo("Asia/Shanghai")).hour == 18
    assert day.expires_at == start
    assert "禁食" in day.variables
    short = rows[f"booking:{b.id}:reminder_2h:0"]
    assert (short.due_at, short.expires_at) == (start - timedelta(hours=2), start)


def test_reschedule_moves_the_seat_and_the_reminders(setup: tuple[World, int, int]) -> None:
    world, loc, pkg = setup
    views = slots_of(world.a, loc, DAY)
    b = _confirmed(world, loc, pkg, views[0].id)
    with tenant_session(world.a.id) as s:
        moved = services.reschedule_by_patient(
            session=s, actor=world.patient_a, booking_id=b.id or 0, new_slot_id=views[1].id,
            now=NOW,
        )  # fmt: skip
        assert (moved.slot_id, moved.ics_sequence) == (views[1].id, 1)
    assert (booked(world.a, views[0].id), booked(world.a, views[1].id)) == (0, 1)
    msgs = _messages(world)
    assert msgs[f"booking:{b.id}:reminder_day:0"] == MessageStatus.SUPPRESSED
    assert msgs[f"booking:{b.id}:reminder_2h:0"] == MessageStatus.SUPPRESSED
    assert msgs[f"booking:{b.id}:rescheduled:1"] == MessageStatus.SCHEDULED
    assert msgs[f"booking:{b.id}:reminder_day:1"] == MessageStatus.SCHEDULED
    # The same checks as a new booking: a full slot is refused and nothing moves.
    for i, p in enumerate([make_patient(world.a), make_patient(world.a)]):
        _reserve(world, views[2].id, loc, pkg, patient_id=p.id, idempotency_key=f"f{i}")
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as exc:
        services.reschedule_by_patient(
            session=s, actor=world.patient_a, booking_id=b.id or 0, new_slot_id=views[2].id,
            now=NOW,
        )  # fmt: skip
    assert exc.value.key == "booking.slot_full"
    assert (booked(world.a, views[1].id), booked(world.a, views[2].id)) == (1, 2)
    past = slots_of(world.a, loc, TODAY - timedelta(days=1))[0].id
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as exc:
        services.reschedule_by_patient(
            session=s, actor=world.patient_a, booking_id=b.id or 0, new_slot_id=past, now=NOW
        )
    assert exc.value.key == "booking.past_day"


def test_cancel_suppresses_reminders_and_tells_the_patient(setup: tuple[World, int, int]) -> None:
    world, loc, pkg = setup
    b = _confirmed(world, loc, pkg, first_slot(world.a, loc))
    with tenant_session(world.a.id) as s:
        services.cancel_by_patient(session=s, actor=world.patient_a, booking_id=b.id or 0, now=NOW)
    msgs = _messages(world)
    assert msgs[f"booking:{b.id}:reminder_2h:0"] == MessageStatus.SUPPRESSED
    assert msgs[f"booking:{b.id}:cancelled:1"] == MessageStatus.SCHEDULED


def test_patients_see_only_their_own_bookings(setup: tuple[World, int, int]) -> None:
    world, loc, pkg = setup
    b = _confirmed(world, loc, pkg, first_slot(world.a, loc))
    with tenant_session(world.a.id) as s:
        [mine] = services.my_bookings(session=s, actor=world.patient_a)
        assert (mine.id, mine.package_name_zh, mine.location_name_en) == (b.id, "套餐P1", "Main")
        assert (mine.local_start, mine.timezone) == ("08:00", "Asia/Shanghai")
        detail = services.booking_detail(session=s, actor=world.patient_a, booking_id=b.id or 0)
        assert detail.checkin_code == b.checkin_code
        other = make_patient(world.a)
        assert services.my_bookings(session=s, actor=other) == []
        with pytest.raises(NotFound):
            services.booking_detail(session=s, actor=other, booking_id=b.id or 0)
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        services.booking_detail(session=s, actor=world.patient_b, booking_id=b.id or 0)


def test_threads_on_this_database_never_overbook(world: World) -> None:
    """The conditional UPDATE holds on SQLite too (and on PostgreSQL when run there)."""
    loc = make_location(world.a, world.admin_a, capacity=5)
    pkg = make_package(world.a, [loc])
    sid = first_slot(world.a, loc)
    patients = [make_patient(world.a) for _ in range(24)]
    barrier = threading.Barrier(len(patients))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            _reserve(world, sid, loc, pkg, patient_id=patients[i].id, idempotency_key=f"t{i}")
            result = "ok"
        except DomainError as exc:
            result = exc.key
        except Exception as exc:  # pragma: no cover - shown in the assertion
            result = repr(exc)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(patients))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(set(outcomes)) == ["booking.slot_full", "ok"]
    assert outcomes.count("ok") == 5
    assert booked(world.a, sid) == 5
    assert count_bookings(world.a) == 5


def test_a_seat_is_taken_by_exactly_one_conditional_update(setup: tuple[World, int, int]) -> None:
    """The seat UPDATE carries the capacity condition and the tenant, and nothing else."""
    world, loc, _pkg = setup
    sid = first_slot(world.a, loc)
    seen: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_a: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            seen.append(" ".join(statement.split()))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with tenant_session(world.a.id) as s:
            assert services.take_seat(s, sid) is True
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    [sql] = seen
    assert re.fullmatch(
        r"UPDATE slot SET booked=\(slot\.booked \+ \S+\) WHERE slot\.id = \S+ AND "
        r"slot\.booked < slot\.capacity AND slot\.tenant_id = \S+",
        sql,
    ), sql
