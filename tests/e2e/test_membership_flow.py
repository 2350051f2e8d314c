"""Issue 5 end to end in a real browser against the production build, on a phone:
a checkup completed at the front desk puts points in the wallet, the patient
redeems a coupon and pays less with it at checkout; a health challenge joined,
checked in (a second check-in the same day refused) with progress and a
nickname-only leaderboard; the other tenant's patient gets "not found"."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from prm_saas.accounts.authz import Principal
from prm_saas.booking import frontdesk
from prm_saas.booking.calendar import bookable_days
from prm_saas.booking.schedule import available_slots
from prm_saas.challenges import services as challenges
from prm_saas.challenges.services import ChallengeInput
from prm_saas.membership import admin, points, rewards
from prm_saas.membership.models import Coupon, CouponStatus
from prm_saas.orders.models import Order
from prm_saas.orders.services import checkout
from tenants.db import tenant_session
from tenants.types import utcnow
from tests.booking.builders import make_location, make_package
from tests.e2e.test_booking_flow import PHONE, _move_slot_to_today, _sign_in_patient
from tests.factories import World, make_patient

pytestmark = pytest.mark.e2e


def _local_today(world: World) -> date:
    return utcnow().astimezone(ZoneInfo(world.a.timezone)).date()


def _challenge(world: World, title: str, *, starts_days_ago: int = 1) -> int:
    """A published 10,000-steps challenge of tenant A running around today."""
    today = _local_today(world)
    with tenant_session(world.a.id) as s:
        c = challenges.create_challenge(
            session=s,
            actor=world.admin_a,
            data=ChallengeInput(
                title_zh=title,
                title_en="Steps",
                starts_on=today - timedelta(days=starts_days_ago),
                ends_on=today + timedelta(days=20),
                target_days=3,
                value_kind="number",
                unit="步",
                threshold="10000",
                reward_points=30,
                badge_name="健步达人",
            ),
        )
        cid = int(c.id or 0)
        challenges.publish_challenge(session=s, actor=world.admin_a, challenge_id=cid)
    return cid


def _checked_in_booking(world: World, patient: Principal, loc: int, pkg: int) -> int:
    """A booking of ``patient`` paid at the clinic, on a slot moved to now, checked in."""
    now = utcnow()
    with tenant_session(world.a.id) as s:
        day = next(d.day for d in bookable_days(session=s, location_id=loc, now=now) if d.open)
        slot = next(
            v
            for v in available_slots(session=s, location_id=loc, day=day, package_id=pkg, now=now)
            if v.bookable
        )
        done = checkout(
            session=s,
            actor=patient,
            package_id=pkg,
            location_id=loc,
            slot_id=slot.id,
            addon_item_ids=[],
            payment_method="clinic",
            idempotency_key=f"e2e-{patient.id}",
            now=now,
        )
    _move_slot_to_today(world, slot.id)
    with tenant_session(world.a.id) as s:
        frontdesk.check_in(session=s, actor=world.staff_a, code_or_id=done.booking_id)
    return done.booking_id


def test_points_from_a_checkup_buy_a_coupon_that_lowers_the_price_at_checkout(
    page: Page, server: str, world: World
) -> None:
    loc = make_location(world.a, world.admin_a, capacity=3, max_days_ahead=30)
    pkg = make_package(world.a, [loc], code="E2E-PTS")
    with tenant_session(world.a.id) as s:
        admin.set_rule(
            session=s, actor=world.admin_a, kind="checkup_completed", points=500, active=True
        )
        reward = rewards.create_reward(
            session=s,
            actor=world.admin_a,
            kind="discount_coupon",
            name_zh="五十元体检券E2E",
            name_en="50 yuan off E2E",
            points_cost=300,
            discount_yuan="50",
            per_patient_limit="1",
        )
    patient = make_patient(world.a, name="赵一鸣")
    booking_id = _checked_in_booking(world, patient, loc, pkg)

    page.set_viewport_size(PHONE)
    _sign_in_patient(page, server, world.a.slug, patient.label)

    # Before the checkup is done: no points.
    page.goto(f"{server}/t/{world.a.slug}/wallet")
    expect(page.locator("#wallet-balance")).to_have_text("0")

    # The front desk completes the checkup; the points arrive in the wallet.
    with tenant_session(world.a.id) as s:
        frontdesk.complete(session=s, actor=world.staff_a, booking_id=booking_id)
    page.reload()
    expect(page.locator("#wallet-balance")).to_have_text("500")
    expect(page.locator("#wallet-spendable")).to_have_text("500")
    expect(page.locator("#wallet-history")).to_contain_text("完成体检")
    expect(page.locator("#wallet-history")).to_contain_text("+500")

    # The card: opened by the patient, shown with its number and QR code.
    page.goto(f"{server}/t/{world.a.slug}/card")
    page.click("#open-card")
    expect(page.locator("#card-number")).to_have_text(re.compile(r"\w+\d{4,}"))
    expect(page.locator("#card-qr")).to_be_visible()
    expect(page.locator("#card-barcode")).to_be_visible()
    number = page.locator("#card-number").inner_text()

    # The member home shows the card at a glance: its number and the balance.
    page.goto(f"{server}/t/{world.a.slug}/")
    expect(page.locator("#home-card-number")).to_have_text(number)
    expect(page.locator("#home-points")).to_have_text("500")

    # Redeem the coupon (after a confirmation); it shows under my coupons with its code.
    page.goto(f"{server}/t/{world.a.slug}/rewards")
    expect(page.locator("#rewards-spendable")).to_have_text("500")
    page.click(f"#redeem-{reward.id}")
    page.click(f"#confirm-redeem-{reward.id}")
    expect(page.locator("#form-notice")).to_be_visible()
    with tenant_session(world.a.id) as s:
        coupon = s.exec(select(Coupon).where(Coupon.patient_id == patient.id)).one()
        assert (coupon.status, coupon.reward_id) == (CouponStatus.ISSUED, reward.id)
        assert points.balance(s, actor=patient, patient_id=patient.id) == 200
    expect(page.locator(f"#coupon-code-{coupon.id}")).to_have_text(
        rewards.display_code(coupon.code)
    )
    expect(page.locator("#rewards-spendable")).to_have_text("200")

    # Checkout with the code: the price drops by 50 yuan; paid at the clinic.
    now = utcnow()
    with tenant_session(world.a.id) as s:
        day = next(
            d.day
            for d in bookable_days(session=s, location_id=loc, now=now)
            if d.open and d.day >= (now + timedelta(days=2)).date()
        )
        slot = next(
            v
            for v in available_slots(session=s, location_id=loc, day=day, package_id=pkg, now=now)
            if v.bookable
        )
    page.goto(f"{server}/t/{world.a.slug}/book/{pkg}")
    page.click(f"#day-{day.isoformat()}")
    page.click(f"#slot-{slot.id}")
    expect(page.locator("#book-total")).to_contain_text("¥500.00")
    page.fill("#coupon-input", "WRONG-CODE")
    page.click("#coupon-apply")
    expect(page.locator("#coupon-error")).to_be_visible()
    expect(page.locator("#book-total")).to_contain_text("¥500.00")
    page.fill("#coupon-input", rewards.display_code(coupon.code).lower())
    page.click("#coupon-apply")
    expect(page.locator("#coupon-applied")).to_be_visible()
    expect(page.locator("#coupon-off")).to_contain_text("¥50.00")
    expect(page.locator("#book-total")).to_contain_text("¥450.00")
    page.click("#pay-clinic")
    page.click("#book-submit")
    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/bookings/\d+$"))
    new_booking = int(page.url.rsplit("/", 1)[1])
    with tenant_session(world.a.id) as s:
        order = s.exec(select(Order).where(Order.booking_id == new_booking)).one()
        used = s.exec(select(Coupon).where(Coupon.id == coupon.id)).one()
    assert order.total_fen == 45000
    assert (used.status, used.order_id) == (CouponStatus.USED, order.id)

    # My coupons says it is used.
    page.goto(f"{server}/t/{world.a.slug}/rewards?tab=coupons")
    expect(page.locator(f"#coupon-status-{coupon.id}")).to_have_text("已使用")


def test_patient_joins_checks_in_and_sees_the_leaderboard(
    page: Page, server: str, world: World
) -> None:
    cid = _challenge(world, "万步走E2E")
    rival = make_patient(world.a, name="王大锤")
    with tenant_session(world.a.id) as s:
        challenges.join(session=s, actor=rival, challenge_id=cid, nickname="快走达人", now=utcnow())
        challenges.check_in(
            session=s, actor=rival, challenge_id=cid, values=["12000"], now=utcnow()
        )
    patient = make_patient(world.a, name="林小雨")

    page.set_viewport_size(PHONE)
    _sign_in_patient(page, server, world.a.slug, patient.label)
    page.goto(f"{server}/t/{world.a.slug}/challenges")
    expect(page.locator(f"#challenge-{cid}")).to_contain_text("万步走E2E")
    page.click(f"#challenge-{cid}")
    expect(page.locator("#challenge-title")).to_have_text("万步走E2E")

    # Join under a nickname; the leaderboard shows nicknames, never names.
    page.fill("#f-nickname", "晨跑小林")
    page.click("#join-submit")
    expect(page.locator("#form-notice")).to_contain_text("晨跑小林")
    board = page.locator("#leaderboard")
    expect(board).to_contain_text("快走达人")
    expect(board).to_contain_text("晨跑小林")
    expect(board).not_to_contain_text("王大锤")
    expect(board).not_to_contain_text("林小雨")

    # Check in with today's steps: one day counted of three.
    page.fill("#checkin-value", "10500")
    page.click("#checkin-submit")
    expect(page.locator("#form-notice")).to_contain_text("1 / 3")
    expect(page.locator("#progress-days")).to_have_text("1 / 3")
    expect(page.locator("#progress-streak")).to_have_text("1")
    expect(page.locator("#done-today")).to_be_visible()

    # A second check-in the same day is refused with the message; nothing changes.
    page.fill("#checkin-value", "11000")
    page.click("#checkin-submit")
    expect(page.locator("#form-error")).to_contain_text("今天")
    expect(page.locator("#form-error")).to_contain_text("已经打过卡")
    expect(page.locator("#progress-days")).to_have_text("1 / 3")
    with tenant_session(world.a.id) as s:
        progress = challenges.my_progress(session=s, actor=patient, challenge_id=cid, now=utcnow())
    assert (progress.days_counted, progress.checked_in_today) == (1, True)

    # In English the same error reads in English.
    page.click("#lang-switch")
    page.fill("#checkin-value", "11000")
    page.click("#checkin-submit")
    expect(page.locator("#form-error")).to_contain_text("already checked in today")


def test_the_check_in_that_completes_a_challenge_shows_the_reward_and_the_points(
    page: Page, server: str, world: World
) -> None:
    cid = _challenge(world, "三天打卡E2E", starts_days_ago=2)
    patient = make_patient(world.a, name="钱多多")
    now = utcnow()
    with tenant_session(world.a.id) as s:
        challenges.join(session=s, actor=patient, challenge_id=cid, nickname="多多", now=now)
        for days_ago in (2, 1):  # the two days before today, checked in then
            challenges.check_in(
                session=s,
                actor=patient,
                challenge_id=cid,
                values=["10001"],
                now=now - timedelta(days=days_ago),
            )

    page.set_viewport_size(PHONE)
    _sign_in_patient(page, server, world.a.slug, patient.label)
    page.goto(f"{server}/t/{world.a.slug}/challenges/{cid}")
    expect(page.locator("#progress-days")).to_have_text("2 / 3")
    expect(page.locator("#progress-streak")).to_have_text("2")
    page.fill("#checkin-value", "15000")
    page.click("#checkin-submit")
    expect(page.locator("#form-notice")).to_contain_text("30")
    expect(page.locator("#challenge-reward")).to_contain_text("+30")
    expect(page.locator("#challenge-badge")).to_contain_text("健步达人")
    expect(page.locator("#progress-best")).to_have_text("3")
    page.goto(f"{server}/t/{world.a.slug}/wallet")
    expect(page.locator("#wallet-balance")).to_have_text("30")
    expect(page.locator("#wallet-history")).to_contain_text("完成健康挑战")


def test_a_challenge_of_tenant_a_is_not_found_for_tenant_bs_patient(
    browser: Browser, server: str, world: World
) -> None:
    cid = _challenge(world, "血压打卡E2E")
    other = browser.new_page(viewport=PHONE)
    _sign_in_patient(other, server, world.b.slug, world.patient_b.label)
    other.goto(f"{server}/t/{world.b.slug}/challenges")
    expect(other.locator(f"#challenge-{cid}")).not_to_be_visible()
    other.goto(f"{server}/t/{world.b.slug}/challenges/{cid}")
    expect(other.get_by_text("404")).to_be_visible()
    expect(other.locator("#challenge-title")).not_to_be_visible()
    other.close()
