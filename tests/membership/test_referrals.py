"""Referrals: a patient registers with another patient's card number; the
referrer earns the tenant's REFERRAL rule once, on the referred patient's first
paid order; a full refund of that order takes it back; a bad code is a field
error in both languages and nothing is written; other tenants see nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, func, select

from pages.admin.members import detail_dict
from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import AccountStatus, Patient
from prm_saas.accounts.patients import Registration, register_patient
from prm_saas.i18n import translate
from prm_saas.membership import admin, cards, referrals
from prm_saas.membership.models import (
    MemberCard,
    MembershipSettings,
    PointsEntry,
    PointsRule,
    Referral,
    RuleKind,
)
from prm_saas.messaging.models import Message
from prm_saas.orders import services
from tenants.db import tenant_session
from tenants.errors import FieldErrors, NotFound, PermissionDenied
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.booking.builders import slots_of
from tests.concurrency import race
from tests.factories import World
from tests.membership.helpers import check
from tests.orders.helpers import PRICE_FEN, Shop, checkout, make_shop

GOOD = "Health2024go"
REFERRAL_POINTS = 300


def _rule(tenant: TenantInfo, points: int = REFERRAL_POINTS, *, active: bool = True) -> None:
    with tenant_session(tenant.id) as s:
        s.add(PointsRule(kind=RuleKind.REFERRAL, points=points, active=active))


def _card(tenant: TenantInfo, patient: Principal) -> str:
    with tenant_session(tenant.id) as s:
        return cards.issue_card(s, actor=patient, patient_id=patient.id, now=utcnow()).number


def _register(tenant: TenantInfo, code: str, n: int = 1, locale: str = "zh-CN") -> Registration:
    with tenant_session(tenant.id) as s:
        return register_patient(
            session=s,
            name=f"朋友{n}",
            phone=f"+86137{n:08d}",
            password=GOOD,
            password_confirm=GOOD,
            locale=locale,
            referral_code=code,
        )


def _paid_order(world: World, shop: Shop, patient: Principal, key: str, day: int = 0) -> int:
    """A clinic order of ``patient`` paid at the desk, ``day`` days after the shop's
    first slot (one booking per patient, location and day)."""
    if day:
        local = shop.now.astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=2 + day)
        shop = replace(
            shop, slot_id=int(slots_of(shop.tenant, shop.location_id, local, shop.now)[0].id)
        )
    res = checkout(shop, patient, key=key, method="clinic")
    admin_actor = world.admin_a if shop.tenant.id == world.a.id else world.admin_b
    with tenant_session(shop.tenant.id) as s:
        services.mark_clinic_paid(session=s, actor=admin_actor, order_id=res.order_id, now=shop.now)
    return res.order_id


def _refund(world: World, shop: Shop, order_id: int, amount: int, key: str) -> None:
    with tenant_session(shop.tenant.id) as s:
        services.refund(
            session=s,
            actor=world.admin_a,
            order_id=order_id,
            amount_fen=amount,
            reason="客户要求",
            idempotency_key=key,
            now=shop.now,
        )


def _referral_entries(tenant: TenantInfo) -> list[tuple[int, str, int, str]]:
    with tenant_session(tenant.id) as s:
        rows = s.exec(
            select(PointsEntry)
            .where(col(PointsEntry.source_type) == "referral")
            .order_by(col(PointsEntry.id))
        ).all()
        return [(e.patient_id, str(e.kind), e.points, e.idempotency_key) for e in rows]


def _count(tenant: TenantInfo, model: type) -> int:
    with tenant_session(tenant.id) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_a_referred_patients_first_paid_order_earns_the_referrer_once(world: World) -> None:
    _rule(world.a)
    code = _card(world.a, world.patient_a)
    reg = _register(world.a, code.lower())  # case does not matter
    friend = reg.principal
    with tenant_session(world.a.id) as s:
        row = s.exec(select(Referral)).one()
    assert (row.referrer_patient_id, row.referred_patient_id) == (world.patient_a.id, friend.id)
    assert _referral_entries(world.a) == []  # registering alone earns nothing

    shop = make_shop(world.a, world.admin_a, capacity=5)
    first = _paid_order(world, shop, friend, "o1")
    expected = [(world.patient_a.id, "earn", REFERRAL_POINTS, f"referral:{friend.id}")]
    assert _referral_entries(world.a) == expected
    assert check(world.a, world.patient_a.id).balance == REFERRAL_POINTS

    _paid_order(world, shop, friend, "o2", day=1)  # a second paid order earns nothing more
    with tenant_session(world.a.id) as s:  # paying the first again neither
        services.mark_clinic_paid(session=s, actor=world.admin_a, order_id=first, now=shop.now)
    assert _referral_entries(world.a) == expected
    with tenant_session(world.a.id) as s:
        row = s.exec(select(Referral)).one()
        summary = referrals.referral_summary(session=s, actor=world.patient_a)
    assert (row.order_id, row.points, row.rewarded_at is not None) == (first, REFERRAL_POINTS, True)
    assert (summary.code, summary.joined, summary.rewarded, summary.points) == (
        code,
        1,
        1,
        REFERRAL_POINTS,
    )
    assert summary.share_url.endswith(f"/register?ref={code}")
    with tenant_session(world.a.id) as s:  # the referrer is thanked once
        told = s.exec(select(Message).where(col(Message.template_key) == "referral.rewarded")).all()
    assert [(m.patient_id, m.dedupe_key) for m in told] == [
        (world.patient_a.id, f"referral:rewarded:{friend.id}")
    ]
    assert check(world.a, world.patient_a.id).ok
    assert _referral_entries(world.b) == []


def test_a_full_refund_of_the_first_order_takes_the_points_back_for_good(world: World) -> None:
    _rule(world.a)
    code = _card(world.a, world.patient_a)
    friend = _register(world.a, code).principal
    shop = make_shop(world.a, world.admin_a, capacity=5)
    first = _paid_order(world, shop, friend, "o1")

    _refund(world, shop, first, PRICE_FEN // 2, "r1")  # partial: the points stay
    assert check(world.a, world.patient_a.id).balance == REFERRAL_POINTS
    _refund(world, shop, first, PRICE_FEN - PRICE_FEN // 2, "r2")  # now fully refunded
    assert [e[1:3] for e in _referral_entries(world.a)] == [
        ("earn", REFERRAL_POINTS),
        ("reverse", -REFERRAL_POINTS),
    ]
    assert check(world.a, world.patient_a.id).balance == 0

    _paid_order(world, shop, friend, "o2", day=1)  # buying again never earns it twice
    assert len(_referral_entries(world.a)) == 2
    with tenant_session(world.a.id) as s:
        summary = referrals.referral_summary(session=s, actor=world.patient_a)
    assert (summary.joined, summary.rewarded, summary.points) == (1, 0, 0)
    assert check(world.a, world.patient_a.id).ok


def test_an_inactive_rule_earns_nothing_then_or_later(world: World) -> None:
    _rule(world.a, active=False)
    code = _card(world.a, world.patient_a)
    friend = _register(world.a, code).principal
    shop = make_shop(world.a, world.admin_a, capacity=5)
    _paid_order(world, shop, friend, "o1")
    assert _referral_entries(world.a) == []
    with tenant_session(world.a.id) as s:
        admin.set_rule(
            session=s, actor=world.admin_a, kind=RuleKind.REFERRAL, points=100, active=True
        )
    _paid_order(world, shop, friend, "o2", day=1)  # only the first paid order counts
    assert _referral_entries(world.a) == []


def test_a_patient_without_a_referrer_earns_nobody_anything(world: World) -> None:
    _rule(world.a)
    _card(world.a, world.patient_a)
    friend = _register(world.a, "  ").principal  # blank = no referrer
    shop = make_shop(world.a, world.admin_a, capacity=5)
    _paid_order(world, shop, friend, "o1")
    assert _count(world.a, Referral) == 0
    assert _referral_entries(world.a) == []


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("zh-CN", "没有这个会员卡号，请核对推荐人的会员卡号，或留空。"),
        (
            "en",
            "No member card with this number. Check your referrer's card number, "
            "or leave it blank.",
        ),
    ],
)
def test_another_tenants_card_is_refused_like_an_unknown_one(
    world: World, locale: str, text: str
) -> None:
    _card(world.a, world.patient_a)
    with tenant_session(world.b.id) as s:  # B numbers its cards KJ…, A has no such card
        s.add(MembershipSettings(card_prefix="KJ"))
    b_code = _card(world.b, world.patient_b)
    assert b_code.startswith("KJ")
    with tenant_session(world.a.id) as s:
        assert not s.exec(select(MemberCard).where(MemberCard.number == b_code)).first()
    patients_before = _count(world.a, Patient)
    errors = []
    for code in (b_code, "NOPE0001", "x" * 200):
        with pytest.raises(FieldErrors) as err:
            _register(world.a, code, locale=locale)
        errors.append(err.value.errors["referral_code"])
    assert errors == [("membership.field.referral_unknown", {})] * 3
    assert translate("membership.field.referral_unknown", locale) == text
    # nothing written: no patient, no card, no referral
    assert _count(world.a, Patient) == patients_before
    assert _count(world.a, Referral) == 0
    assert _count(world.a, MemberCard) == 1


def test_a_disabled_accounts_card_is_an_unknown_code(world: World) -> None:
    code = _card(world.a, world.patient_a)
    with tenant_session(world.a.id) as s:
        p = s.exec(select(Patient).where(Patient.id == world.patient_a.id)).one()
        p.status = AccountStatus.DISABLED
        s.add(p)
    with pytest.raises(FieldErrors) as err:
        _register(world.a, code)
    assert err.value.errors["referral_code"][0] == "membership.field.referral_unknown"
    assert _count(world.a, Referral) == 0


def test_a_bad_code_is_reported_with_the_other_field_errors(world: World) -> None:
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as err:
        register_patient(
            session=s,
            name="",
            phone="+8613700000009",
            password=GOOD,
            password_confirm=GOOD,
            referral_code="M99999999",
        )
    assert set(err.value.errors) == {"name", "referral_code"}
    assert _count(world.a, Referral) == 0


def test_the_own_card_number_cannot_be_the_referrer(world: World) -> None:
    # The new patient's card does not exist when the code is checked, so the
    # number it will get is an unknown code; nothing is written.
    code = _card(world.a, world.patient_a)
    with tenant_session(world.a.id) as s:
        next_number = f"M{int(code[1:]) + 1:08d}"
    with pytest.raises(FieldErrors) as err:
        _register(world.a, next_number)
    assert err.value.errors["referral_code"][0] == "membership.field.referral_unknown"
    assert _count(world.a, MemberCard) == 1
    # and the service refuses a self-link outright
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as own:
        referrals.record_referral(
            s, referrer_id=world.patient_a.id, referred_id=world.patient_a.id, now=utcnow()
        )
    assert own.value.errors["referral_code"][0] == "membership.field.referral_own"
    assert translate("membership.field.referral_own", "zh-CN") == "不能填写自己的会员卡号。"
    assert translate("membership.field.referral_own", "en") == (
        "You cannot enter your own card number."
    )
    assert _count(world.a, Referral) == 0


def test_the_summary_is_the_signed_in_patients_own_and_per_tenant(world: World) -> None:
    _rule(world.a)
    _rule(world.b)
    a_code = _card(world.a, world.patient_a)
    b_code = _card(world.b, world.patient_b)
    _register(world.a, a_code, n=1)
    _register(world.a, a_code, n=2)
    _register(world.b, b_code, n=3)
    with tenant_session(world.a.id) as s:
        mine = referrals.referral_summary(session=s, actor=world.patient_a)
        with pytest.raises(NotFound):  # tenant B's patient in tenant A's session
            referrals.referral_summary(session=s, actor=world.patient_b)
        with pytest.raises(PermissionDenied):  # staff have no referral code
            referrals.referral_summary(session=s, actor=world.admin_a)
    with tenant_session(world.b.id) as s:
        theirs = referrals.referral_summary(session=s, actor=world.patient_b)
    assert (mine.code, mine.joined) == (a_code, 2)
    assert (theirs.code, theirs.joined) == (b_code, 1)


def test_a_patient_without_a_card_has_no_share_link(world: World) -> None:
    with tenant_session(world.a.id) as s:
        summary = referrals.referral_summary(session=s, actor=world.patient_a)
    assert (summary.code, summary.share_url, summary.joined) == ("", "", 0)


def test_the_member_detail_shows_the_referrer_and_the_number_referred(world: World) -> None:
    code = _card(world.a, world.patient_a)
    friend = _register(world.a, code).principal
    with tenant_session(world.a.id) as s:
        referrer = admin.member_detail(
            session=s, actor=world.admin_a, patient_id=world.patient_a.id, now=utcnow()
        )
        referred = admin.member_detail(
            session=s, actor=world.admin_a, patient_id=friend.id, now=utcnow()
        )
        with pytest.raises(NotFound):  # tenant A's member from tenant B's admin
            admin.member_detail(session=s, actor=world.admin_b, patient_id=friend.id, now=utcnow())
    assert (referrer.referred_by, referrer.referred_count) == ("", 1)
    assert (referred.referred_by, referred.referred_count) == (f"{world.patient_a.name} {code}", 0)
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        admin.member_detail(session=s, actor=world.admin_b, patient_id=friend.id, now=utcnow())
    page = detail_dict(referred, "Asia/Shanghai")
    assert (page["referred_by"], page["referred_count"]) == (f"{world.patient_a.name} {code}", "0")


def test_a_shared_link_code_is_read_like_a_typed_one() -> None:
    assert referrals.normalize_code(" ｍ００００００４２ ") == "M00000042"
    assert referrals.normalize_code(None) == ""


@pytest.mark.postgres_only
def test_concurrent_first_payments_reward_the_referrer_once(world: World) -> None:
    _rule(world.a)
    code = _card(world.a, world.patient_a)
    friend = _register(world.a, code).principal
    shop = make_shop(world.a, world.admin_a, capacity=5)
    orders = []
    for day in range(4):
        local = shop.now.astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=2 + day)
        sid = int(slots_of(shop.tenant, shop.location_id, local, shop.now)[0].id)
        res = checkout(replace(shop, slot_id=sid), friend, key=f"race-{day}", method="clinic")
        orders.append(res.order_id)

    def pay(i: int) -> None:
        with tenant_session(world.a.id) as s:
            services.mark_clinic_paid(
                session=s, actor=world.admin_a, order_id=orders[i], now=shop.now
            )

    assert race(len(orders), pay) == {"ok": len(orders)}
    assert _referral_entries(world.a) == [
        (world.patient_a.id, "earn", REFERRAL_POINTS, f"referral:{friend.id}")
    ]
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Referral)).one().order_id in orders
    assert check(world.a, world.patient_a.id).ok
