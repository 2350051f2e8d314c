"""Issue 4 end to end in a real browser against the production build: a patient
on a phone finds a package in the mall, books a slot, pays through the hosted
page with localstripe's Stripe.js, sees the confirmed booking with its QR code;
the front desk checks the patient in with the code. A patient of the other
tenant gets "not found" for the booking."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from prm_saas.accounts.models import Sex
from prm_saas.booking.calendar import bookable_days
from prm_saas.booking.models import (
    Booking,
    BookingStatus,
    Slot,
    WaitlistEntry,
    WaitlistStatus,
)
from prm_saas.booking.schedule import available_slots
from prm_saas.booking.services import reserve
from prm_saas.mall.models import TargetSex
from prm_saas.orders.models import Order, OrderStatus
from tenants.db import tenant_session
from tenants.types import utcnow
from tests.booking.builders import make_location, make_package, set_patient
from tests.e2e.test_foundation_flows import sign_in_staff
from tests.factories import PASSWORD, World, make_patient

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


def _sign_in_patient(page: Page, server: str, slug: str, phone: str) -> None:
    page.goto(f"{server}/t/{slug}/login")
    page.fill("#f-identifier", phone)
    page.fill("#f-password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#patient-hello")).to_be_visible()


def _move_slot_to_today(world: World, slot_id: int) -> None:
    now = utcnow()
    with tenant_session(world.a.id) as s:
        row = s.exec(select(Slot).where(Slot.id == slot_id)).one()
        row.day = now.astimezone(ZoneInfo(world.a.timezone)).date()
        row.starts_at, row.ends_at = now + timedelta(hours=1), now + timedelta(hours=2)
        s.add(row)


def test_patient_books_pays_and_is_checked_in(
    page: Page, browser: Browser, server: str, world: World
) -> None:
    loc = make_location(world.a, world.admin_a, capacity=3, max_days_ahead=30)
    pkg = make_package(world.a, [loc], code="E2E-PAY")
    women_only = make_package(world.a, [loc], code="E2E-F", target_sex=TargetSex.FEMALE)
    patient = make_patient(world.a, name="周晓东")
    set_patient(world.a, patient.id, sex=Sex.MALE, birth_date=date(1986, 5, 20))
    now = utcnow()
    with tenant_session(world.a.id) as s:
        day = next(d.day for d in bookable_days(session=s, location_id=loc, now=now) if d.open)
        slot = next(
            v
            for v in available_slots(session=s, location_id=loc, day=day, package_id=pkg, now=now)
            if v.bookable
        )

    page.set_viewport_size(PHONE)
    _sign_in_patient(page, server, world.a.slug, patient.label)
    page.goto(f"{server}/t/{world.a.slug}/mall")
    # "For me" keeps what fits the patient's own profile (a man of 40 here).
    expect(page.locator(f"#package-{women_only}")).to_be_visible()
    page.click("#chip-for-me")
    expect(page.locator(f"#package-{women_only}")).not_to_be_visible()
    page.click(f"#package-{pkg}")
    expect(page.locator("#package-name")).to_contain_text("套餐E2E-PAY")
    page.click("#book-button")
    expect(page).to_have_url(re.compile(rf"/book/{pkg}$"))
    page.click(f"#day-{day.isoformat()}")
    page.click(f"#slot-{slot.id}")
    expect(page.locator("#book-total")).to_contain_text("¥500.00")
    page.click("#book-submit")

    # The hosted pay page, with localstripe's Stripe.js card element.
    expect(page).to_have_url(re.compile(r"/api/pay/"))
    expect(page.locator("#pay-status")).to_have_attribute("data-status", "pending_payment")
    card = page.locator("#card-element")
    card.locator("input[placeholder=number]").fill("4242424242424242")
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("30")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("200000")
    page.click("#pay-button")

    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/bookings/\d+$"), timeout=30_000)
    booking_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#booking-status")).to_have_text("已确认")
    expect(page.locator("#checkin-qr")).to_be_visible()
    code = page.locator("#checkin-code-text").inner_text().strip()
    with tenant_session(world.a.id) as s:
        b = s.exec(select(Booking).where(Booking.id == booking_id)).one()
        order = s.exec(select(Order).where(Order.booking_id == booking_id)).one()
        assert (b.status, b.checkin_code, b.slot_id) == (BookingStatus.CONFIRMED, code, slot.id)
        assert (order.status, order.paid_fen) == (OrderStatus.PAID, 50000)

    # My bookings lists it.
    page.goto(f"{server}/t/{world.a.slug}/bookings")
    expect(page.locator(f"#status-{booking_id}")).to_have_text("已确认")

    # The other tenant's patient: the booking does not exist for them.
    other = browser.new_page(viewport=PHONE)
    _sign_in_patient(other, server, world.b.slug, world.patient_b.label)
    other.goto(f"{server}/t/{world.b.slug}/bookings/{booking_id}")
    expect(other.locator("#booking-status")).not_to_be_visible()
    expect(other.get_by_text("404")).to_be_visible()
    other.close()

    # The day comes (the test moves the slot to today in the tenant's zone, as the
    # server's clock cannot be moved); the front desk checks the patient in by the
    # code the QR holds.
    _move_slot_to_today(world, slot.id)
    desk = browser.new_page()
    sign_in_staff(desk, server, world.a.slug, world.staff_a.label)
    expect(desk).to_have_url(re.compile(r"/admin$"))
    desk.goto(f"{server}/t/{world.a.slug}/admin/frontdesk")
    desk.fill("#checkin-code", code)
    desk.click("#checkin-submit")
    expect(desk.locator("#form-notice")).to_be_visible()
    with tenant_session(world.a.id) as s:
        b = s.exec(select(Booking).where(Booking.id == booking_id)).one()
        assert b.status == BookingStatus.CHECKED_IN
    desk.close()


def test_patient_pays_at_clinic_downloads_invite_reschedules_and_cancels(
    page: Page, server: str, world: World
) -> None:
    loc = make_location(world.a, world.admin_a, capacity=3, max_days_ahead=30)
    pkg = make_package(world.a, [loc], code="E2E-CLINIC")
    patient = make_patient(world.a, name="郑建国")
    now = utcnow()
    with tenant_session(world.a.id) as s:
        # Far enough ahead for the default policy (no changes within 24 hours).
        day = next(
            d.day
            for d in bookable_days(session=s, location_id=loc, now=now)
            if d.open and d.day >= (now + timedelta(days=3)).date()
        )
        first, second = [
            v
            for v in available_slots(session=s, location_id=loc, day=day, package_id=pkg, now=now)
            if v.bookable
        ][:2]

    page.set_viewport_size(PHONE)
    _sign_in_patient(page, server, world.a.slug, patient.label)
    page.goto(f"{server}/t/{world.a.slug}/book/{pkg}")
    page.click(f"#day-{day.isoformat()}")
    page.click(f"#slot-{first.id}")
    page.click("#pay-clinic")
    page.click("#book-submit")
    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/bookings/\d+$"))
    booking_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#booking-status")).to_have_text("已确认")

    # The invitation, as the browser downloads it, parsed back.
    with page.expect_download() as dl:
        page.click("#download-ics")
    cal = Calendar.from_ical(Path(dl.value.path()).read_bytes())
    event = next(iter(cal.walk("VEVENT")))
    with tenant_session(world.a.id) as s:
        uid = s.exec(select(Booking.ics_uid).where(Booking.id == booking_id)).one()
    assert (str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"])) == ("REQUEST", uid, 0)

    # The home page shows it as the next checkup.
    page.goto(f"{server}/t/{world.a.slug}/")
    expect(page.locator("#home-next-booking")).to_contain_text("套餐E2E-CLINIC")

    # Reschedule to the next slot of the same day.
    page.goto(f"{server}/t/{world.a.slug}/bookings/{booking_id}")
    page.click("#reschedule-booking")
    page.click(f"#move-day-{day.isoformat()}")
    page.click(f"#move-slot-{second.id}")
    page.click("#reschedule-submit")
    expect(page.locator("#form-notice")).to_be_visible()
    expect(page.locator("#booking-when")).to_contain_text(second.local_start)
    with tenant_session(world.a.id) as s:
        b = s.exec(select(Booking).where(Booking.id == booking_id)).one()
        assert (b.slot_id, b.ics_sequence) == (second.id, 1)

    # Cancel: the seat comes back; the booking says so.
    page.click("#cancel-booking")
    page.click("#cancel-yes")
    expect(page.locator("#booking-status")).to_have_text("已取消")
    with tenant_session(world.a.id) as s:
        b = s.exec(select(Booking).where(Booking.id == booking_id)).one()
        booked = s.exec(select(Slot.booked).where(Slot.id == second.id)).one()
    assert (b.status, booked) == (BookingStatus.CANCELLED, 0)


def test_patient_joins_a_full_slots_waiting_list_and_leaves_it(
    page: Page, server: str, world: World
) -> None:
    loc = make_location(world.a, world.admin_a, capacity=1, max_days_ahead=30)
    pkg = make_package(world.a, [loc], code="E2E-WAIT")
    now = utcnow()
    with tenant_session(world.a.id) as s:
        day = next(d.day for d in bookable_days(session=s, location_id=loc, now=now) if d.open)
        slot = available_slots(session=s, location_id=loc, day=day, package_id=pkg, now=now)[0]
    taken_by = make_patient(world.a)
    with tenant_session(world.a.id) as s:
        reserve(
            session=s, patient_id=taken_by.id, package_id=pkg, location_id=loc, slot_id=slot.id,
            addon_item_ids=[], idempotency_key="e2e-wait", hold_until=None, now=now,
        )  # fmt: skip
    patient = make_patient(world.a, name="冯一帆")

    page.set_viewport_size(PHONE)
    _sign_in_patient(page, server, world.a.slug, patient.label)
    page.goto(f"{server}/t/{world.a.slug}/book/{pkg}")
    page.click(f"#day-{day.isoformat()}")
    page.click(f"#waitlist-{slot.id}")
    expect(page.locator("#form-notice")).to_be_visible()
    with tenant_session(world.a.id) as s:
        entry = s.exec(select(WaitlistEntry).where(WaitlistEntry.patient_id == patient.id)).one()
    assert entry.status == WaitlistStatus.WAITING

    page.goto(f"{server}/t/{world.a.slug}/bookings")
    row = page.locator(f"#waiting-{entry.id}")
    expect(row).to_contain_text("套餐E2E-WAIT")
    expect(row).to_contain_text(slot.local_start)
    page.click(f"#leave-waitlist-{entry.id}")
    expect(page.locator(f"#waiting-{entry.id}")).not_to_be_visible()
    with tenant_session(world.a.id) as s:
        left = s.exec(select(WaitlistEntry).where(WaitlistEntry.id == entry.id)).one()
    assert left.status == WaitlistStatus.CANCELLED
