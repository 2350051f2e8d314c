"""Referrals end to end in a real browser on a phone: the referrer's /card shows
the invite link; a friend opens it, the referrer's card number is filled in (a
wrong one is refused in Chinese and nothing is written), registers; the friend's
first order paid at the clinic puts the referral points in the referrer's wallet."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import func, select

from prm_saas.accounts.auth import patient_principal
from prm_saas.accounts.models import Patient
from prm_saas.booking.calendar import bookable_days
from prm_saas.booking.schedule import available_slots
from prm_saas.membership import admin, cards
from prm_saas.membership.models import Referral
from prm_saas.orders.services import checkout, mark_clinic_paid
from tenants.db import tenant_session
from tenants.types import utcnow
from tests.booking.builders import make_location, make_package
from tests.e2e.test_booking_flow import PHONE, _sign_in_patient
from tests.factories import PASSWORD, World, make_patient

pytestmark = pytest.mark.e2e


def _pay_first_order(world: World, patient_id: int, loc: int, pkg: int) -> None:
    """The friend's first order, paid at the front desk."""
    now = utcnow()
    with tenant_session(world.a.id) as s:
        friend = patient_principal(s.exec(select(Patient).where(Patient.id == patient_id)).one())
        day = next(
            d.day
            for d in bookable_days(session=s, location_id=loc, now=now)
            if d.open and d.day >= (now + timedelta(days=1)).date()
        )
        slot = next(
            v
            for v in available_slots(session=s, location_id=loc, day=day, package_id=pkg, now=now)
            if v.bookable
        )
        done = checkout(
            session=s,
            actor=friend,
            package_id=pkg,
            location_id=loc,
            slot_id=slot.id,
            addon_item_ids=[],
            payment_method="clinic",
            idempotency_key=f"e2e-ref-{patient_id}",
            now=now,
        )
    with tenant_session(world.a.id) as s:
        mark_clinic_paid(session=s, actor=world.admin_a, order_id=done.order_id, now=utcnow())


def test_a_friend_registers_with_the_invite_link_and_the_first_order_rewards_the_referrer(
    page: Page, server: str, world: World
) -> None:
    loc = make_location(world.a, world.admin_a, capacity=3, max_days_ahead=30)
    pkg = make_package(world.a, [loc], code="E2E-REF")
    referrer = make_patient(world.a, name="钱推荐")
    with tenant_session(world.a.id) as s:
        admin.set_rule(session=s, actor=world.admin_a, kind="referral", points=200, active=True)
        number = cards.issue_card(s, actor=referrer, patient_id=referrer.id, now=utcnow()).number

    # The referrer's card shows the invite link with the card number.
    page.set_viewport_size(PHONE)
    _sign_in_patient(page, server, world.a.slug, referrer.label)
    page.goto(f"{server}/t/{world.a.slug}/card")
    link = f"{server}/t/{world.a.slug}/register?ref={number}"
    expect(page.locator("#invite-url")).to_have_value(link)
    expect(page.locator("#invite-counts")).to_contain_text("已有 0 位好友注册")
    page.click("#patient-sign-out")

    # A friend opens the link: the referrer's card number is filled in.
    page.goto(link)
    expect(page.locator("#f-referral_code")).to_have_value(number)
    page.fill("#f-name", "孙好友")
    page.fill("#f-phone", "13700009911")
    page.fill("#f-password", PASSWORD)
    page.fill("#f-password_confirm", PASSWORD)
    # A mistyped number is refused, and nothing is written.
    page.fill("#f-referral_code", "NOPE0001")
    page.click("#submit")
    expect(page.locator("#err-referral_code")).to_contain_text("没有这个会员卡号")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Patient).where(Patient.phone == "+8613700009911")).first() is None
    page.fill("#f-referral_code", number.lower())
    page.click("#submit")
    expect(page.locator("#patient-hello")).to_contain_text("孙好友")
    with tenant_session(world.a.id) as s:
        friend = s.exec(select(Patient).where(Patient.phone == "+8613700009911")).one()
        ref = s.exec(select(Referral).where(Referral.referred_patient_id == friend.id)).one()
        assert ref.referrer_patient_id == referrer.id
        friend_id = int(friend.id or 0)
    page.click("#patient-sign-out")

    # The friend's first order is paid at the clinic: the referrer earns the points.
    _pay_first_order(world, friend_id, loc, pkg)
    _sign_in_patient(page, server, world.a.slug, referrer.label)
    page.goto(f"{server}/t/{world.a.slug}/wallet")
    expect(page.locator("#wallet-balance")).to_have_text("200")
    expect(page.locator("#wallet-history")).to_contain_text("推荐好友")
    expect(page.locator("#wallet-history")).to_contain_text("+200")
    page.goto(f"{server}/t/{world.a.slug}/card")
    expect(page.locator("#invite-counts")).to_contain_text(
        re.compile(r"已有 1 位好友注册，1 位已为您赢得积分")
    )
    with tenant_session(world.b.id) as s:  # nothing reached the other tenant
        assert s.exec(select(func.count()).select_from(Referral)).one() == 0
