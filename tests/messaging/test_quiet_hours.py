"""Quiet hours in local time, across midnight and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from prm_saas.messaging.quiet_hours import parse_hhmm, quiet_until


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 22:30 in Shanghai (UTC+8, no DST): held to 08:00 the next morning
        (utc(2026, 11, 24, 14, 30), utc(2026, 11, 25, 0, 0)),
        # 07:59 in Shanghai: held one minute
        (utc(2026, 11, 24, 23, 59), utc(2026, 11, 25, 0, 0)),
        # 08:00 sharp: the window has ended
        (utc(2026, 11, 25, 0, 0), None),
        # 20:59: not yet quiet
        (utc(2026, 11, 24, 12, 59), None),
        # 21:00 sharp: quiet
        (utc(2026, 11, 24, 13, 0), utc(2026, 11, 25, 0, 0)),
    ],
)
def test_shanghai_evening_window_crossing_midnight(
    now: datetime, expected: datetime | None
) -> None:
    assert quiet_until(now, "Asia/Shanghai", "21:00", "08:00") == expected


def test_new_york_fall_back_night_ends_at_local_eight_in_standard_time() -> None:
    # 23:00 EDT on 31 Oct 2026; clocks go back at 02:00 on 1 Nov; 08:00 EST is 13:00 UTC
    assert quiet_until(utc(2026, 11, 1, 3, 0), "America/New_York", "21:00", "08:00") == utc(
        2026, 11, 1, 13, 0
    )


def test_new_york_spring_forward_night_is_an_hour_shorter() -> None:
    # 23:00 EST on 7 Mar 2026; clocks go forward at 02:00; 08:00 EDT is 12:00 UTC
    assert quiet_until(utc(2026, 3, 8, 4, 0), "America/New_York", "21:00", "08:00") == utc(
        2026, 3, 8, 12, 0
    )


def test_a_window_ending_inside_the_skipped_hour_ends_after_the_gap() -> None:
    # 01:30 EST, window 01:00-02:30; 02:30 does not exist that night: 03:30 EDT = 07:30 UTC
    assert quiet_until(utc(2026, 3, 8, 6, 30), "America/New_York", "01:00", "02:30") == utc(
        2026, 3, 8, 7, 30
    )


def test_a_daytime_window_does_not_wrap() -> None:
    assert quiet_until(utc(2026, 11, 24, 5, 0), "Asia/Shanghai", "12:00", "14:00") == utc(
        2026, 11, 24, 6, 0
    )
    assert quiet_until(utc(2026, 11, 24, 7, 0), "Asia/Shanghai", "12:00", "14:00") is None


def test_equal_start_and_end_mean_no_quiet_hours_and_bad_times_are_ignored() -> None:
    assert quiet_until(utc(2026, 11, 24, 14, 30), "Asia/Shanghai", "21:00", "21:00") is None
    assert quiet_until(utc(2026, 11, 24, 14, 30), "Asia/Shanghai", "25:00", "08:00") is None
    assert parse_hhmm("7:05") is not None
    assert parse_hhmm("seven") is None
