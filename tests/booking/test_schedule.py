"""Schedule administration and slots: validation, permissions, tenants, DST, idempotency."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import func, select

from prm_saas.booking import schedule
from prm_saas.booking.models import LocationHours, Slot
from prm_saas.i18n import translate
from tenants.db import tenant_session
from tenants.errors import FieldErrors, NotFound, PermissionDenied
from tenants.models import TenantStatus
from tests.booking.builders import DAY, NOW, TODAY, make_location, slots_of
from tests.factories import World, change_status, make_admin, make_tenant


def _field_errors(exc: pytest.ExceptionInfo[FieldErrors]) -> dict[str, str]:
    return {f: k for f, (k, _p) in exc.value.errors.items()}


def _hours_count(world: World) -> int:
    with tenant_session(world.a.id) as s:
        return int(s.exec(select(func.count()).select_from(LocationHours)).one())


def test_location_input_is_checked_and_explained_in_both_languages(world: World) -> None:
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as exc:
        schedule.create_location(
            session=s,
            actor=world.admin_a,
            name_zh=" ",
            min_days_ahead=5,
            max_days_ahead=2,
            same_day_cutoff="25:00",
        )
    errs = _field_errors(exc)
    assert errs == {
        "name_zh": "field.required",
        "max_days_ahead": "booking.field.window_invalid",
        "same_day_cutoff": "booking.field.time_invalid",
    }
    for key in errs.values():
        assert translate(key, "en") != translate(key, "zh-CN") != key
    with tenant_session(world.a.id) as s:
        assert schedule.list_locations(session=s, active_only=False) == []


@pytest.mark.parametrize(
    ("kw", "field", "key"),
    [
        ({"start": "8:00"}, "start", "booking.field.time_invalid"),
        ({"end": "24:00"}, "end", "booking.field.time_invalid"),
        ({"start": "10:00", "end": "09:00"}, "end", "booking.field.end_before_start"),
        ({"start": "09:00", "end": "09:00"}, "end", "booking.field.end_before_start"),
        ({"slot_minutes": 45}, "slot_minutes", "booking.field.slot_minutes_invalid"),
        ({"slot_minutes": 0}, "slot_minutes", "booking.field.number_invalid"),
        ({"capacity": -1}, "capacity", "booking.field.number_invalid"),
        ({"capacity": "many"}, "capacity", "booking.field.number_invalid"),
        ({"weekday": 7}, "weekday", "booking.field.weekday_invalid"),
        ({"start": "07:00", "end": "08:30"}, "start", "booking.field.hours_overlap"),
    ],
)
def test_bad_weekly_hours_are_refused_and_nothing_is_written(
    world: World, kw: dict[str, object], field: str, key: str
) -> None:
    loc = make_location(world.a, world.admin_a, weekdays=[0])  # Monday 08:00-10:00
    before = _hours_count(world)
    args: dict[str, object] = {
        "weekday": 0,
        "start": "10:00",
        "end": "12:00",
        "slot_minutes": 30,
        "capacity": 10,
    }
    args.update(kw)
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as exc:
        schedule.add_hours(session=s, actor=world.admin_a, location_id=loc, **args)  # type: ignore[arg-type]
    assert _field_errors(exc)[field] == key
    assert _hours_count(world) == before


def test_adjacent_blocks_and_capacity_zero_are_fine(world: World) -> None:
    loc = make_location(world.a, world.admin_a, weekdays=[0])
    with tenant_session(world.a.id) as s:
        schedule.add_hours(
            session=s, actor=world.admin_a, location_id=loc, weekday=0, start="10:00",
            end="11:00", slot_minutes=60, capacity=0,
        )  # fmt: skip
        assert len(schedule.list_hours(session=s, location_id=loc)) == 2


def test_only_schedule_managers_of_the_tenant_edit_schedules(world: World) -> None:
    loc = make_location(world.a, world.admin_a)
    with tenant_session(world.a.id) as s, pytest.raises(PermissionDenied):
        schedule.create_location(session=s, actor=world.staff_a, name_zh="分院")
    with tenant_session(world.a.id) as s, pytest.raises(PermissionDenied):
        schedule.create_location(session=s, actor=world.patient_a, name_zh="分院")
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        schedule.create_location(session=s, actor=world.admin_b, name_zh="分院")
    # Tenant B's admin cannot reach tenant A's location through B's session.
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        schedule.add_hours(
            session=s, actor=world.admin_b, location_id=loc, weekday=0, start="12:00", end="13:00"
        )
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        schedule.available_slots(session=s, location_id=loc, day=DAY, now=NOW)
    with tenant_session(world.b.id) as s:
        assert schedule.list_locations(session=s) == []


def test_slots_are_made_once_in_the_tenants_zone(world: World) -> None:
    loc = make_location(world.a, world.admin_a, capacity=40, start="07:30", end="09:00")
    first = slots_of(world.a, loc, DAY)
    again = slots_of(world.a, loc, DAY)
    assert [v.id for v in first] == [v.id for v in again]
    assert [v.local_start for v in first] == ["07:30", "08:00", "08:30"]
    # 07:30 in Shanghai is 23:30 UTC the day before.
    assert first[0].starts_at == datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    assert first[0].ends_at - first[0].starts_at == timedelta(minutes=30)
    assert all(v.remaining == 40 and v.bookable for v in first)


def test_no_slots_on_a_closure_or_a_day_without_hours(world: World) -> None:
    loc = make_location(world.a, world.admin_a, weekdays=[0, 1, 2, 4])  # not Thursday
    assert slots_of(world.a, loc, DAY) == []
    with tenant_session(world.a.id) as s:
        schedule.add_closure(session=s, actor=world.admin_a, location_id=loc, day="2026-12-04")
    assert slots_of(world.a, loc, date(2026, 12, 4)) == []
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as exc:
        schedule.add_closure(session=s, actor=world.admin_a, location_id=loc, day="2026-12-04")
    assert _field_errors(exc) == {"day": "booking.field.closure_exists"}
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as exc:
        schedule.add_closure(session=s, actor=world.admin_a, location_id=loc, day="12/04/2026")
    assert _field_errors(exc) == {"day": "field.date_invalid"}


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        # Spring forward in New York: 02:00-03:00 does not exist that night.
        (date(2026, 3, 8), ["06:00", "07:00", "08:00"]),  # 01:00 EST, 03:00 EDT, 04:00 EDT
        # Fall back: 01:00 happens twice; the slot takes the first (EDT).
        (date(2026, 11, 1), ["05:00", "07:00", "08:00"]),  # 01:00 EDT, 02:00 EST, 03:00 EST
    ],
)
def test_slots_follow_daylight_saving_time(day: date, expected_utc: list[str]) -> None:
    t = make_tenant("dst-clinic", timezone="America/New_York")
    other = make_tenant("other-clinic")
    admin = make_admin(t)
    make_admin(other)
    loc = make_location(t, admin, start="01:00", end="05:00", slot_minutes=60, max_days_ahead=365)
    views = slots_of(t, loc, day, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert [v.starts_at.strftime("%H:%M") for v in views[:3]] == expected_utc
    assert len({v.starts_at for v in views}) == len(views)
    if day.month == 3:
        assert [v.local_start for v in views] == ["01:00", "03:00", "04:00"]


def test_many_callers_making_the_same_day_at_once_do_not_fail(world: World) -> None:
    loc = make_location(world.a, world.admin_a, capacity=5, start="07:00", end="12:00")
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def make() -> None:
        try:
            barrier.wait()
            with tenant_session(world.a.id) as s:
                schedule.ensure_slots(session=s, location_id=loc, day=DAY)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with tenant_session(world.a.id) as s:
        assert s.exec(select(func.count()).select_from(Slot)).one() == 10


@pytest.mark.parametrize(
    ("day", "now", "loc_kw", "reason"),
    [
        (date(2026, 11, 30), NOW, {}, "booking.past_day"),
        (DAY + timedelta(days=40), NOW, {}, "booking.outside_window"),
        (TODAY, NOW, {}, "booking.outside_window"),  # min 1 day ahead
        (TODAY, NOW, {"min_days_ahead": 0, "same_day_cutoff": "09:00"}, "booking.same_day_cutoff"),
        (TODAY, NOW - timedelta(hours=4), {"min_days_ahead": 0}, ""),  # 06:00: bookable
    ],
)
def test_each_slot_says_whether_it_can_be_booked_and_why_not(
    world: World, day: date, now: datetime, loc_kw: dict[str, object], reason: str
) -> None:
    loc = make_location(world.a, world.admin_a, **loc_kw)  # type: ignore[arg-type]
    views = slots_of(world.a, loc, day, now=now)
    assert views
    assert {v.reason for v in views} == {reason}
    assert all(v.bookable == (not reason) for v in views)


def test_slots_already_started_today_are_not_bookable(world: World) -> None:
    loc = make_location(world.a, world.admin_a, min_days_ahead=0, start="09:00", end="11:00")
    views = slots_of(world.a, loc, TODAY, now=NOW)  # 10:00 local
    assert [(v.local_start, v.reason) for v in views] == [
        ("09:00", "booking.slot_started"),
        ("09:30", "booking.slot_started"),
        ("10:00", "booking.slot_started"),
        ("10:30", ""),
    ]


def test_changing_hours_resizes_future_slots(world: World) -> None:
    loc = make_location(world.a, world.admin_a, capacity=2, weekdays=[3])
    slots_of(world.a, loc, DAY)
    with tenant_session(world.a.id) as s:
        [hours] = schedule.list_hours(session=s, location_id=loc)
        schedule.update_hours(
            session=s, actor=world.admin_a, hours_id=hours.id or 0, weekday=3, start="08:00",
            end="10:00", slot_minutes=30, capacity=7, now=NOW,
        )  # fmt: skip
    assert {v.capacity for v in slots_of(world.a, loc, DAY)} == {7}


def test_booking_settings_have_defaults_and_are_validated(world: World) -> None:
    with tenant_session(world.a.id) as s:
        bs = schedule.get_booking_settings(session=s)
        assert (bs.hold_minutes, bs.cancel_cutoff_hours, bs.late_refund_percent) == (15, 24, 50)
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as exc:
        schedule.update_booking_settings(
            session=s, actor=world.admin_a, hold_minutes=0, waitlist_offer_minutes=30,
            cancel_cutoff_hours=48, full_refund_hours=24, late_refund_percent=101,
            allow_pay_at_clinic=True,
        )  # fmt: skip
    assert _field_errors(exc) == {
        "hold_minutes": "booking.field.number_invalid",
        "late_refund_percent": "booking.field.number_invalid",
        "full_refund_hours": "booking.field.refund_hours_invalid",
    }
    with tenant_session(world.a.id) as s:
        schedule.update_booking_settings(
            session=s, actor=world.admin_a, hold_minutes=20, waitlist_offer_minutes=30,
            cancel_cutoff_hours=12, full_refund_hours=72, late_refund_percent=30,
            allow_pay_at_clinic=False,
        )  # fmt: skip
    with tenant_session(world.a.id) as s:
        assert schedule.get_booking_settings(session=s).hold_minutes == 20
    with tenant_session(world.b.id) as s:
        assert schedule.get_booking_settings(session=s).hold_minutes == 15


def test_resources_have_unique_keys_per_location(world: World) -> None:
    loc = make_location(world.a, world.admin_a)
    with tenant_session(world.a.id) as s:
        schedule.add_resource(
            session=s, actor=world.admin_a, location_id=loc, key="ct", name_zh="CT", daily_limit=3
        )
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as exc:
        schedule.add_resource(
            session=s, actor=world.admin_a, location_id=loc, key="ct", name_zh="CT2", daily_limit=3
        )
    assert _field_errors(exc) == {"key": "booking.field.resource_key_taken"}
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as exc:
        schedule.add_resource(
            session=s, actor=world.admin_a, location_id=loc, key="C T", name_zh="", daily_limit=-2
        )
    assert _field_errors(exc) == {
        "key": "booking.field.resource_key_invalid",
        "name_zh": "field.required",
        "daily_limit": "booking.field.number_invalid",
    }


def test_looking_far_ahead_or_as_a_suspended_tenant_makes_no_slots(world: World) -> None:
    loc = make_location(world.a, world.admin_a)
    assert slots_of(world.a, loc, DAY + timedelta(days=5000)) == []
    change_status(world.a, TenantStatus.SUSPENDED)
    assert slots_of(world.a, loc, DAY) == []  # read-only: shows what exists, writes nothing
    with tenant_session(world.a.id) as s:
        assert s.exec(select(func.count()).select_from(Slot)).one() == 0
