"""Each tenant's daily usage: computed inside the tenant, stored at the platform
level (prm_saas.platform.usage)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from prm_saas.booking.models import BookingStatus
from prm_saas.messaging.models import MessageStatus
from prm_saas.platform.models import TenantUsageDay
from prm_saas.platform.usage import UsageRow, refresh_usage, store_usage, usage_rows
from tenants.db import platform_session, tenant_session
from tenants.errors import NoTenantContext
from tests.factories import World
from tests.platform_kpis.helpers import add_booking, add_message, add_patient, at, counts

DAYS = [date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)]


def fill_a(world: World) -> None:
    """Tenant A's rows around three UTC days (Shanghai's day ends 16:00 UTC)."""
    a = world.a
    add_patient(a, at(2026, 11, 1, 12))  # before the range
    p = add_patient(a, at(2026, 11, 10, 23, 59, 59))  # the last second of 10 Nov UTC
    add_patient(a, at(2026, 11, 11))  # the first second of 11 Nov UTC
    add_patient(a, at(2026, 11, 12, 16, 30))  # 13 Nov in Shanghai, 12 Nov in UTC
    add_message(a, at(2026, 11, 9, 23, 59, 59))  # the day before
    add_message(a, at(2026, 11, 10, 23, 59, 59))
    add_message(a, at(2026, 11, 11))
    add_message(a, at(2026, 11, 11, 8), MessageStatus.FAILED)  # not sent
    add_message(a, None, MessageStatus.SCHEDULED)
    add_booking(a, p, at(2026, 11, 12, 10))
    add_booking(
        a, p, at(2026, 11, 12, 23, 59), BookingStatus.CANCELLED
    )  # confirmed, then cancelled
    add_booking(a, p, None, BookingStatus.HELD)  # never confirmed
    add_booking(a, p, at(2026, 11, 13))  # the day after


def fill_b(world: World) -> None:
    """Tenant B has more of everything on the same days."""
    b = world.b
    ids = [add_patient(b, at(2026, 11, 10, 9)) for _ in range(5)]
    for _ in range(3):
        add_message(b, at(2026, 11, 11, 9))
    for _ in range(4):
        add_booking(b, ids[0], at(2026, 11, 12, 9))


EXPECTED_A = [
    UsageRow(date(2026, 11, 10), patients=2, new_patients=1, messages=1, bookings=0),
    UsageRow(date(2026, 11, 11), patients=3, new_patients=1, messages=1, bookings=0),
    UsageRow(date(2026, 11, 12), patients=4, new_patients=1, messages=0, bookings=2),
]
EXPECTED_B = [
    UsageRow(date(2026, 11, 10), patients=5, new_patients=5, messages=0, bookings=0),
    UsageRow(date(2026, 11, 11), patients=5, new_patients=0, messages=3, bookings=0),
    UsageRow(date(2026, 11, 12), patients=5, new_patients=0, messages=0, bookings=4),
]


def test_usage_rows_count_utc_days_of_one_tenant_only(world: World) -> None:
    fill_a(world)
    fill_b(world)

    with tenant_session(world.a.id) as s:
        rows_a = usage_rows(s, days=list(reversed(DAYS)))
    with tenant_session(world.b.id) as s:
        rows_b = usage_rows(s, days=DAYS)

    assert rows_a == EXPECTED_A
    assert rows_b == EXPECTED_B


def test_patients_at_the_end_of_a_day_count_the_days_between_those_asked(world: World) -> None:
    fill_a(world)
    with tenant_session(world.a.id) as s:
        rows = usage_rows(s, days=[date(2026, 11, 12), date(2026, 11, 10)])
        nothing = usage_rows(s, days=[])
    assert [(r.day, r.patients, r.new_patients) for r in rows] == [
        (date(2026, 11, 10), 2, 1),
        (date(2026, 11, 12), 4, 1),
    ]
    assert nothing == []


def test_refresh_usage_stores_per_tenant_and_replaces_on_rerun(world: World) -> None:
    fill_a(world)
    fill_b(world)

    refresh_usage(world.a.id, DAYS, at(2026, 11, 13, 1))
    refresh_usage(world.b.id, DAYS, at(2026, 11, 13, 1))
    add_message(world.a, at(2026, 11, 11, 12))  # a late one: the next run counts it
    refresh_usage(world.a.id, DAYS[1:], at(2026, 11, 13, 2))

    with platform_session() as s:
        stored = s.exec(
            select(TenantUsageDay).order_by(
                col(TenantUsageDay.subject_tenant_id), col(TenantUsageDay.day)
            )
        ).all()
    got = [
        (u.subject_tenant_id, u.day, u.patients, u.new_patients, u.messages, u.bookings)
        for u in stored
    ]
    assert got == [
        (
            world.a.id,
            date(2026, 11, 10),
            2,
            1,
            1,
            0,
        ),
        (world.a.id, date(2026, 11, 11), 3, 1, 2, 0),
        (world.a.id, date(2026, 11, 12), 4, 1, 0, 2),
        (world.b.id, date(2026, 11, 10), 5, 5, 0, 0),
        (world.b.id, date(2026, 11, 11), 5, 0, 3, 0),
        (world.b.id, date(2026, 11, 12), 5, 0, 0, 4),
    ]
    assert [u.updated_at for u in stored[:3]] == [
        at(2026, 11, 13, 1),
        at(2026, 11, 13, 2),
        at(2026, 11, 13, 2),
    ]


def test_the_sessions_are_not_interchangeable(world: World) -> None:
    fill_a(world)
    with pytest.raises(NoTenantContext), platform_session() as s:
        usage_rows(s, days=DAYS)
    with pytest.raises(NoTenantContext), tenant_session(world.a.id) as s:
        store_usage(s, tenant_id=world.a.id, rows=EXPECTED_A)
    assert counts() == (0, 0, 0)


@pytest.mark.postgres_only
def test_row_level_security_walls_both_ways(world: World) -> None:
    """On PostgreSQL the database itself keeps tenant rows out of the platform
    session and usage rows out of a tenant session."""
    fill_a(world)
    refresh_usage(world.a.id, DAYS, at(2026, 11, 13, 1))

    with platform_session() as s:
        patients = s.execute(sa.text("SELECT count(*) FROM patient")).scalar_one()
    assert patients == 0
    with tenant_session(world.a.id) as s:
        usage = s.execute(sa.text("SELECT count(*) FROM tenant_usage_day")).scalar_one()
        others = s.execute(
            sa.text("SELECT count(*) FROM patient WHERE tenant_id = :b"), {"b": world.b.id}
        ).scalar_one()
    assert (usage, others) == (0, 0)
    with pytest.raises(sa.exc.ProgrammingError), tenant_session(world.a.id) as s:
        s.execute(
            sa.text(
                "INSERT INTO tenant_usage_day (subject_tenant_id, day, patients, new_patients,"
                " messages, bookings, updated_at) VALUES (:t, '2026-11-20', 1, 1, 1, 1, now())"
            ),
            {"t": world.a.id},
        )
    assert counts() == (0, 0, 3)
