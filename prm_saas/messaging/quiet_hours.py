"""Quiet hours: no non-urgent message reaches a person at night, in their own time zone.

The window is given in local wall-clock time (e.g. 21:00-08:00, crossing
midnight). Daylight-saving changes are handled by zoneinfo: a window end that
falls in a skipped hour resolves to the first valid instant after it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


def parse_hhmm(value: str) -> time | None:
    """'21:00' -> time(21, 0); None when malformed."""
    try:
        hh, mm = value.strip().split(":")
        return time(int(hh), int(mm))
    except (ValueError, AttributeError):
        return None


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _in_window(t: time, start: time, end: time) -> bool:
    if start == end:
        return False  # no quiet hours
    if start < end:
        return start <= t < end
    return t >= start or t < end  # crosses midnight


def _local_instant(day: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The first instant at or after wall-clock ``at`` on ``day``'s date in ``tz``."""
    naive = datetime.combine(day.date(), at)
    candidate = naive.replace(tzinfo=tz)
    # A wall time inside a DST gap does not exist: round trip through UTC moves it
    # forward past the gap (02:30 on a spring-forward day becomes 03:30).
    roundtrip = candidate.astimezone(_zone("UTC")).astimezone(tz)
    if roundtrip.replace(tzinfo=None) != naive:
        return roundtrip
    return candidate


def quiet_until(now: datetime, tz_name: str, start: str, end: str) -> datetime | None:
    """When the quiet window containing ``now`` ends (UTC), or None if ``now`` is not quiet."""
    t_start, t_end = parse_hhmm(start), parse_hhmm(end)
    if t_start is None or t_end is None:
        return None
    tz = _zone(tz_name)
    local = now.astimezone(tz)
    if not _in_window(local.timetz().replace(tzinfo=None), t_start, t_end):
        return None
    end_day = local if local.time() < t_end else local + timedelta(days=1)
    return _local_instant(end_day, t_end, tz).astimezone(_zone("UTC"))
