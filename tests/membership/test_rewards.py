"""The rewards catalog and coupons: admin catalog, redeeming (points, stock,
per-patient limit, all or nothing), my coupons, gifts at the front desk, expiry,
voiding, and the stock race on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, func, select

from prm_saas.accounts.authz import Principal
from prm_saas.audit.models import AuditEvent
from prm_saas.i18n import translate
from prm_saas.membership import rewards
from prm_saas.membership.models import Coupon, CouponStatus, PointsEntry, Reward
from prm_saas.membership.rewards import CODE_ALPHABET, CODE_LEN
from tenants.db import tenant_session
from tenants.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from tenants.resolution import TenantInfo
from tests.booking.builders import make_location, make_package
from tests.concurrency import race
from tests.factories import World, make_patient
from tests.membership.helpers import NOW, check, earn


def _create(tenant: TenantInfo, admin: Principal, **kw: Any) -> rewards.RewardRow:
    fields: dict[str, Any] = {"kind": "discount_coupon", "name_zh": "满减券", "points_cost": "100"}
    fields.update(kw)
    if fields["kind"] == "discount_coupon" and "discount_yuan" not in kw:
        fields.setdefault("discount_percent", "")
        fields["discount_yuan"] = "50"
    with tenant_session(tenant.id) as s:
        return rewards.create_reward(session=s, actor=admin, now=NOW, **fields)


def _redeem(
    tenant: TenantInfo, patient: Principal, reward_id: int, key: str = "k1", now: datetime = NOW
) -> Coupon:
    with tenant_session(tenant.id) as s:
        c = rewards.redeem_reward(
            session=s, actor=patient, reward_id=reward_id, idempotency_key=key, now=now
        )
        s.expunge(c)
        return c


def _count(tenant: TenantInfo, model: type[Any], *where: Any) -> int:
    with tenant_session(tenant.id) as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


def _reward(tenant: TenantInfo, reward_id: int) -> Reward:
    with tenant_session(tenant.id) as s:
        return s.exec(select(Reward).where(col(Reward.id) == reward_id)).one()


def _coupon(tenant: TenantInfo, coupon_id: int) -> Coupon:
    with tenant_session(tenant.id) as s:
        return s.exec(select(Coupon).where(col(Coupon.id) == coupon_id)).one()


def _messages(exc: DomainError) -> tuple[str, str]:
    return translate(exc.key, "zh-CN", **exc.params), translate(exc.key, "en", **exc.params)


# --- admin catalog -----------------------------------------------------------------------


def test_admin_creates_rewards_of_each_kind_with_yuan_amounts(world: World) -> None:
    lid = make_location(world.a, world.admin_a)
    pid = make_package(world.a, [lid])

    disc = _create(world.a, world.admin_a, discount_yuan="12.50", min_spend_yuan="200")
    pct = _create(world.a, world.admin_a, discount_yuan="", discount_percent="15")
    pkg = _create(
        world.a, world.admin_a, kind="package_coupon", package_id=pid, cash_yuan="99.9", stock="3"
    )
    gift = _create(world.a, world.admin_a, kind="gift", name_zh="保温杯", per_patient_limit="1")

    assert (disc.discount_fen, disc.min_spend_fen, disc.discount_percent) == (1250, 20000, 0)
    assert (pct.discount_fen, pct.discount_percent) == (0, 15)
    assert (pkg.package_id, pkg.cash_fen, pkg.stock, pkg.stock_left) == (pid, 9990, 3, 3)
    assert pkg.package_name_zh == "套餐P1"
    assert (gift.kind, gift.per_patient_limit, gift.stock) == ("gift", 1, None)
    with tenant_session(world.a.id) as s:
        listed = rewards.list_rewards(session=s, actor=world.admin_a)
    assert [r.id for r in listed] == [gift.id, pkg.id, pct.id, disc.id]
    assert _count(world.a, AuditEvent, col(AuditEvent.action) == "rewards.created") == 4
    with tenant_session(world.b.id) as s:  # the other tenant sees none of them
        assert rewards.list_rewards(session=s, actor=world.admin_b) == []


def test_a_bad_form_reports_every_field_in_both_languages_and_writes_nothing(
    world: World,
) -> None:
    with pytest.raises(FieldErrors) as err:
        _create(
            world.a,
            world.admin_a,
            kind="discount_coupon",
            name_zh=" ",
            points_cost="abc",
            discount_yuan="1.234",
            stock="-1",
            coupon_valid_days="0",
        )
    errors = err.value.errors
    assert set(errors) == {"name_zh", "points_cost", "discount", "stock", "coupon_valid_days"}
    key, params = errors["stock"]
    assert translate(key, "zh-CN", **params) == "请输入 0 到 1000000 之间的整数。"
    assert translate(key, "en", **params) == "Enter a whole number from 0 to 1000000."
    assert _count(world.a, Reward) == 0
    assert _count(world.a, AuditEvent, col(AuditEvent.action) == "rewards.created") == 0


def test_a_discount_coupon_takes_exactly_one_of_amount_and_percent(world: World) -> None:
    for fen, pct in (("", ""), ("10", "5")):
        with pytest.raises(FieldErrors) as err:
            _create(world.a, world.admin_a, discount_yuan=fen, discount_percent=pct)
        assert err.value.errors["discount"][0] == "rewards.discount_one"
    with pytest.raises(FieldErrors) as err:
        _create(world.a, world.admin_a, discount_yuan="", discount_percent="101")
    assert err.value.errors["discount_percent"][0] == "rewards.number_invalid"


def test_a_package_coupon_needs_a_package_of_this_tenant(world: World) -> None:
    lid_b = make_location(world.b, world.admin_b)
    pid_b = make_package(world.b, [lid_b])
    for pid in (None, pid_b, "x"):
        with pytest.raises(FieldErrors) as err:
            _create(world.a, world.admin_a, kind="package_coupon", package_id=pid)
        assert err.value.errors["package_id"][0] == "rewards.package_required"
    assert _count(world.a, Reward) == 0


def test_only_members_managers_of_the_tenant_manage_rewards(world: World) -> None:
    with pytest.raises(PermissionDenied):
        _create(world.a, world.staff_a)
    with pytest.raises(PermissionDenied):
        _create(world.a, world.patient_a)
    with pytest.raises(NotFound):
        _create(world.a, world.admin_b)
    row = _create(world.a, world.admin_a)
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):  # another tenant's reward
        rewards.set_reward_active(session=s, actor=world.admin_b, reward_id=row.id, active=False)
    assert _reward(world.a, row.id).active


def test_update_changes_terms_but_not_issued_coupons_and_keeps_stock_above_redeemed(
    world: World,
) -> None:
    row = _create(world.a, world.admin_a, stock="5", points_cost="10")
    earn(world.a, world.patient_a.id, 100, "e1")
    coupon = _redeem(world.a, world.patient_a, row.id)

    def update(**kw: Any) -> rewards.RewardRow:
        fields: dict[str, Any] = {
            "kind": "discount_coupon",
            "name_zh": "新满减券",
            "points_cost": "20",
            "discount_yuan": "80",
            "stock": "5",
        }
        fields.update(kw)
        with tenant_session(world.a.id) as s:
            return rewards.update_reward(
                session=s, actor=world.admin_a, reward_id=row.id, now=NOW, **fields
            )

    with pytest.raises(FieldErrors) as err:
        update(stock="0")
    assert err.value.errors["stock"] == ("rewards.stock_below_redeemed", {"redeemed": 1})
    new = update()
    assert (new.name_zh, new.points_cost, new.discount_fen, new.stock_left) == (
        "新满减券",
        20,
        8000,
        4,
    )
    kept = _coupon(world.a, coupon.id or 0)
    assert (kept.name_zh, kept.discount_fen, kept.points_cost) == ("满减券", 5000, 10)


# --- redeeming ---------------------------------------------------------------------------


def test_redeeming_spends_the_points_and_issues_a_coupon(world: World) -> None:
    row = _create(world.a, world.admin_a, points_cost="300", coupon_valid_days="30")
    earn(world.a, world.patient_a.id, 500, "e1")

    coupon = _redeem(world.a, world.patient_a, row.id)

    assert len(coupon.code) == CODE_LEN
    assert set(coupon.code) <= set(CODE_ALPHABET)
    assert coupon.status == CouponStatus.ISSUED
    assert (coupon.patient_id, coupon.discount_fen, coupon.points_cost) == (
        world.patient_a.id,
        5000,
        300,
    )
    # 2026-03-10 10:00 in Shanghai + 30 days: valid until local midnight starting 9 April.
    assert coupon.expires_at == datetime(2026, 4, 8, 16, 0, tzinfo=UTC)
    assert check(world.a, world.patient_a.id).balance == 200
    assert check(world.a, world.patient_a.id).ok
    assert _reward(world.a, row.id).redeemed_count == 1
    with tenant_session(world.a.id) as s:
        entry = s.exec(
            select(PointsEntry).where(col(PointsEntry.id) == coupon.points_entry_id)
        ).one()
    assert (entry.kind, entry.points, entry.source_type) == ("redeem", -300, "reward")


def test_the_same_key_returns_the_same_coupon_once(world: World) -> None:
    row = _create(world.a, world.admin_a, points_cost="100")
    earn(world.a, world.patient_a.id, 500, "e1")
    first = _redeem(world.a, world.patient_a, row.id, key="same")
    again = _redeem(world.a, world.patient_a, row.id, key="same")
    assert (again.id, again.code) == (first.id, first.code)
    assert check(world.a, world.patient_a.id).balance == 400
    assert _count(world.a, Coupon) == 1
    assert _reward(world.a, row.id).redeemed_count == 1


def test_out_of_stock_is_refused_and_takes_no_points(world: World) -> None:
    row = _create(world.a, world.admin_a, points_cost="100", stock="1")
    other = make_patient(world.a)
    earn(world.a, world.patient_a.id, 500, "e1")
    earn(world.a, other.id, 500, "e2")
    _redeem(world.a, world.patient_a, row.id)

    with pytest.raises(DomainError) as err:
        _redeem(world.a, other, row.id)

    assert err.value.key == "rewards.out_of_stock"
    assert _messages(err.value) == ("该奖励已兑完。", "This reward is out of stock.")
    assert check(world.a, other.id).balance == 500
    assert _count(world.a, PointsEntry, col(PointsEntry.patient_id) == other.id) == 1
    assert _count(world.a, Coupon) == 1
    with tenant_session(world.a.id) as s:  # and it leaves the catalog
        assert rewards.rewards_catalog(session=s, actor=other, now=NOW) == []


def test_the_per_patient_limit_counts_the_patients_coupons(world: World) -> None:
    row = _create(world.a, world.admin_a, points_cost="100", per_patient_limit="2")
    earn(world.a, world.patient_a.id, 1000, "e1")
    _redeem(world.a, world.patient_a, row.id, key="a")
    _redeem(world.a, world.patient_a, row.id, key="b")

    with pytest.raises(DomainError) as err:
        _redeem(world.a, world.patient_a, row.id, key="c")

    assert err.value.key == "rewards.limit_reached"
    assert _messages(err.value)[1] == (
        "This reward can be redeemed 2 time(s) per person; you have reached the limit."
    )
    assert check(world.a, world.patient_a.id).balance == 800
    with tenant_session(world.a.id) as s:
        (card,) = rewards.rewards_catalog(session=s, actor=world.patient_a, now=NOW)
    assert (card.redeemed_by_me, card.limit_reached, card.affordable) == (2, True, True)


def test_more_than_the_balance_is_refused_and_nothing_is_written(world: World) -> None:
    row = _create(world.a, world.admin_a, points_cost="300", stock="10")
    earn(world.a, world.patient_a.id, 200, "e1")

    with pytest.raises(DomainError) as err:
        _redeem(world.a, world.patient_a, row.id)

    assert err.value.key == "points.insufficient"
    assert _messages(err.value) == (
        "积分不足：当前可用 200 分，需要 300 分。",
        "Not enough points: 200 available, 300 needed.",
    )
    assert _count(world.a, Coupon) == 0
    assert _reward(world.a, row.id).redeemed_count == 0
    assert check(world.a, world.patient_a.id).balance == 200
    with tenant_session(world.a.id) as s:
        (card,) = rewards.rewards_catalog(session=s, actor=world.patient_a, now=NOW)
    assert (card.affordable, card.stock_left) == (False, 10)


def test_an_inactive_reward_is_hidden_and_refused(world: World) -> None:
    row = _create(world.a, world.admin_a, points_cost="100")
    earn(world.a, world.patient_a.id, 500, "e1")
    with tenant_session(world.a.id) as s:
        rewards.set_reward_active(session=s, actor=world.admin_a, reward_id=row.id, active=False)
        assert rewards.rewards_catalog(session=s, actor=world.patient_a, now=NOW) == []
    with pytest.raises(DomainError) as err:
        _redeem(world.a, world.patient_a, row.id)
    assert err.value.key == "rewards.unavailable"
    assert check(world.a, world.patient_a.id).balance == 500


def test_another_tenants_reward_is_not_found(world: World) -> None:
    row = _create(world.a, world.admin_a, points_cost="100")
    earn(world.b, world.patient_b.id, 500, "e1")
    with pytest.raises(NotFound):
        _redeem(world.b, world.patient_b, row.id)
    assert check(world.b, world.patient_b.id).balance == 500
    assert _reward(world.a, row.id).redeemed_count == 0


def test_staff_cannot_redeem_for_a_patient(world: World) -> None:
    row = _create(world.a, world.admin_a, points_cost="100")
    with pytest.raises(PermissionDenied):
        _redeem(world.a, world.admin_a, row.id)


# --- my coupons, expiry, gifts, void -----------------------------------------------------


def test_my_coupons_shows_codes_and_marks_expired_ones(world: World) -> None:
    row = _create(world.a, world.admin_a, points_cost="100", coupon_valid_days="1")
    earn(world.a, world.patient_a.id, 500, "e1")
    coupon = _redeem(world.a, world.patient_a, row.id)
    # Issued at 10:00 Shanghai on 10 March, valid that local day only.
    assert coupon.expires_at == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)

    with tenant_session(world.a.id) as s:
        (before,) = rewards.my_coupons(session=s, actor=world.patient_a, now=NOW)
        (after,) = rewards.my_coupons(
            session=s, actor=world.patient_a, now=coupon.expires_at + timedelta(seconds=1)
        )
        assert rewards.my_coupons(session=s, actor=make_patient(world.a), now=NOW) == []
    assert (before.code, before.status, before.usable) == (coupon.code, "issued", True)
    assert before.code_display == f"{coupon.code[:5]}-{coupon.code[5:]}"
    assert (after.status, after.usable) == ("expired", False)


def test_a_gift_is_handed_over_once_at_the_front_desk(world: World) -> None:
    row = _create(world.a, world.admin_a, kind="gift", name_zh="保温杯", points_cost="100")
    earn(world.a, world.patient_a.id, 500, "e1")
    coupon = _redeem(world.a, world.patient_a, row.id)
    typed = f" {coupon.code[:5].lower()}-{coupon.code[5:]} "  # as a person types it

    with tenant_session(world.a.id) as s:
        seen = rewards.lookup_coupon(session=s, actor=world.staff_a, code=typed, now=NOW)
        used = rewards.redeem_gift(session=s, actor=world.staff_a, code=typed, now=NOW)
        assert (seen.name_zh, seen.status) == ("保温杯", "issued")
        assert (used.status, used.used_by_staff_id) == (CouponStatus.USED, world.staff_a.id)
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as err:
        rewards.redeem_gift(session=s, actor=world.staff_a, code=coupon.code, now=NOW)
    assert err.value.key == "coupon.used"
    assert _messages(err.value) == ("该优惠券已使用。", "This coupon has already been used.")
    assert _count(world.a, AuditEvent, col(AuditEvent.action) == "coupon.gift_handed_over") == 1


def test_the_desk_refuses_unknown_other_tenant_mall_and_expired_coupons(world: World) -> None:
    gift = _create(world.a, world.admin_a, kind="gift", points_cost="100", coupon_valid_days="1")
    mall = _create(world.a, world.admin_a, points_cost="100")
    earn(world.a, world.patient_a.id, 500, "e1")
    g = _redeem(world.a, world.patient_a, gift.id, key="g")
    m = _redeem(world.a, world.patient_a, mall.id, key="m")

    def desk(tenant: TenantInfo, staff: Principal, code: str, now: datetime = NOW) -> str:
        with tenant_session(tenant.id) as s, pytest.raises(DomainError) as err:
            rewards.redeem_gift(session=s, actor=staff, code=code, now=now)
        return err.value.key

    assert desk(world.a, world.staff_a, "NOSUCHCODE") == "coupon.unknown"
    assert desk(world.a, world.staff_a, "<script>") == "coupon.unknown"
    assert desk(world.b, world.staff_b, g.code) == "coupon.unknown"  # another tenant's
    assert desk(world.a, world.staff_a, m.code) == "coupon.not_gift"
    assert desk(world.a, world.staff_a, g.code, g.expires_at) == "coupon.expired"
    with tenant_session(world.a.id) as s, pytest.raises(PermissionDenied):
        rewards.redeem_gift(session=s, actor=world.patient_a, code=g.code, now=NOW)
    assert _coupon(world.a, g.id or 0).status == CouponStatus.ISSUED


def test_an_admin_voids_a_coupon_with_a_reason(world: World) -> None:
    row = _create(world.a, world.admin_a, kind="gift", points_cost="100")
    earn(world.a, world.patient_a.id, 500, "e1")
    coupon = _redeem(world.a, world.patient_a, row.id)
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as err:
        rewards.void_coupon(
            session=s, actor=world.admin_a, coupon_id=coupon.id, reason="  ", now=NOW
        )
    assert err.value.errors["reason"][0] == "points.reason_required"
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        rewards.void_coupon(
            session=s, actor=world.admin_b, coupon_id=coupon.id, reason="x", now=NOW
        )
    with tenant_session(world.a.id) as s:
        view = rewards.void_coupon(
            session=s, actor=world.admin_a, coupon_id=coupon.id, reason="发错了", now=NOW
        )
    assert (view.status, view.void_reason) == ("void", "发错了")
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as derr:
        rewards.redeem_gift(session=s, actor=world.staff_a, code=coupon.code, now=NOW)
    assert derr.value.key == "coupon.void"
    with tenant_session(world.a.id) as s:
        listed = rewards.list_coupons(session=s, actor=world.admin_a, now=NOW, query=coupon.code)
        mine = rewards.list_coupons(
            session=s, actor=world.admin_a, now=NOW, patient_id=world.patient_a.id
        )
        with pytest.raises(NotFound):  # another tenant's patient
            rewards.list_coupons(
                session=s, actor=world.admin_a, now=NOW, patient_id=world.patient_b.id
            )
    assert [c.id for c in listed] == [c.id for c in mine] == [coupon.id]


# --- PostgreSQL: races -------------------------------------------------------------------


@pytest.mark.postgres_only
def test_50_concurrent_redemptions_of_a_stock_of_5_make_exactly_5(world: World) -> None:
    row = _create(world.a, world.admin_a, points_cost="100", stock="5")
    patients = [make_patient(world.a) for _ in range(50)]
    for i, p in enumerate(patients):
        earn(world.a, p.id, 100, f"e{i}")

    out = race(50, lambda i: _redeem(world.a, patients[i], row.id, key=f"r{i}"))

    assert out == Counter({"ok": 5, "rewards.out_of_stock": 45})
    assert _count(world.a, Coupon) == 5
    assert _count(world.a, PointsEntry, col(PointsEntry.kind) == "redeem") == 5
    assert _reward(world.a, row.id).redeemed_count == 5
    assert sum(check(world.a, p.id).balance for p in patients) == 45 * 100
    assert all(check(world.a, p.id).ok for p in patients)


@pytest.mark.postgres_only
def test_one_patient_racing_for_a_limited_reward_gets_the_limit(world: World) -> None:
    row = _create(world.a, world.admin_a, points_cost="10", per_patient_limit="2")
    earn(world.a, world.patient_a.id, 1000, "e1")

    out = race(20, lambda i: _redeem(world.a, world.patient_a, row.id, key=f"r{i}"))

    assert out == Counter({"ok": 2, "rewards.limit_reached": 18})
    assert _count(world.a, Coupon) == 2
    assert check(world.a, world.patient_a.id).balance == 980
