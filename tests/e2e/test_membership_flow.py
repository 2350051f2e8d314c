"""Issue 5 end to end in a real browser against the production build, on a phone:
a checkup completed at the front desk puts points in the wallet, the patient
redeems a coupon and pays less with it at checkout; a health challenge joined,
checked in (a second check-in the same day refused) with progress and a
nickname-only leaderboard; the other tenant's patient gets "not found"."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from prm_saas.challenges import services as challenges
from prm_saas.challenges.services import ChallengeInput
from tenants.db import tenant_session
from tenants.types import utcnow
from tests.e2e.test_booking_flow import PHONE, _sign_in_patient
from tests.factories import World, make_patient

pytestmark = pytest.mark.e2e


def _local_today(world: World) -> date:
    return utcnow().astimezone(ZoneInfo(world.a.timezone)).date()


def _challenge(world: World, title: str) -> int:
    """A published 10,000-steps challenge of tenant A running around today."""
    today = _local_today(world)
    with tenant_session(world.a.id) as s:
        c = challenges.create_challenge(
            session=s,
            actor=world.admin_a,
            data=ChallengeInput(
                title_zh=title,
                title_en="Steps",
                starts_on=today - timedelta(days=1),
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
