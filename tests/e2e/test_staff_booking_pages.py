"""Issue 4's staff and admin pages in a real browser against the production build:
the catalog (prices typed in yuan, bad prices refused, publishing decides what the
mall shows), schedules (hours, closures, resource limits, and the patient's day
picker honouring a closure), the front desk (walk-in into a full slot only with a
reason, audited; no-show, check-in, complete), refunds on the orders page, the
waiting list offering a freed seat, and the other tenant's staff finding nothing.

Every test arranges its own location and package (fresh codes and names: the
world lives for the whole package) and checks the effects on screen and in the
database.
"""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlmodel import col, select

from prm_saas.accounts.authz import Principal
from prm_saas.audit.models import AuditEvent
from prm_saas.booking.calendar import bookable_days
from prm_saas.booking.models import (
    Booking,
    BookingStatus,
    Closure,
    Location,
    LocationHours,
    Resource,
    Slot,
    WaitlistEntry,
    WaitlistStatus,
)
from prm_saas.booking.schedule import SlotView, available_slots
from prm_saas.mall.models import ExamItem, HealthPackage, PackageItem, PackageLocation
from prm_saas.messaging.models import Channel, Message
from prm_saas.orders import services as orders
from prm_saas.orders.models import Order, OrderStatus
from tenants.db import tenant_session
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.booking.builders import make_location, make_package
from tests.e2e.test_foundation_flows import sign_in_staff
from tests.factories import PASSWORD, World, make_patient
from tests.orders.helpers import intent_for, pay, stripe_refunds

pytestmark = pytest.mark.e2e
PHONE: ViewportSize = {"width": 390, "height": 844}
NOT_FOUND = "未找到该记录"
_n = itertools.count(1)


# --- arranging -----------------------------------------------------------------------------


def _sign_in_patient(page: Page, server: str, slug: str, phone: str) -> None:
    page.goto(f"{server}/t/{slug}/login")
    page.fill("#f-identifier", phone)
    page.fill("#f-password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#patient-hello")).to_be_visible()


def _sign_in_admin_page(page: Page, server: str, slug: str, email: str) -> None:
    sign_in_staff(page, server, slug, email)
    expect(page).to_have_url(re.compile(rf"/t/{slug}/admin$"))


def _local_today(tenant: TenantInfo) -> date:
    return utcnow().astimezone(ZoneInfo(tenant.timezone)).date()


def _open_day(
    tenant: TenantInfo, location_id: int, package_id: int, *, at_least: int = 1
) -> tuple[date, list[SlotView]]:
    """The first open day at least ``at_least`` days ahead and its bookable slots."""
    now = utcnow()
    first = _local_today(tenant) + timedelta(days=at_least)
    with tenant_session(tenant.id) as s:
        for d in bookable_days(session=s, location_id=location_id, now=now):
            if d.open and d.day >= first:
                slots = [
                    v
                    for v in available_slots(
                        session=s,
                        location_id=location_id,
                        day=d.day,
                        package_id=package_id,
                        now=now,
                    )
                    if v.bookable
                ]
                return d.day, slots
    raise AssertionError("no open day")


def _checkout(
    tenant: TenantInfo,
    patient: Principal,
    *,
    package_id: int,
    location_id: int,
    slot_id: int,
    method: str = "clinic",
) -> orders.CheckoutResult:
    """The patient orders through the service, as the booking page does."""
    with tenant_session(tenant.id) as s:
        return orders.checkout(
            session=s,
            actor=patient,
            package_id=package_id,
            location_id=location_id,
            slot_id=slot_id,
            addon_item_ids=[],
            payment_method=method,
            idempotency_key=uuid.uuid4().hex,
            now=utcnow(),
        )


def _booking(tenant: TenantInfo, booking_id: int) -> Booking:
    with tenant_session(tenant.id) as s:
        return s.exec(select(Booking).where(Booking.id == booking_id)).one()


def _order(tenant: TenantInfo, order_id: int) -> Order:
    with tenant_session(tenant.id) as s:
        return s.exec(select(Order).where(Order.id == order_id)).one()


def _slot_started_today(tenant: TenantInfo, slot_id: int) -> None:
    """The slot's day comes: it is moved to today in the tenant's zone, started ten
    minutes ago (the server's clock cannot be moved)."""
    now = utcnow()
    with tenant_session(tenant.id) as s:
        row = s.exec(select(Slot).where(Slot.id == slot_id)).one()
        row.day = _local_today(tenant)
        row.starts_at, row.ends_at = now - timedelta(minutes=10), now + timedelta(minutes=20)
        s.add(row)


# --- 1. catalog ----------------------------------------------------------------------------


def test_admin_prices_an_item_and_a_package_in_yuan_and_publishing_puts_it_in_the_mall(
    page: Page, browser: Browser, server: str, world: World
) -> None:
    n = next(_n)
    loc = make_location(world.a, world.admin_a, name_zh=f"目录门店{n}")
    item_code, pkg_code, name = f"E2E-CT{n}", f"E2E-CAT{n}", f"心脑全面筛查{n}"
    # A package with the same words that is never published: the mall must not show it.
    hidden = make_package(world.a, [loc], code=f"E2E-HID{n}")
    with tenant_session(world.a.id) as s:
        row = s.exec(select(HealthPackage).where(HealthPackage.id == hidden)).one()
        row.name_zh, row.published = f"{name}（内部）", False
        s.add(row)

    _sign_in_admin_page(page, server, world.a.slug, world.admin_a.label)
    page.goto(f"{server}/t/{world.a.slug}/admin/catalog")

    # An exam item: three decimals are refused in Chinese and nothing is written.
    page.click("#tab-items")
    page.click("#new-item")
    page.fill("#f-code", item_code)
    page.fill("#f-name_zh", "低剂量螺旋CT")
    page.fill("#f-price", "12.345")
    page.click("#save-item")
    expect(page.locator("#err-price")).to_contain_text("最多两位小数")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(ExamItem).where(ExamItem.code == item_code)).first() is None
    page.fill("#f-price", "350.50")
    page.click("#save-item")
    expect(page.locator(f"#item-{item_code}")).to_contain_text("¥350.50")
    with tenant_session(world.a.id) as s:
        item = s.exec(select(ExamItem).where(ExamItem.code == item_code)).one()
        assert (item.price_fen, item.active) == (35050, True)
        item_id = int(item.id or 0)

    # A package with that item at the location: a sale price above the list price first.
    page.click("#tab-packages")
    page.click("#new-package")
    page.fill("#f-code", pkg_code)
    page.fill("#f-name_zh", name)
    page.fill("#f-list_price", "1299.00")
    page.fill("#f-sale_price", "1399.00")
    page.check(f"#inc-{item_id}")
    page.check(f"#loc-{loc}")
    page.click("#save-package")
    expect(page.locator("#err-sale_price")).to_contain_text("售价不能高于原价")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(HealthPackage).where(HealthPackage.code == pkg_code)).first() is None
    page.fill("#f-sale_price", "999.00")
    page.click("#save-package")
    row_el = page.locator(f"#package-{pkg_code}")
    expect(row_el).to_contain_text("¥999.00")
    expect(row_el).to_contain_text("¥1,299.00")
    with tenant_session(world.a.id) as s:
        pkg = s.exec(select(HealthPackage).where(HealthPackage.code == pkg_code)).one()
        pkg_id = int(pkg.id or 0)
        assert (pkg.list_price_fen, pkg.sale_price_fen, pkg.published) == (129900, 99900, False)
        assert s.exec(
            select(PackageItem.item_id).where(PackageItem.package_id == pkg_id)
        ).all() == [item_id]
        assert s.exec(
            select(PackageLocation.location_id).where(PackageLocation.package_id == pkg_id)
        ).all() == [loc]

    # Not yet published: a patient searching for it finds nothing.
    mall = browser.new_page(viewport=PHONE, locale="zh-CN")
    mall.goto(f"{server}/t/{world.a.slug}/mall")
    mall.fill("#mall-search", name)
    mall.locator("#mall-search").press("Enter")
    expect(mall.locator("#mall-empty")).to_be_visible()

    # Published from the table: the switch, the row and the mall all say so.
    switch = page.locator(f"#publish-{pkg_code}")
    switch.click()
    expect(page.locator("#form-notice")).to_be_visible()
    expect(switch).to_have_attribute("data-state", "checked")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(HealthPackage.published).where(HealthPackage.id == pkg_id)).one()

    mall.reload()
    mall.fill("#mall-search", name)
    mall.locator("#mall-search").press("Enter")
    card = mall.locator(f"#package-{pkg_id}")
    expect(card).to_contain_text(name)
    expect(card).to_contain_text("¥999.00")
    expect(mall.locator(f"#package-{hidden}")).to_have_count(0)
    expect(mall.locator("#mall-list a")).to_have_count(1)
    card.click()
    expect(mall.locator("#package-name")).to_contain_text(name)
    mall.close()


# --- 2. schedules --------------------------------------------------------------------------


def test_admin_sets_up_hours_closure_and_resource_and_the_closed_day_cannot_be_picked(
    page: Page, browser: Browser, server: str, world: World
) -> None:
    n = next(_n)
    # Another location exists, so the page opens on it and "new location" visibly switches.
    make_location(world.a, world.admin_a, name_zh=f"老院区{n}")
    name = f"东区分院{n}"
    closed = _local_today(world.a) + timedelta(days=3)
    same_weekday = closed + timedelta(days=7)

    _sign_in_admin_page(page, server, world.a.slug, world.admin_a.label)
    page.goto(f"{server}/t/{world.a.slug}/admin/schedules")
    expect(page.locator("#tab-details")).to_be_visible()
    page.click("#new-location")
    expect(page.locator("#tab-details")).to_have_count(0)
    page.fill("#f-loc_name_zh", name)
    page.fill("#f-loc_address", "浦东新区张江路 88 号")
    page.fill("#f-loc_max_days_ahead", "14")
    page.click("#save-location")
    expect(page.locator("#location-notice")).to_contain_text("已保存")
    with tenant_session(world.a.id) as s:
        location = s.exec(select(Location).where(Location.name_zh == name)).one()
        loc = int(location.id or 0)
        assert (location.min_days_ahead, location.max_days_ahead) == (1, 14)

    # Weekly hours on the closed day's weekday: an end before the start first.
    page.click("#tab-hours")
    page.select_option("#f-hours_weekday", str(closed.weekday()))
    page.fill("#f-hours_start", "10:00")
    page.fill("#f-hours_end", "09:00")
    page.fill("#f-hours_slot_minutes", "30")
    page.fill("#f-hours_capacity", "4")
    page.click("#save-hours")
    expect(page.locator("#err-hours_end")).to_contain_text("结束时间须晚于开始时间")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(LocationHours).where(LocationHours.location_id == loc)).all() == []
    page.fill("#f-hours_end", "11:00")
    page.click("#save-hours")
    expect(page.locator("#hours-notice")).to_be_visible()
    expect(page.locator("#hours-table")).to_contain_text("10:00–11:00")
    with tenant_session(world.a.id) as s:
        hours = s.exec(select(LocationHours).where(LocationHours.location_id == loc)).one()
        assert (hours.weekday, hours.start, hours.end, hours.slot_minutes, hours.capacity) == (
            closed.weekday(),
            "10:00",
            "11:00",
            30,
            4,
        )

    # A closure day.
    page.click("#tab-closures")
    page.fill("#f-closure_day", closed.isoformat())
    page.fill("#f-closure_reason", "设备检修")
    page.click("#add-closure")
    expect(page.locator(f"#closure-{closed.isoformat()}")).to_contain_text("设备检修")
    with tenant_session(world.a.id) as s:
        closure = s.exec(select(Closure).where(Closure.location_id == loc)).one()
        assert (closure.day, closure.reason) == (closed, "设备检修")

    # A scarce resource with its daily limit.
    page.click("#tab-resources")
    page.fill("#f-res_key", "ct")
    page.fill("#f-res_name_zh", "CT 机")
    page.fill("#f-res_daily_limit", "5")
    page.click("#save-resource")
    expect(page.locator("#res-ct")).to_contain_text("5")
    with tenant_session(world.a.id) as s:
        res = s.exec(select(Resource).where(Resource.location_id == loc)).one()
        assert (res.key, res.name_zh, res.daily_limit) == ("ct", "CT 机", 5)

    # The patient's day picker: the closed day is not selectable, the same weekday a
    # week later is, and shows the two half-hour slots.
    pkg = make_package(world.a, [loc], code=f"E2E-SCH{n}")
    patient = make_patient(world.a, name=f"排班患者{n}")
    book = browser.new_page(viewport=PHONE, locale="zh-CN")
    _sign_in_patient(book, server, world.a.slug, patient.label)
    book.goto(f"{server}/t/{world.a.slug}/book/{pkg}")
    expect(book.locator(f"#day-{closed.isoformat()}")).to_be_disabled()
    later = book.locator(f"#day-{same_weekday.isoformat()}")
    expect(later).to_be_enabled()
    later.click()
    expect(book.get_by_text("10:00–10:30")).to_be_visible()
    expect(book.get_by_text("10:30–11:00")).to_be_visible()
    book.close()


# --- 3. front desk -------------------------------------------------------------------------


def test_front_desk_walk_in_needs_a_reason_to_exceed_capacity_then_no_show_check_in_complete(
    page: Page, server: str, world: World
) -> None:
    n = next(_n)
    # A location of one seat per slot, a future day with its first slot taken.
    loc = make_location(world.a, world.admin_a, capacity=1, end="09:00", name_zh=f"前台门店{n}")
    pkg = make_package(world.a, [loc], code=f"E2E-FD{n}")
    day, slots = _open_day(world.a, loc, pkg)
    full = slots[0].id
    first = make_patient(world.a, name=f"先到患者{n}")
    _checkout(world.a, first, package_id=pkg, location_id=loc, slot_id=full)
    walker = make_patient(world.a, name=f"现场患者{n}")

    sign_in_staff(page, server, world.a.slug, world.staff_a.label)
    expect(page).to_have_url(re.compile(r"/admin$"))
    page.goto(f"{server}/t/{world.a.slug}/admin/frontdesk?day={day.isoformat()}")
    page.select_option("#frontdesk-location", str(loc))
    expect(page.locator(f"#slot-count-{full}")).to_have_text("1 / 1")

    page.click("#open-walkin")
    page.fill("#walkin-query", walker.name)
    page.click("#walkin-search")
    page.click(f"#walkin-patient-{walker.id}")
    expect(page.locator("#walkin-chosen")).to_contain_text(walker.name)
    page.select_option("#walkin-package", str(pkg))
    page.select_option("#walkin-slot", str(full))

    # Without an override the full slot refuses.
    page.click("#walkin-submit")
    expect(page.locator("#walkin-error")).to_contain_text("该时段已约满")
    # With the override ticked but no reason, the reason is asked for.
    page.click("#walkin-override")
    page.click("#walkin-submit")
    expect(page.locator("#err-override_reason")).to_contain_text("请填写超额原因")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Booking).where(Booking.patient_id == walker.id)).all() == []
        assert s.exec(select(Slot.booked).where(Slot.id == full)).one() == 1

    # With a reason it goes through, beyond capacity, and is audited.
    page.fill("#walkin-reason", "术后复查，医生加号")
    page.click("#walkin-submit")
    expect(page.locator("#form-notice")).to_contain_text(walker.name)
    expect(page.locator(f"#slot-count-{full}")).to_have_text("2 / 1")
    with tenant_session(world.a.id) as s:
        b = s.exec(select(Booking).where(Booking.patient_id == walker.id)).one()
        assert (b.status, b.walk_in, b.slot_id) == (BookingStatus.CONFIRMED, True, full)
        assert b.override_reason == "术后复查，医生加号"
        assert b.created_by_staff_id == world.staff_a.id
        assert s.exec(select(Slot.booked).where(Slot.id == full)).one() == 2
        audit = s.exec(
            select(AuditEvent).where(
                AuditEvent.action == "booking.capacity_override",
                AuditEvent.target_id == str(b.id),
            )
        ).one()
        assert (audit.actor_kind, audit.actor_id) == ("staff", world.staff_a.id)
        assert "术后复查" in audit.details
    expect(page.locator(f"#status-{b.id}")).to_have_text("已确认")

    # The day comes for two other patients at another location: one does not
    # turn up, the other is checked in and completed.
    loc2 = make_location(world.a, world.admin_a, capacity=3, end="09:00", name_zh=f"今日门店{n}")
    pkg2 = make_package(world.a, [loc2], code=f"E2E-FDT{n}")
    _day2, slots2 = _open_day(world.a, loc2, pkg2)
    absent = make_patient(world.a, name=f"未到患者{n}")
    comer = make_patient(world.a, name=f"到院患者{n}")
    absent_id, comer_id = (
        _checkout(world.a, p, package_id=pkg2, location_id=loc2, slot_id=slots2[0].id).booking_id
        for p in (absent, comer)
    )
    _slot_started_today(world.a, slots2[0].id)

    page.goto(f"{server}/t/{world.a.slug}/admin/frontdesk")
    page.select_option("#frontdesk-location", str(loc2))
    expect(page.locator(f"#status-{absent_id}")).to_have_text("已确认")
    expect(page.locator(f"#status-{comer_id}")).to_have_text("已确认")

    page.click(f"#noshow-{absent_id}")
    expect(page.locator(f"#status-{absent_id}")).to_have_attribute("data-status", "no_show")
    expect(page.locator(f"#status-{absent_id}")).to_have_text("爽约")
    expect(page.locator(f"#checkin-{absent_id}")).to_have_count(0)

    page.click(f"#checkin-{comer_id}")
    expect(page.locator(f"#status-{comer_id}")).to_have_attribute("data-status", "checked_in")
    expect(page.locator("#form-notice")).to_contain_text(comer.name)
    page.click(f"#complete-{comer_id}")
    expect(page.locator(f"#status-{comer_id}")).to_have_attribute("data-status", "completed")
    expect(page.locator(f"#status-{comer_id}")).to_have_text("已完成")

    gone, came = _booking(world.a, absent_id), _booking(world.a, comer_id)
    assert gone.status == BookingStatus.NO_SHOW
    assert came.status == BookingStatus.COMPLETED
    assert came.checked_in_at is not None
    assert came.completed_at is not None


# --- 4. orders -----------------------------------------------------------------------------


def test_admin_refunds_part_of_a_stripe_payment_in_yuan_and_cannot_refund_more(
    page: Page, server: str, world: World
) -> None:
    n = next(_n)
    loc = make_location(world.a, world.admin_a, name_zh=f"订单门店{n}")
    pkg = make_package(world.a, [loc], code=f"E2E-ORD{n}")
    _day, slots = _open_day(world.a, loc, pkg, at_least=2)
    patient = make_patient(world.a, name=f"退款患者{n}")
    res = _checkout(
        world.a, patient, package_id=pkg, location_id=loc, slot_id=slots[0].id, method="stripe"
    )
    # Paid at localstripe, synced as the pay page does.
    intent = intent_for(world.a, res.order_id)
    assert pay(world.a, res.order_id) == "succeeded"
    with tenant_session(world.a.id) as s:
        orders.sync_payment_intent(session=s, intent_id=intent, now=utcnow())
    paid = _order(world.a, res.order_id)
    assert (paid.status, paid.paid_fen) == (OrderStatus.PAID, 50000)

    _sign_in_admin_page(page, server, world.a.slug, world.admin_a.label)
    page.goto(f"{server}/t/{world.a.slug}/admin/orders?order={res.order_id}")
    expect(page.locator("#order-paid")).to_contain_text("500.00")

    # More than was paid: refused with the most that can be refunded.
    page.click("#refund")
    expect(page.locator("#refundable")).to_contain_text("500.00")
    page.fill("#f-amount", "500.01")
    page.fill("#f-reason", "客户要求")
    page.click("#do-refund")
    expect(page.locator("#err-amount")).to_contain_text("不能超过可退金额 ¥500.00")
    assert _order(world.a, res.order_id).refunded_fen == 0
    assert stripe_refunds(intent) == []

    # Part of it, typed in yuan.
    page.fill("#f-amount", "123.45")
    page.click("#do-refund")
    expect(page.locator("#form-notice")).to_contain_text("已退款 ¥123.45")
    expect(page.locator("#order-refunded")).to_contain_text("123.45")
    expect(page.locator("#order-refunds")).to_contain_text("客户要求")
    order = _order(world.a, res.order_id)
    assert (order.status, order.refunded_fen) == (OrderStatus.PARTIALLY_REFUNDED, 12345)
    assert [r["amount"] for r in stripe_refunds(intent)] == [12345]

    # Now more than what is left is refused too, and nothing changes.
    page.click("#refund")
    expect(page.locator("#refundable")).to_contain_text("376.55")
    page.fill("#f-amount", "376.56")
    page.click("#do-refund")
    expect(page.locator("#err-amount")).to_contain_text("¥376.55")
    order = _order(world.a, res.order_id)
    assert (order.status, order.refunded_fen) == (OrderStatus.PARTIALLY_REFUNDED, 12345)
    assert len(stripe_refunds(intent)) == 1


# --- 5. waitlist ---------------------------------------------------------------------------


def test_full_slot_waitlist_gets_the_freed_seat_as_a_hold_with_a_pay_link(
    page: Page, server: str, world: World
) -> None:
    n = next(_n)
    loc = make_location(world.a, world.admin_a, capacity=1, end="09:00", name_zh=f"候补门店{n}")
    pkg = make_package(world.a, [loc], code=f"E2E-WL{n}")
    # Far enough ahead for the default policy's cancellation cutoff.
    day, slots = _open_day(world.a, loc, pkg, at_least=3)
    slot = slots[0].id
    other = make_patient(world.a, name=f"原预约患者{n}")
    taken = _checkout(world.a, other, package_id=pkg, location_id=loc, slot_id=slot)
    waiter = make_patient(world.a, name=f"候补患者{n}")

    page.set_viewport_size(PHONE)
    _sign_in_patient(page, server, world.a.slug, waiter.label)
    page.goto(f"{server}/t/{world.a.slug}/book/{pkg}")
    page.click(f"#day-{day.isoformat()}")
    expect(page.locator(f"#slot-{slot}")).to_have_attribute("data-full", "1")
    page.click(f"#waitlist-{slot}")
    expect(page.locator("#form-notice")).to_contain_text("已加入候补名单")
    with tenant_session(world.a.id) as s:
        entry = s.exec(select(WaitlistEntry).where(WaitlistEntry.patient_id == waiter.id)).one()
        assert (entry.slot_id, entry.status) == (slot, WaitlistStatus.WAITING)

    # The other patient cancels: the seat is held for the waiting patient.
    with tenant_session(world.a.id) as s:
        orders.cancel_order_by_patient(
            session=s, actor=other, now=utcnow(), booking_id=taken.booking_id
        )
    with tenant_session(world.a.id) as s:
        entry = s.exec(select(WaitlistEntry).where(WaitlistEntry.patient_id == waiter.id)).one()
        assert entry.status == WaitlistStatus.OFFERED
        assert entry.booking_id is not None
        held = s.exec(select(Booking).where(Booking.id == entry.booking_id)).one()
        assert (held.status, held.slot_id) == (BookingStatus.HELD, slot)
        offer_order = s.exec(select(Order).where(Order.booking_id == held.id)).one()
        assert offer_order.status == OrderStatus.PENDING_PAYMENT
        note = s.exec(
            select(Message).where(
                Message.patient_id == waiter.id,
                Message.template_key == "booking.waitlist_offer",
            )
        ).one()
        assert note.channel == Channel.INAPP
        assert s.exec(select(Slot.booked).where(Slot.id == slot)).one() == 1

    page.goto(f"{server}/t/{world.a.slug}/bookings/{held.id}")
    expect(page.locator("#booking-status")).to_have_text("待支付")
    expect(page.locator("#pay-now")).to_have_attribute("href", re.compile(r"/api/pay/"))
    expect(page.locator("#booking-order")).to_contain_text(offer_order.number)


# --- 6. the other tenant -------------------------------------------------------------------


def test_other_tenants_staff_find_neither_the_check_in_code_nor_the_order(
    page: Page, browser: Browser, server: str, world: World
) -> None:
    n = next(_n)
    loc = make_location(world.a, world.admin_a, name_zh=f"隔离门店{n}")
    pkg = make_package(world.a, [loc], code=f"E2E-TEN{n}")
    _day, slots = _open_day(world.a, loc, pkg)
    patient = make_patient(world.a, name=f"甲方患者{n}")
    res = _checkout(world.a, patient, package_id=pkg, location_id=loc, slot_id=slots[0].id)
    _slot_started_today(world.a, slots[0].id)  # checkable today in A, were it A's desk
    code = _booking(world.a, res.booking_id).checkin_code

    # B's front desk: neither A's code nor A's booking id is found.
    sign_in_staff(page, server, world.b.slug, world.staff_b.label)
    expect(page).to_have_url(re.compile(r"/admin$"))
    page.goto(f"{server}/t/{world.b.slug}/admin/frontdesk")
    expect(page.locator("#checkin-code")).to_be_visible()
    page.fill("#checkin-code", code)
    page.click("#checkin-submit")
    expect(page.locator("#form-error")).to_contain_text(NOT_FOUND)
    page.fill("#checkin-code", str(res.booking_id))
    page.click("#checkin-submit")
    expect(page.locator("#form-error")).to_contain_text(NOT_FOUND)
    b = _booking(world.a, res.booking_id)
    assert (b.status, b.checked_in_at) == (BookingStatus.CONFIRMED, None)

    # B's admin opening A's order id on the orders page.
    admin = browser.new_page()
    _sign_in_admin_page(admin, server, world.b.slug, world.admin_b.label)
    admin.goto(f"{server}/t/{world.b.slug}/admin/orders?order={res.order_id}")
    expect(admin.locator("#form-error")).to_contain_text(NOT_FOUND)
    expect(admin.locator("#order-detail")).to_have_count(0)
    expect(admin.get_by_text(patient.name)).to_have_count(0)
    admin.close()
    with tenant_session(world.a.id) as s:
        order = s.exec(select(Order).where(col(Order.id) == res.order_id)).one()
        assert order.status == OrderStatus.PENDING_PAYMENT
