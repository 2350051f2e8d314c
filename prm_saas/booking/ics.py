"""Calendar invitations for bookings (RFC 5545, with RFC 5546 methods).

One booking is one event with a stable UID for its whole life; every change
(reschedule, cancel) increments SEQUENCE, so a calendar updates the event it
already has instead of adding another. Times are written in the tenant's zone
with a VTIMEZONE, so the invite reads "07:30" wherever it is opened.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//prm_saas//health-check booking//ZH"


@dataclass(frozen=True)
class InviteFacts:
    """Everything an invitation says, gathered by the caller (no ORM here)."""

    uid: str
    sequence: int
    starts_at: datetime  # aware, UTC
    ends_at: datetime
    timezone: str  # the tenant's IANA zone
    title: str  # package name
    tenant_name: str
    location: str  # name and address
    description: str  # pre-exam instructions, check-in code
    attendee_name: str
    attendee_email: str | None
    organizer_email: str
    cancelled: bool = False


def invite(facts: InviteFacts, *, now: datetime) -> bytes:
    """The .ics bytes: METHOD:REQUEST for a live booking, METHOD:CANCEL when cancelled."""
    tz = zoneinfo.ZoneInfo(facts.timezone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "CANCEL" if facts.cancelled else "REQUEST")

    event = Event()
    event.add("uid", facts.uid)
    event.add("sequence", facts.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", facts.starts_at.astimezone(tz))
    event.add("dtend", facts.ends_at.astimezone(tz))
    event.add("summary", f"{facts.title} · {facts.tenant_name}")
    event.add("location", vText(facts.location))
    event.add("description", facts.description)
    event.add("status", "CANCELLED" if facts.cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    organizer = vCalAddress(f"mailto:{facts.organizer_email}")
    organizer.params["cn"] = vText(facts.tenant_name)
    event["organizer"] = organizer
    if facts.attendee_email:
        attendee = vCalAddress(f"mailto:{facts.attendee_email}")
        attendee.params["cn"] = vText(facts.attendee_name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("ACCEPTED")
        event.add("attendee", attendee, encode=False)
    if not facts.cancelled:
        # A reminder the day before in the patient's own calendar, too.
        from icalendar import Alarm

        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", facts.title)
        alarm.add("trigger", timedelta(hours=-12))
        event.add_component(alarm)
    cal.add_component(event)
    # VTIMEZONE for every TZID used, built from the zoneinfo database.
    cal.add_missing_timezones()
    return cal.to_ical()
