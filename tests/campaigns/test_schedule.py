"""Schedules: tenant-local wall-clock times to UTC, recurring occurrences, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from prm_saas.campaigns.models import Recurrence
from prm_saas.campaigns.schedule import (
    format_local,
    local_day_start,
    local_instant,
    next_occurrence,
    parse_local,
)

NY = "America/New_York"
SH = "Asia/Shanghai"


def test_daily_in_shanghai_is_the_next_local_time() -> None:
    at = time(9, 0)
    # 08:59 local -> today 09:00 local (01:00 UTC); 09:00 exactly -> tomorrow
    before = datetime(2026, 12, 1, 0, 59, tzinfo=UTC)
    assert next_occurrence(
        after=before, tz_name=SH, recurrence=Recurrence.DAILY, at=at
    ) == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    exact = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert next_occurrence(after=exact, tz_name=SH, recurrence=Recurrence.DAILY, at=at) == datetime(
        2026, 12, 2, 1, 0, tzinfo=UTC
    )
    # 23:30 local on the 1st is 15:30 UTC: the next 09:00 is the 2nd's
    late = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    assert next_occurrence(after=late, tz_name=SH, recurrence=Recurrence.DAILY, at=at) == datetime(
        2026, 12, 2, 1, 0, tzinfo=UTC
    )


def test_daily_keeps_the_wall_time_across_dst() -> None:
    at = time(9, 0)
    # New York: 09:00 EST = 14:00 UTC on 7 March 2026, 09:00 EDT = 13:00 UTC on 8 March
    first = next_occurrence(
        after=datetime(2026, 3, 7, 0, 0, tzinfo=UTC), tz_name=NY, recurrence=Recurrence.DAILY, at=at
    )
    second = next_occurrence(after=first, tz_name=NY, recurrence=Recurrence.DAILY, at=at)
    assert first == datetime(2026, 3, 7, 14, 0, tzinfo=UTC)
    assert second == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    # and back in November
    nov = next_occurrence(
        after=datetime(2026, 10, 31, 14, 0, tzinfo=UTC),
        tz_name=NY,
        recurrence=Recurrence.DAILY,
        at=at,
    )
    assert nov == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)


def test_a_time_in_the_spring_gap_moves_forward_and_the_fold_takes_the_first() -> None:
    # 02:30 does not exist in New York on 8 March 2026: it is 03:30 EDT = 07:30 UTC
    assert local_instant(date(2026, 3, 8), time(2, 30), NY) == datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC
    )
    # 01:30 happens twice on 1 November 2026: the first (EDT) = 05:30 UTC
    assert local_instant(date(2026, 11, 1), time(1, 30), NY) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )
    # a weekly Sunday 02:30 run fires once on the gap day, then back at 02:30
    runs = []
    after = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    for _ in range(2):
        after = next_occurrence(
            after=after, tz_name=NY, recurrence=Recurrence.WEEKLY, at=time(2, 30), weekday=6
        )
        runs.append(after)
    assert runs == [
        datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
        datetime(2026, 3, 15, 6, 30, tzinfo=UTC),
    ]


def test_weekly_on_a_weekday() -> None:
    # Tuesday 1 Dec 2026 10:00 local: next Monday 09:00 local is 7 Dec
    got = next_occurrence(
        after=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
        tz_name=SH,
        recurrence=Recurrence.WEEKLY,
        at=time(9, 0),
        weekday=0,
    )
    assert got == datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def test_monthly_on_a_day_the_month_lacks_takes_its_last_day() -> None:
    after = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)  # 31 Jan 10:00 local, past 09:00
    got = []
    for _ in range(3):
        after = next_occurrence(
            after=after, tz_name=SH, recurrence=Recurrence.MONTHLY, at=time(9, 0), month_day=31
        )
        got.append(after.astimezone(UTC).date())
    assert got == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


def test_local_day_start_and_form_times() -> None:
    # 15:59 UTC is 23:59 in Shanghai; 16:00 UTC is the next local day
    assert local_day_start(datetime(2026, 12, 1, 15, 59, tzinfo=UTC), SH) == datetime(
        2026, 11, 30, 16, 0, tzinfo=UTC
    )
    assert local_day_start(datetime(2026, 12, 1, 16, 0, tzinfo=UTC), SH) == datetime(
        2026, 12, 1, 16, 0, tzinfo=UTC
    )
    assert parse_local("2026-12-24 20:00", SH) == datetime(2026, 12, 24, 12, 0, tzinfo=UTC)
    assert parse_local("2026-12-24T20:00", SH) == datetime(2026, 12, 24, 12, 0, tzinfo=UTC)
    assert parse_local("2026-02-30 20:00", SH) is None
    assert parse_local("tomorrow", SH) is None
    assert format_local(datetime(2026, 12, 24, 12, 0, tzinfo=UTC), SH) == "2026-12-24 20:00"
