"""When a campaign runs: tenant-local wall-clock times to UTC instants, DST-safe.

Managers think in the clinic's local time ("every Monday at 09:00"); the
database keeps UTC. A local time that does not exist (inside a spring-forward
gap) is moved forward past the gap; one that exists twice (the autumn fold)
is its first instant. zoneinfo does the arithmetic.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from prm_saas.campaigns.models import Recurrence

# A recurrence always fires within this many days (monthly: at most 31 + 1).
_HORIZON_DAYS = 400


def local_instant(day: date, at: time, tz_name: str) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``tz_name``.

    A wall time inside a DST gap does not exist: it becomes the first valid
    instant after the gap (02:30 on a spring-forward day is 03:30). A wall time
    in the autumn fold is its first (daylight-time) occurrence.
    """
    tz = ZoneInfo(tz_name)
    naive = datetime.combine(day, at)
    candidate = naive.replace(tzinfo=tz, fold=0)
    utc = candidate.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != naive:
        # In a gap: fold=0 maps with the offset before the gap, which lands after it;
        # take that instant (the same rule as the messaging engine's quiet hours).
        return utc.astimezone(tz).astimezone(UTC)
    return utc


def local_day_start(now: datetime, tz_name: str) -> datetime:
    """The UTC instant at which ``now``'s tenant-local day began."""
    local = now.astimezone(ZoneInfo(tz_name))
    return local_instant(local.date(), time(0, 0), tz_name)


def _matches(day: date, recurrence: Recurrence, weekday: int, month_day: int) -> bool:
    if recurrence == Recurrence.DAILY:
        return True
    if recurrence == Recurrence.WEEKLY:
        return day.weekday() == weekday
    last = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(month_day, last)


def next_occurrence(
    *,
    after: datetime,
    tz_name: str,
    recurrence: Recurrence,
    at: time,
    weekday: int = 0,
    month_day: int = 1,
) -> datetime:
    """The first occurrence strictly after ``after`` (UTC), as a UTC instant.

    ``weekday`` (0 = Monday) for weekly, ``month_day`` (1..31; the month's last
    day in shorter months) for monthly; ``at`` is the tenant-local time of day.
    """
    start = after.astimezone(ZoneInfo(tz_name)).date() - timedelta(days=1)
    for k in range(_HORIZON_DAYS):
        day = start + timedelta(days=k)
        if not _matches(day, recurrence, weekday, month_day):
            continue
        instant = local_instant(day, at, tz_name)
        if instant > after:
            return instant
    raise ValueError("no occurrence within the horizon")  # unreachable for valid input


def parse_local(value: str, tz_name: str) -> datetime | None:
    """A tenant-local "YYYY-MM-DD HH:MM" (or with a T) as a UTC instant; None if malformed."""
    v = (value or "").strip().replace("T", " ")
    try:
        naive = datetime.strptime(v[:16], "%Y-%m-%d %H:%M")  # noqa: DTZ007 (local wall time)
    except ValueError:
        return None
    if len(v) > 16 and v[16:] not in {":00"}:
        return None
    return local_instant(naive.date(), naive.time(), tz_name)


def format_local(at: datetime | None, tz_name: str) -> str:
    """A UTC instant as the tenant's local "YYYY-MM-DD HH:MM" ("" for None)."""
    if at is None:
        return ""
    return at.astimezone(ZoneInfo(tz_name)).strftime("%Y-%m-%d %H:%M")
