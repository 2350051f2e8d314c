"""The date range a dashboard shows: validation, buckets and the previous period.

Dates are local to the tenant (the platform's are UTC days), both ends
inclusive. A bad range is refused with a message the user can act on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tenants.errors import DomainError

MAX_DAYS = 366
DEFAULT_DAYS = 30
DAILY_UP_TO = 62  # longer ranges default to weeks
EARLIEST = date(2000, 1, 1)


class Granularity(enum.StrEnum):
    """How the x axis of a time series is bucketed."""

    DAY = "day"
    WEEK = "week"  # ISO weeks, starting Monday
    MONTH = "month"


def month_start(d: date) -> date:
    """The first day of ``d``'s month."""
    return d.replace(day=1)


def next_month(d: date) -> date:
    """The first day of the month after ``d``'s."""
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class Period:
    """A range of local days and how it is bucketed."""

    start: date
    end: date
    granularity: Granularity

    @property
    def days(self) -> int:
        """How many days the range covers."""
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end, self.granularity)

    def bucket_of(self, d: date) -> date:
        """The first day of the bucket ``d`` falls in (clipped to the range's start)."""
        if self.granularity == Granularity.WEEK:
            first = d - timedelta(days=d.weekday())
        elif self.granularity == Granularity.MONTH:
            first = month_start(d)
        else:
            first = d
        return max(first, self.start)

    def buckets(self) -> list[date]:
        """The first day of each bucket, in order."""
        out: list[date] = []
        d = self.start
        while d <= self.end:
            b = self.bucket_of(d)
            if not out or out[-1] != b:
                out.append(b)
            d += timedelta(days=1)
        return out

    def utc_bounds(self, tz: str) -> tuple[datetime, datetime]:
        """The instants [local midnight of start, local midnight after end) in UTC."""
        zone = ZoneInfo(tz)
        lo = datetime.combine(self.start, time(0), tzinfo=zone).astimezone(UTC)
        hi = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=zone)
        return lo, hi.astimezone(UTC)


def _as_date(value: date | str | None, fallback: date) -> date:
    if value is None or value == "":
        return fallback
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise DomainError("dashboard.bad_date", value=str(value)[:20]) from None


def parse_period(
    *,
    start: date | str | None,
    end: date | str | None,
    granularity: str | None,
    today: date,
) -> Period:
    """A checked period: the last 30 days by default; refused when inverted,
    longer than a year, in the future or before 2000."""
    end_d = _as_date(end, today)
    start_d = _as_date(start, end_d - timedelta(days=DEFAULT_DAYS - 1))
    if start_d > end_d:
        raise DomainError("dashboard.range_inverted")
    if end_d > today:
        raise DomainError("dashboard.range_in_future", today=today.isoformat())
    if start_d < EARLIEST:
        raise DomainError("dashboard.bad_date", value=start_d.isoformat())
    if (end_d - start_d).days + 1 > MAX_DAYS:
        raise DomainError("dashboard.range_too_long", max_days=MAX_DAYS)
    if granularity in (None, ""):
        days = (end_d - start_d).days + 1
        gran = Granularity.DAY if days <= DAILY_UP_TO else Granularity.WEEK
    else:
        try:
            gran = Granularity(str(granularity))
        except ValueError:
            raise DomainError("dashboard.bad_granularity") from None
    return Period(start_d, end_d, gran)
