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
import json
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from prm_saas.accounts.authz import Principal
from prm_saas.audit.models import AuditEvent
from prm_saas.challenges import services as challenges
from prm_saas.challenges.models import Challenge, ChallengeStatus
from prm_saas.membership import cards, points, rewards
from prm_saas.membership.models import (
    Coupon,
    CouponStatus,
    MemberCard,
    MembershipLevel,
    PointsAccount,
    PointsRule,
    Reward,
)
from tenants.db import tenant_session
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.e2e.test_foundation_flows import sign_in_staff
from tests.factories import World, make_patient

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


# --- members -------------------------------------------------------------------------------


def _member_with_points(
    tenant: TenantInfo, admin: Principal, name: str, pts: int
) -> tuple[Principal, str]:
    """A patient with a card and ``pts`` points; (the patient, the card number)."""
    patient = make_patient(tenant, name=name)
    now = utcnow()
    with tenant_session(tenant.id) as s:
        card = cards.issue_card(s, actor=admin, patient_id=patient.id, now=now)
        points.earn(
            s,
            patient_id=patient.id,
            points=pts,
            reason="welcome",
            source=None,
            idempotency_key=f"e2e:{patient.id}:welcome",
            now=now,
        )
        return patient, card.number


def _balance(tenant: TenantInfo, patient_id: int) -> int:
    with tenant_session(tenant.id) as s:
        row = s.exec(select(PointsAccount).where(PointsAccount.patient_id == patient_id)).first()
        return row.balance if row else 0


def test_admin_finds_a_member_and_adjusts_points_only_with_a_reason(
    page: Page, server: str, world: World
) -> None:
    n = next(_n)
    member, number = _member_with_points(world.a, world.admin_a, f"积分会员{n}", 300)
    pid = member.id
    _admin(page, server, world, "/admin/members")

    page.fill("#f-q", number)
    page.click("#search")
    row = page.locator(f"#member-{pid}")
    expect(row).to_contain_text(number)
    expect(row).to_contain_text("300")
    expect(page.locator("#members-table tbody tr")).to_have_count(1)
    page.click(f"#open-{pid}")
    expect(page.locator("#member-card")).to_contain_text(number)
    expect(page.locator("#member-balance")).to_have_text("300")

    # No reason: refused in Chinese, nothing written.
    page.click("#adjust")
    page.fill("#f-points", "-120")
    page.click("#do-adjust")
    expect(page.locator("#err-reason")).to_contain_text("请填写调整原因")
    assert _balance(world.a, pid) == 300

    page.fill("#f-reason", "补录线下活动扣减")
    page.click("#do-adjust")
    expect(page.locator("#form-notice")).to_contain_text("-120")
    expect(page.locator("#member-balance")).to_have_text("180")
    expect(page.locator("#member-history")).to_contain_text("补录线下活动扣减")
    assert _balance(world.a, pid) == 180
    with tenant_session(world.a.id) as s:
        audit = s.exec(
            select(AuditEvent).where(
                AuditEvent.action == "points.adjust", AuditEvent.target_id == str(pid)
            )
        ).one()
    assert audit.actor_id == world.admin_a.id
    assert json.loads(audit.details)["reason"] == "补录线下活动扣减"


def test_admin_issues_a_card_and_the_desk_looks_it_up(
    page: Page, server: str, world: World
) -> None:
    n = next(_n)
    patient = make_patient(world.a, name=f"新会员{n}")
    _admin(page, server, world, f"/admin/members?patient={patient.id}")
    expect(page.locator("#member-no-card")).to_be_visible()
    page.click("#issue-card")
    expect(page.locator("#member-card")).to_be_visible()
    with tenant_session(world.a.id) as s:
        card = s.exec(select(MemberCard).where(MemberCard.patient_id == patient.id)).one()
    expect(page.locator("#member-card")).to_contain_text(card.number)

    # Front-desk staff: the card lookup, no member list, no adjusting.
    page.context.clear_cookies()
    sign_in_staff(page, server, world.a.slug, world.staff_a.label)
    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/admin$"))
    page.goto(f"{server}/t/{world.a.slug}/admin/members")
    expect(page.locator("#member-desk")).to_be_visible()
    expect(page.locator("#members-table")).to_have_count(0)
    page.fill("#f-card_number", f"  {card.number.lower()} ")
    page.click("#lookup-card")
    expect(page.locator("#member-name")).to_have_text(f"新会员{n}")
    expect(page.locator("#adjust")).to_have_count(0)
    # The desk issues a card too: find the patient by name, issue (audited as the staff).
    walk_in = make_patient(world.a, name=f"前台开卡{n}")
    page.fill("#f-desk_q", f"前台开卡{n}")
    page.click("#desk-search")
    page.click(f"#desk-issue-{walk_in.id}")
    expect(page.locator("#member-name")).to_have_text(f"前台开卡{n}")
    expect(page.locator("#member-card")).to_be_visible()
    with tenant_session(world.a.id) as s:
        desk_card = s.exec(select(MemberCard).where(MemberCard.patient_id == walk_in.id)).one()
    assert desk_card.issued_by_staff_id == world.staff_a.id
    expect(page.locator("#form-notice")).to_contain_text(desk_card.number)
    page.fill("#f-card_number", "NOPE0000")
    page.click("#lookup-card")
    expect(page.locator("#form-error")).to_contain_text("没有找到这个会员卡号")
    expect(page.locator("#member-detail")).to_have_count(0)
    # Staff cannot open the policy or rewards pages.
    for path in ("/admin/membership", "/admin/rewards", "/admin/challenges"):
        page.goto(f"{server}/t/{world.a.slug}{path}")
        expect(page.locator("#not-found")).to_be_visible()


def test_the_desk_hands_a_gift_over_once(page: Page, server: str, world: World) -> None:
    n = next(_n)
    patient, _number = _member_with_points(world.a, world.admin_a, f"礼品会员{n}", 500)
    now = utcnow()
    with tenant_session(world.a.id) as s:
        gift = rewards.create_reward(
            session=s,
            actor=world.admin_a,
            kind="gift",
            name_zh=f"保温杯{n}",
            points_cost="200",
            coupon_valid_days="30",
        )
    with tenant_session(world.a.id) as s:
        coupon = rewards.redeem_reward(
            session=s, actor=patient, reward_id=gift.id, idempotency_key=f"e2e-gift-{n}", now=now
        )
        code = coupon.code
    sign_in_staff(page, server, world.a.slug, world.staff_a.label)
    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/admin$"))
    page.goto(f"{server}/t/{world.a.slug}/admin/members")
    page.fill("#f-coupon_code", code.lower())
    page.click("#find-coupon")
    expect(page.locator("#coupon-name")).to_have_text(f"保温杯{n}")
    expect(page.locator("#coupon-status")).to_have_text("可使用")
    page.click("#hand-over")
    expect(page.locator("#form-notice")).to_contain_text(code)
    expect(page.locator("#coupon-status")).to_have_text("已使用")
    expect(page.locator("#hand-over")).to_have_count(0)
    with tenant_session(world.a.id) as s:
        used = s.exec(select(Coupon).where(Coupon.code == code)).one()
    assert used.status == CouponStatus.USED
    assert used.used_by_staff_id == world.staff_a.id


def test_another_tenants_member_is_not_found(page: Page, server: str, world: World) -> None:
    n = next(_n)
    # Card numbers are per tenant (A may hold M00000002 too): B's get their own prefix.
    with tenant_session(world.b.id) as s:
        cards.set_card_format(s, actor=world.admin_b, prefix="CB", digits=8)
    member_b, number_b = _member_with_points(world.b, world.admin_b, f"乙会员{n}", 100)
    assert number_b.startswith("CB")
    _admin(page, server, world, f"/admin/members?patient={member_b.id}")
    expect(page.locator("#form-error")).to_contain_text(NOT_FOUND)
    expect(page.locator("#member-detail")).to_have_count(0)
    page.fill("#f-card_number", number_b)
    page.click("#lookup-card")
    expect(page.locator("#form-error")).to_contain_text("没有找到这个会员卡号")
    page.fill("#f-q", f"乙会员{n}")
    page.click("#search")
    expect(page.locator("#members-empty")).to_be_visible()


# --- the membership policy, levels and earn rules --------------------------------------------


def _rule(world: World, kind: str) -> PointsRule | None:
    with tenant_session(world.a.id) as s:
        return s.exec(select(PointsRule).where(PointsRule.kind == kind)).first()


def _terms(rule: PointsRule | None) -> tuple[int, bool] | None:
    return (rule.points, rule.active) if rule else None


def _level(world: World, name: str) -> MembershipLevel | None:
    with tenant_session(world.a.id) as s:
        return s.exec(select(MembershipLevel).where(MembershipLevel.name_zh == name)).first()


def test_admin_sets_an_earn_rule_and_a_level_and_bad_input_saves_nothing(
    page: Page, server: str, world: World
) -> None:
    n = next(_n)
    before = _rule(world, "questionnaire_completed")
    _admin(page, server, world, "/admin/membership")

    # An earn rule: letters are refused in Chinese, the rule is unchanged.
    page.click("#tab-rules")
    page.fill("#rule-points-questionnaire_completed", "二十")
    page.click("#save-rule-questionnaire_completed")
    expect(page.locator("#rule-err-questionnaire_completed")).to_contain_text("之间的整数")
    after_bad = _rule(world, "questionnaire_completed")
    assert _terms(after_bad) == _terms(before)
    page.fill("#rule-points-questionnaire_completed", str(20 + n))
    page.check("#rule-active-questionnaire_completed")
    page.click("#save-rule-questionnaire_completed")
    expect(page.locator("#form-notice")).to_contain_text("积分规则已保存")
    saved = _rule(world, "questionnaire_completed")
    assert saved is not None
    assert (saved.points, saved.active) == (20 + n, True)

    # A level: three decimals of yuan and a discount over 100 are refused at once.
    name = f"金卡{n}"
    page.click("#tab-levels")
    page.click("#new-level")
    page.fill("#f-name_zh", name)
    page.fill("#f-rank", str(40 + n))
    page.fill("#f-min_spent_yuan_12m", "5000.001")
    page.fill("#f-discount_percent", "150")
    page.click("#save-level")
    expect(page.locator("#err-min_spent_yuan_12m")).to_contain_text("最多两位小数")
    expect(page.locator("#err-discount_percent")).to_contain_text("0 到 100")
    assert _level(world, name) is None
    page.fill("#f-min_spent_yuan_12m", "5000.00")
    page.fill("#f-discount_percent", "5")
    page.fill("#f-multiplier_percent", "150")
    page.click("#save-level")
    expect(page.locator("#levels-table")).to_contain_text(name)
    level = _level(world, name)
    assert level is not None
    expect(page.locator(f"#level-{level.id}")).to_contain_text("¥5,000.00")
    assert (level.min_spent_fen_12m, level.discount_percent, level.multiplier_percent) == (
        500000,
        5,
        150,
    )
    expect(page.locator(f"#level-{level.id}")).to_contain_text("×1.5")

    # Deactivating it from the table.
    switch = page.locator(f"#level-active-{level.id}")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "false")
    off = _level(world, name)
    assert off is not None
    assert off.active is False

    # The policy: a card prefix with symbols is refused, nothing changes.
    page.click("#tab-policy")
    page.fill("#f-card_prefix", "V-!")
    page.click("#save-policy")
    expect(page.locator("#err-card_prefix")).to_contain_text("只能包含字母和数字")
    expect(page.locator("#next-card")).not_to_contain_text("V-!")


# --- rewards -------------------------------------------------------------------------------


def test_admin_creates_a_discount_coupon_reward_and_bad_input_saves_nothing(
    page: Page, server: str, world: World
) -> None:
    n = next(_n)
    name = f"满减券{n}"
    _admin(page, server, world, "/admin/rewards")
    page.click("#new-reward")
    page.select_option("#f-kind", "discount_coupon")
    page.fill("#f-name_zh", name)
    page.fill("#f-points_cost", "0")
    page.fill("#f-discount", "50")
    page.fill("#f-discount_percent", "10")
    page.click("#save-reward")
    expect(page.locator("#err-points_cost")).to_contain_text("之间的整数")
    expect(page.locator("#err-discount")).to_contain_text("二选一")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Reward).where(Reward.name_zh == name)).first() is None

    page.fill("#f-points_cost", "300")
    page.fill("#f-discount_percent", "")
    page.fill("#f-min_spend", "300")
    page.fill("#f-stock", "20")
    page.fill("#f-per_patient_limit", "2")
    page.click("#save-reward")
    expect(page.locator("#rewards-table")).to_contain_text(name)
    with tenant_session(world.a.id) as s:
        reward = s.exec(select(Reward).where(Reward.name_zh == name)).first()
    assert reward is not None
    assert (reward.points_cost, reward.discount_fen, reward.min_spend_fen) == (300, 5000, 30000)
    assert (reward.stock, reward.per_patient_limit, reward.active) == (20, 2, True)
    row = page.locator(f"#reward-{reward.id}")
    expect(row).to_contain_text("-¥50.00 (≥ ¥300.00)")
    expect(row).to_contain_text("20 / 20")

    # A member redeems it; the admin sees the coupon and voids it, only with a reason.
    member, _number = _member_with_points(world.a, world.admin_a, f"兑券会员{n}", 500)
    with tenant_session(world.a.id) as s:
        code = rewards.redeem_reward(
            session=s,
            actor=member,
            reward_id=reward.id,
            idempotency_key=f"e2e-reward-{n}",
            now=utcnow(),
        ).code
    page.reload()
    expect(page.locator(f"#reward-{reward.id}")).to_contain_text("19 / 20")
    page.click("#tab-coupons")
    page.fill("#f-coupon-q", code)
    page.click("#search-coupons")
    coupon_row = page.locator(f"#coupon-{code}")
    expect(coupon_row).to_contain_text(f"兑券会员{n}")
    expect(coupon_row).to_contain_text("可使用")
    page.click(f"#void-{code}")
    page.click("#do-void")
    expect(page.locator("#err-reason")).to_contain_text("请填写")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Coupon).where(Coupon.code == code)).one().status == "issued"
    page.fill("#f-reason", "会员要求取消")
    page.click("#do-void")
    expect(coupon_row).to_contain_text("已作废")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Coupon).where(Coupon.code == code)).one().status == "void"
