"""Membership admin: the policy, levels, earn rules, the member list, a member's
detail and the front desk's card lookup; who may do what, wrong tenant, bad
input (messages in both languages, nothing written)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from prm_saas.accounts.models import Patient, Sex
from prm_saas.audit.models import AuditEvent
from prm_saas.i18n import translate
from prm_saas.membership import admin, cards
from prm_saas.membership.admin import CardNotFound, LevelInput, PolicyInput
from prm_saas.membership.models import (
    MembershipLevel,
    MembershipSettings,
    PointsRule,
    RuleKind,
)
from tenants.db import tenant_session
from tenants.errors import FieldErrors, NotFound, PermissionDenied
from tests.factories import World
from tests.membership.helpers import NOW, earn


def new_patient(tenant: Any, n: int) -> int:
    """A patient of ``tenant`` named 会员<n> with phone 137 0000 00<n>."""
    with tenant_session(tenant.id) as s:
        p = Patient(name=f"会员{n}", phone=f"+86137{n:08d}", sex=Sex.UNKNOWN)
        s.add(p)
        s.flush()
        return int(p.id or 0)


def _policy(**kw: Any) -> PolicyInput:
    base: dict[str, Any] = {
        "points_expiry_months": "24",
        "return_window_days": "14",
        "negative_policy": "allow_negative",
        "notice_days": "15",
        "card_prefix": "SUN",
        "card_digits": "6",
        "auto_issue_card": False,
    }
    return PolicyInput(**{**base, **kw})


def _both(err: FieldErrors, field: str) -> tuple[str, str]:
    key, params = err.errors[field]
    return translate(key, "zh-CN", **params), translate(key, "en", **params)


def _levels(world: World) -> dict[str, int]:
    ids = {}
    with tenant_session(world.a.id) as s:
        for name_zh, name_en, rank, pts, disc, mult in (
            ("普通", "Basic", 0, "0", "0", "100"),
            ("银卡", "Silver", 1, "500", "5", "120"),
            ("金卡", "Gold", 2, "2000", "10", "150"),
        ):
            lv = admin.create_level(
                session=s,
                actor=world.admin_a,
                data=LevelInput(
                    name_zh=name_zh,
                    name_en=name_en,
                    rank=rank,
                    min_points_12m=pts,
                    discount_percent=disc,
                    multiplier_percent=mult,
                ),
            )
            ids[name_en] = lv.id
    return ids


# --- policy -------------------------------------------------------------------------------


def test_policy_defaults_then_saved_and_audited(world: World) -> None:
    with tenant_session(world.a.id) as s:
        before = admin.get_policy(session=s, actor=world.admin_a)
    assert (before.points_expiry_months, before.return_window_days, before.notice_days) == (
        12,
        7,
        30,
    )
    assert before.auto_issue_card is True
    assert before.next_card_number == "M00000001"

    with tenant_session(world.a.id) as s:
        saved = admin.update_policy(session=s, actor=world.admin_a, data=_policy())
    assert saved.next_card_number == "SUN000001"
    with tenant_session(world.a.id) as s:
        again = admin.get_policy(session=s, actor=world.admin_a)
        event = s.exec(
            select(AuditEvent).where(AuditEvent.action == "membership.policy_updated")
        ).one()
    assert again == saved
    assert (again.points_expiry_months, again.return_window_days, again.notice_days) == (24, 14, 15)
    assert (again.negative_policy, again.auto_issue_card) == ("allow_negative", False)
    assert "card_prefix" in event.details
    with tenant_session(world.b.id) as s:  # tenant B is untouched
        assert admin.get_policy(session=s, actor=world.admin_b).card_prefix == "M"


def test_policy_bad_input_says_why_in_both_languages_and_writes_nothing(world: World) -> None:
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as e:
        admin.update_policy(
            session=s,
            actor=world.admin_a,
            data=_policy(
                points_expiry_months="0",
                return_window_days="abc",
                notice_days="-1",
                card_prefix="会员",
                card_digits="20",
                negative_policy="whatever",
            ),
        )
    assert set(e.value.errors) == {
        "points_expiry_months",
        "return_window_days",
        "notice_days",
        "card_prefix",
        "card_digits",
        "negative_policy",
    }
    assert _both(e.value, "card_digits") == (
        "请输入 4 到 12 之间的整数。",
        "Enter a whole number from 4 to 12.",
    )
    zh, en = _both(e.value, "card_prefix")
    assert "字母和数字" in zh
    assert "letters and digits" in en
    with tenant_session(world.a.id) as s:
        assert s.exec(select(MembershipSettings)).all() == []
        assert s.exec(select(AuditEvent)).all() == []


def test_a_card_format_that_could_repeat_an_issued_number_is_refused(world: World) -> None:
    second, third_pid = new_patient(world.a, 1), new_patient(world.a, 2)
    with tenant_session(world.a.id) as s:
        admin.update_policy(
            session=s, actor=world.admin_a, data=_policy(card_prefix="A1", card_digits=4)
        )
        for pid in (world.patient_a.id, second):
            cards.issue_card(s, actor=world.staff_a, patient_id=pid, now=NOW)
    # A10001, A10002 issued; the sequence goes on at 3. "A" + 5 digits would reach
    # A10001 again at 10001; "a" + 5 too (the desk ignores case).
    for prefix in ("A", "a"):
        with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as e:
            admin.update_policy(
                session=s, actor=world.admin_a, data=_policy(card_prefix=prefix, card_digits=5)
            )
        assert _both(e.value, "card_prefix")[1] == (
            "This card format could repeat a number already issued. "
            "Choose another prefix or length."
        )
    with tenant_session(world.a.id) as s:
        # "A10" + 3 digits numbers from A10003 on: it cannot repeat A10001 or A10002.
        ok = admin.update_policy(
            session=s, actor=world.admin_a, data=_policy(card_prefix="A10", card_digits=4)
        )
        assert ok.next_card_number == "A100003"
        third = cards.issue_card(s, actor=world.staff_a, patient_id=third_pid, now=NOW)
        assert third.number == "A100003"


def test_policy_needs_members_manage_and_the_right_tenant(world: World) -> None:
    with tenant_session(world.a.id) as s:
        for actor in (world.staff_a, world.patient_a):
            with pytest.raises(PermissionDenied):
                admin.get_policy(session=s, actor=actor)
            with pytest.raises(PermissionDenied):
                admin.update_policy(session=s, actor=actor, data=_policy())
        with pytest.raises(NotFound):  # another tenant's admin
            admin.update_policy(session=s, actor=world.admin_b, data=_policy())
    with tenant_session(world.a.id) as s:
        assert s.exec(select(MembershipSettings)).all() == []


# --- levels ---------------------------------------------------------------------------------


def test_levels_crud(world: World) -> None:
    ids = _levels(world)
    pid = world.patient_a.id
    with tenant_session(world.a.id) as s:
        cards.issue_card(s, actor=world.patient_a, patient_id=pid, now=NOW)
    with tenant_session(world.a.id) as s:
        gold = admin.update_level(
            session=s,
            actor=world.admin_a,
            level_id=ids["Gold"],
            data=LevelInput(
                name_zh="金卡会员",
                name_en="Gold",
                rank="5",
                min_points_12m="3000",
                min_spent_yuan_12m="5,000.50",
                discount_percent="12",
                multiplier_percent="200",
            ),
        )
        off = admin.set_level_active(
            session=s, actor=world.admin_a, level_id=ids["Silver"], active=False
        )
    assert (gold.name_zh, gold.rank, gold.min_spent_fen_12m, gold.multiplier_percent) == (
        "金卡会员",
        5,
        500050,
        200,
    )
    assert off.active is False
    with tenant_session(world.a.id) as s:
        listed = admin.list_levels(session=s, actor=world.admin_a)
    assert [(lv.name_en, lv.rank, lv.active, lv.members) for lv in listed] == [
        ("Basic", 0, True, 1),
        ("Silver", 1, False, 0),
        ("Gold", 5, True, 0),
    ]
    with tenant_session(world.b.id) as s:
        assert admin.list_levels(session=s, actor=world.admin_b) == []


def test_level_bad_input_and_duplicates_write_nothing(world: World) -> None:
    ids = _levels(world)
    bad = LevelInput(
        name_zh="银卡",  # taken
        name_en="gold",  # taken, whatever the case
        rank="2",  # taken
        min_points_12m="-5",
        min_spent_yuan_12m="1.234",
        discount_percent="101",
        multiplier_percent="99",
    )
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as e:
        admin.create_level(session=s, actor=world.admin_a, data=bad)
    assert set(e.value.errors) == {
        "name_zh",
        "name_en",
        "rank",
        "min_points_12m",
        "min_spent_yuan_12m",
        "discount_percent",
        "multiplier_percent",
    }
    assert _both(e.value, "name_zh") == (
        "已有同名的会员等级。",
        "A level with this name already exists.",
    )
    assert _both(e.value, "discount_percent")[1] == "Enter a whole number from 0 to 100."
    assert _both(e.value, "multiplier_percent")[1] == "Enter a whole number from 100 to 1000."
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as e:
        admin.create_level(session=s, actor=world.admin_a, data=LevelInput(name_zh=" ", rank="x"))
    assert set(e.value.errors) == {"name_zh", "rank"}
    # Updating a level may keep its own name and rank.
    with tenant_session(world.a.id) as s:
        admin.update_level(
            session=s,
            actor=world.admin_a,
            level_id=ids["Silver"],
            data=LevelInput(name_zh="银卡", name_en="Silver", rank=1, min_points_12m=600),
        )
    with tenant_session(world.a.id) as s:
        names = s.exec(select(MembershipLevel.name_zh)).all()
        silver = s.get(MembershipLevel, ids["Silver"])
        assert silver is not None
        assert silver.min_points_12m == 600
    assert sorted(names) == sorted(["普通", "银卡", "金卡"])


def test_levels_permissions_and_wrong_tenant(world: World) -> None:
    ids = _levels(world)
    data = LevelInput(name_zh="钻石", rank=9)
    with tenant_session(world.a.id) as s:
        with pytest.raises(PermissionDenied):
            admin.create_level(session=s, actor=world.staff_a, data=data)
        with pytest.raises(PermissionDenied):
            admin.list_levels(session=s, actor=world.patient_a)
    with tenant_session(world.b.id) as s:  # tenant A's level from tenant B
        with pytest.raises(NotFound):
            admin.update_level(session=s, actor=world.admin_b, level_id=ids["Gold"], data=data)
        with pytest.raises(NotFound):
            admin.set_level_active(
                session=s, actor=world.admin_b, level_id=ids["Gold"], active=False
            )
    with tenant_session(world.a.id) as s:
        assert len(s.exec(select(MembershipLevel)).all()) == 3
        assert all(lv.active for lv in s.exec(select(MembershipLevel)).all())


# --- earn rules -----------------------------------------------------------------------------


def test_rules_list_every_kind_and_set_one(world: World) -> None:
    with tenant_session(world.a.id) as s:
        empty = admin.list_rules(session=s, actor=world.admin_a)
        admin.set_rule(
            session=s, actor=world.admin_a, kind="per_yuan_paid", points="2", active=True
        )
        admin.set_rule(session=s, actor=world.admin_a, kind="birthday", points=100, active="false")
        admin.set_rule(session=s, actor=world.admin_a, kind="birthday", points=150, active=True)
    assert [r.kind for r in empty] == [k.value for k in RuleKind]
    assert all((r.points, r.active) == (0, False) for r in empty)
    with tenant_session(world.a.id) as s:
        rules = {
            r.kind: (r.points, r.active) for r in admin.list_rules(session=s, actor=world.admin_a)
        }
        assert len(s.exec(select(PointsRule)).all()) == 2
    assert rules["per_yuan_paid"] == (2, True)
    assert rules["birthday"] == (150, True)
    with tenant_session(world.b.id) as s:
        assert all(not r.active for r in admin.list_rules(session=s, actor=world.admin_b))


def test_rule_bad_input_and_permissions(world: World) -> None:
    with tenant_session(world.a.id) as s:
        with pytest.raises(FieldErrors) as e:
            admin.set_rule(
                session=s, actor=world.admin_a, kind="per_yuan_paid", points=101, active=True
            )
        assert _both(e.value, "points") == (
            "请输入 0 到 100 之间的整数。",
            "Enter a whole number from 0 to 100.",
        )
        with pytest.raises(FieldErrors) as e:
            admin.set_rule(session=s, actor=world.admin_a, kind="lottery", points=1, active=True)
        assert _both(e.value, "kind")[1] == "Choose one of the options."
        with pytest.raises(PermissionDenied):
            admin.set_rule(session=s, actor=world.staff_a, kind="birthday", points=1, active=True)
        with pytest.raises(NotFound):
            admin.set_rule(session=s, actor=world.admin_b, kind="birthday", points=1, active=True)
    with tenant_session(world.a.id) as s:
        assert s.exec(select(PointsRule)).all() == []


# --- members ----------------------------------------------------------------------------------


def test_member_list_searches_filters_pages_and_shows_points(world: World) -> None:
    ids = _levels(world)
    pid = world.patient_a.id
    others = [new_patient(world.a, n) for n in range(1, 24)]  # 会员1 .. 会员23, no card
    with tenant_session(world.a.id) as s:
        card = cards.issue_card(s, actor=world.patient_a, patient_id=pid, now=NOW)
        cards.issue_card(s, actor=world.staff_a, patient_id=others[0], now=NOW)
        number = card.number
    earn(world.a, pid, 600, "a1", now=NOW)  # expires in 12 months
    earn(world.a, pid, 300, "a2", now=NOW, lock_days=7)  # locked a week
    with tenant_session(world.a.id) as s:
        cards.recalc_level(s, patient_id=pid, now=NOW)
    with tenant_session(world.b.id) as s:
        cards.issue_card(s, actor=world.staff_b, patient_id=world.patient_b.id, now=NOW)

    with tenant_session(world.a.id) as s:
        first = admin.list_members(session=s, actor=world.admin_a, now=NOW)
        second = admin.list_members(session=s, actor=world.admin_a, page=2, now=NOW)
        by_card = admin.list_members(session=s, actor=world.admin_a, query=number.lower(), now=NOW)
        by_phone = admin.list_members(
            session=s, actor=world.admin_a, query="137 0000 0012", now=NOW
        )
        by_name = admin.list_members(session=s, actor=world.admin_a, query="会员2", now=NOW)
        silver = admin.list_members(session=s, actor=world.admin_a, level_id=ids["Silver"], now=NOW)
        late = admin.list_members(session=s, actor=world.admin_a, now=NOW + timedelta(days=360))
        nothing = admin.list_members(session=s, actor=world.admin_a, query="%", now=NOW)

    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (24, 2, 20, 4)
    top = first.rows[0]  # the newest card first, cardless patients last
    assert top.card_number == "M00000002"
    assert first.rows[1].patient_id == pid
    assert all(r.card_number == "" for r in first.rows[2:])
    me = first.rows[1]
    assert (me.balance, me.spendable, me.expiring) == (900, 600, 0)
    assert (me.level_name_zh, me.level_name_en) == ("银卡", "Silver")
    assert "****" in me.phone_masked
    assert [r.patient_id for r in by_card.rows] == [pid]
    assert [r.name for r in by_phone.rows] == ["会员12"]
    assert sorted(r.name for r in by_name.rows) == ["会员2"] + [f"会员{n}" for n in range(20, 24)]
    assert [r.patient_id for r in silver.rows] == [pid]
    mine_late = next(r for r in late.rows if r.patient_id == pid)
    assert (mine_late.expiring, mine_late.spendable) == (900, 900)
    assert mine_late.expiring_last_day is not None
    assert nothing.total == 0
    with tenant_session(world.b.id) as s:
        b = admin.list_members(session=s, actor=world.admin_b, now=NOW)
        # tenant A's level id filters nobody in B
        b_level = admin.list_members(
            session=s, actor=world.admin_b, level_id=ids["Silver"], now=NOW
        )
    assert [r.patient_id for r in b.rows] == [world.patient_b.id]
    assert b_level.total == 0


def test_member_detail_and_wrong_tenant(world: World) -> None:
    _levels(world)
    pid = world.patient_a.id
    with tenant_session(world.a.id) as s:
        cards.issue_card(s, actor=world.staff_a, patient_id=pid, now=NOW)
    earn(world.a, pid, 700, "d1", now=NOW)
    with tenant_session(world.a.id) as s:
        cards.recalc_level(s, patient_id=pid, now=NOW)
        d = admin.member_detail(session=s, actor=world.admin_a, patient_id=pid, now=NOW)
    assert (d.card_number, d.points.balance, d.points_12m) == ("M00000001", 700, 700)
    assert d.level is not None
    assert d.level.name_en == "Silver"
    assert [(h.kind, h.points, h.kind_key) for h in d.history] == [
        ("earn", 700, "points.kind.earn")
    ]
    assert translate(d.history[0].kind_key, "en") == "Earned"
    with tenant_session(world.a.id) as s:
        with pytest.raises(NotFound):
            admin.member_detail(
                session=s, actor=world.admin_a, patient_id=world.patient_b.id, now=NOW
            )
        with pytest.raises(NotFound):
            admin.member_detail(session=s, actor=world.admin_a, patient_id="x", now=NOW)  # type: ignore[arg-type]
        with pytest.raises(PermissionDenied):
            admin.member_detail(session=s, actor=world.staff_a, patient_id=pid, now=NOW)
        with pytest.raises(PermissionDenied):
            admin.list_members(session=s, actor=world.patient_a)


def test_the_desk_finds_a_card_by_its_number_only_in_its_tenant(world: World) -> None:
    pid = world.patient_a.id
    with tenant_session(world.a.id) as s:
        number = cards.issue_card(s, actor=world.patient_a, patient_id=pid, now=NOW).number
    with tenant_session(world.b.id) as s:
        b_number = cards.issue_card(
            s, actor=world.staff_b, patient_id=world.patient_b.id, now=NOW
        ).number
    assert number == b_number == "M00000001"  # same number, different tenants
    earn(world.a, pid, 50, "f1", now=NOW)
    with tenant_session(world.a.id) as s:
        found = admin.find_card(session=s, actor=world.staff_a, number=f"  {number.lower()} ")
        assert (found.patient_id, found.points.balance) == (pid, 50)
        with pytest.raises(CardNotFound) as e:
            admin.find_card(session=s, actor=world.staff_a, number="M99999999")
        assert (
            translate(e.value.key, "en")
            == "No member card with this number. Check it and try again."
        )
        assert translate(e.value.key, "zh-CN") == "没有找到这个会员卡号，请核对后重试。"
        with pytest.raises(CardNotFound):
            admin.find_card(session=s, actor=world.staff_a, number="")
        with pytest.raises(PermissionDenied):
            admin.find_card(session=s, actor=world.patient_a, number=number)
        with pytest.raises(NotFound):  # tenant B's desk in tenant A
            admin.find_card(session=s, actor=world.staff_b, number=number)
    with tenant_session(world.b.id) as s:
        theirs = admin.find_card(session=s, actor=world.staff_b, number=number)
    assert theirs.patient_id == world.patient_b.id
    assert theirs.points.balance == 0
