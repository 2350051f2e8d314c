"""The days a patient can pick at a location: its booking window, with closed
days (no opening hours that weekday, a closure, past the same-day cutoff)
marked and the reason given, so the date picker never offers an empty day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import select

from prm_saas.booking.models import Location, LocationHours
from prm_saas.booking.schedule import day_problem, local_today, tenant_zone
from tenants.db import TenantSession
from tenants.errors import NotFound
from tenants.lookup import get_or_404


@dataclass(frozen=True)
class DayView:
    """One day of the picker."""

    day: date
    weekday: int  # 0 = Monday
    open: bool
    reason: str  # "" when open, else a message key


def bookable_days(*, session: TenantSession, location_id: object, now: datetime) -> list[DayView]:
    """Every day of the location's booking window, in order, open or not."""
    location = get_or_404(session, Location, location_id)
    if not location.active:
        raise NotFound()
    tz = tenant_zone(session)
    today = local_today(now, tz)
    weekdays = set(
        session.exec(
            select(LocationHours.weekday).where(LocationHours.location_id == location.id)
        ).all()
    )
    out: list[DayView] = []
    for ahead in range(location.min_days_ahead, location.max_days_ahead + 1):
        day = today + timedelta(days=ahead)
        problem = day_problem(session, location, day, now, tz)
        reason = problem[0] if problem else ("" if day.weekday() in weekdays else "booking.closed")
        out.append(DayView(day=day, weekday=day.weekday(), open=not reason, reason=reason))
    return out
