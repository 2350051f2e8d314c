"""Invitations are valid iCalendar: parsed back with the icalendar library."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import icalendar

from prm_saas.booking.ics import InviteFacts, invite
from prm_saas.booking.qr import checkin_qr_svg

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def facts(**kw: object) -> InviteFacts:
    base = {
        "uid": "booking-7-a1b2@prm.localhost",
        "sequence": 0,
        "starts_at": datetime(2026, 12, 1, 23, 30, tzinfo=UTC),  # 07:30 next day in Shanghai
        "ends_at": datetime(2026, 12, 2, 0, 0, tzinfo=UTC),
        "timezone": "Asia/Shanghai",
        "title": "入职体检",
        "tenant_name": "康健体检中心",
        "location": "总院，北京路 1 号",
        "description": "请空腹 8 小时。签到码 K7Q2",
        "attendee_name": "王芳",
        "attendee_email": "wang@example.cn",
        "organizer_email": "no-reply@prm.localhost",
    }
    base.update(kw)
    return InviteFacts(**base)  # type: ignore[arg-type]


def parse(raw: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(raw)
    [event] = cal.walk("VEVENT")
    return cal, event


def test_a_booking_invite_is_a_request_in_the_tenants_zone() -> None:
    cal, ev = parse(invite(facts(), now=NOW))
    assert cal["METHOD"] == "REQUEST"
    assert str(ev["UID"]) == "booking-7-a1b2@prm.localhost"
    assert ev["SEQUENCE"] == 0
    start = ev.decoded("DTSTART")
    assert (start.hour, start.minute, str(start.tzinfo)) == (7, 30, "Asia/Shanghai")
    assert start == datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert ev.decoded("DTEND") - start == timedelta(minutes=30)
    assert ev["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    assert str(ev["STATUS"]) == "CONFIRMED"
    assert "入职体检" in str(ev["SUMMARY"])
    assert str(ev["ATTENDEE"]) == "mailto:wang@example.cn"
    assert cal.walk("VALARM")


def test_a_change_keeps_the_uid_and_raises_the_sequence() -> None:
    _cal, first = parse(invite(facts(), now=NOW))
    _cal, moved = parse(
        invite(
            facts(
                sequence=1,
                starts_at=datetime(2026, 12, 3, 0, 0, tzinfo=UTC),
                ends_at=datetime(2026, 12, 3, 0, 30, tzinfo=UTC),
            ),
            now=NOW,
        )
    )
    assert str(moved["UID"]) == str(first["UID"])
    assert moved["SEQUENCE"] == first["SEQUENCE"] + 1


def test_a_cancellation_is_method_cancel_with_the_same_uid() -> None:
    cal, ev = parse(invite(facts(sequence=2, cancelled=True), now=NOW))
    assert cal["METHOD"] == "CANCEL"
    assert str(ev["STATUS"]) == "CANCELLED"
    assert ev["SEQUENCE"] == 2
    assert not cal.walk("VALARM")


def test_a_dst_zone_gets_its_daylight_rules() -> None:
    cal, ev = parse(invite(facts(timezone="America/New_York"), now=NOW))
    [tz] = cal.walk("VTIMEZONE")
    assert tz["TZID"] == "America/New_York"
    assert tz.walk("DAYLIGHT")
    assert ev.decoded("DTSTART").astimezone(UTC) == datetime(2026, 12, 1, 23, 30, tzinfo=UTC)


def test_without_an_email_there_is_no_attendee() -> None:
    _cal, ev = parse(invite(facts(attendee_email=None), now=NOW))
    assert "ATTENDEE" not in ev


def test_the_check_in_qr_code_is_an_svg_holding_the_code() -> None:
    uri = checkin_qr_svg("K7Q2-9XPA-4MZT")
    assert uri.startswith("data:image/svg+xml")
    assert "<svg" in unquote(uri)
    # the same content encodes to the same symbol: deterministic for the front desk
    assert uri == checkin_qr_svg("K7Q2-9XPA-4MZT")
