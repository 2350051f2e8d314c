"""Coupons and member discounts at the mall checkout, and points on payment.

A coupon becomes a negative order line and is used once (a conditional UPDATE
in the checkout's transaction); an unpaid order that expires or is cancelled
gives it back, a refund does not. The member level's discount is its own line,
not combined with a fixed-price package coupon. Payment earns points by the
per-yuan rule; a refund takes back the refunded share. Stripe is localstripe.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from prm_saas.accounts.authz import Principal
from prm_saas.booking import services as booking_services
from prm_saas.booking.models import BookingStatus
from prm_saas.i18n import translate
from prm_saas.mall.models import PackageLocation
from prm_saas.membership import points, rewards
from prm_saas.membership.models import (
    Coupon,
    CouponStatus,
    MemberCard,
    MembershipLevel,
    NegativePolicy,
    PointsEntry,
    PointsRule,
    RuleKind,
)
from prm_saas.orders import services
from prm_saas.orders.models import Order, OrderStatus, Payment
from tenants.db import tenant_session
from tenants.errors import DomainError, NotFound
from tenants.resolution import TenantInfo
from tests.booking.builders import make_location, make_package, slots_of
from tests.concurrency import race
from tests.factories import World, make_patient
from tests.membership.helpers import check, set_policy
from tests.orders.helpers import (
    PRICE_FEN,
    Shop,
    booking_of,
    count,
    deliver,
    event,
    intent_for,
    make_shop,
    order_of,
    pay,
    seats,
    stripe_get,
)


def _coupon(
    shop: Shop,
    admin: Principal,
    patient: Principal,
    *,
    key: str = "c1",
    now: datetime | None = None,
    **reward: Any,
) -> Coupon:
    """A reward (a 100-yuan discount coupon unless told) redeemed by ``patient``."""
    fields: dict[str, Any] = {"kind": "discount_coupon", "name_zh": "满减券", "points_cost": "100"}
    fields.update(reward)
    if fields["kind"] == "discount_coupon" and "discount_percent" not in reward:
        fields.setdefault("discount_yuan", "100")
    at = now or shop.now
    with tenant_session(shop.tenant.id) as s:
        row = rewards.create_reward(session=s, actor=admin, now=at, **fields)
        points.earn(
            s,
            patient_id=patient.id,
            points=100,
            reason="test",
            source=points.Source("test", key),
            idempotency_key=f"earn:{key}",
            now=at,
        )
    with tenant_session(shop.tenant.id) as s:
        c = rewards.redeem_reward(
            session=s, actor=patient, reward_id=row.id, idempotency_key=key, now=at
        )
        s.expunge(c)
        return c


def _checkout(
    shop: Shop,
    patient: Principal,
    code: str = "",
    *,
    key: str = "key-1",
    method: str = "stripe",
    at: tuple[int, int] | None = None,
) -> services.CheckoutResult:
    location_id, slot_id = at or (shop.location_id, shop.slot_id)
    with tenant_session(shop.tenant.id) as s:
        return services.checkout(
            session=s,
            actor=patient,
            package_id=shop.package_id,
            location_id=location_id,
            slot_id=slot_id,
            addon_item_ids=[],
            payment_method=method,
            idempotency_key=key,
            now=shop.now,
            coupon_code=code,
        )


def _quote(shop: Shop, patient: Principal, code: str = "") -> rewards.Quote:
    with tenant_session(shop.tenant.id) as s:
        return rewards.quote(
            session=s,
            actor=patient,
            package_id=shop.package_id,
            location_id=shop.location_id,
            addon_item_ids=[],
            coupon_code=code,
            now=shop.now,
        )


def _refused(shop: Shop, patient: Principal, code: str, key: str = "key-x") -> DomainError:
    with pytest.raises(DomainError) as err:
        _checkout(shop, patient, code, key=key)
    return err.value


def _stored(tenant: TenantInfo, coupon_id: int | None) -> Coupon:
    with tenant_session(tenant.id) as s:
        return s.exec(select(Coupon).where(col(Coupon.id) == coupon_id)).one()


def _lines(tenant: TenantInfo, patient: Principal, order_id: int) -> list[tuple[str, int]]:
    with tenant_session(tenant.id) as s:
        detail = services.order_detail(session=s, actor=patient, order_id=order_id)
    return [(ln.kind, ln.amount_fen) for ln in detail.lines]


def _msg(key: str, locale: str, **params: Any) -> str:
    return translate(key, locale, **params)


# --- pricing -------------------------------------------------------------------------------


def test_a_discount_coupon_is_a_negative_line_and_lowers_what_stripe_charges(
    world: World,
) -> None:
    shop = make_shop(world.a, world.admin_a)
    c = _coupon(shop, world.admin_a, world.patient_a, min_spend_yuan="300")

    q = _quote(shop, world.patient_a, c.code.lower())
    res = _checkout(shop, world.patient_a, c.code)

    assert (q.subtotal_fen, q.coupon_discount_fen, q.total_fen) == (PRICE_FEN, 10000, 40000)
    assert _lines(world.a, world.patient_a, res.order_id) == [
        ("package", PRICE_FEN),
        ("coupon", -10000),
    ]
    assert order_of(world.a, res.order_id).total_fen == 40000
    assert res.pay_url
    used = _stored(world.a, c.id)
    assert (used.status, used.order_id) == (CouponStatus.USED, res.order_id)
    pi = intent_for(world.a, res.order_id)
    assert stripe_get(f"/v1/payment_intents/{pi}")["amount"] == 40000


def test_a_free_package_coupon_confirms_the_booking_without_stripe(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    c = _coupon(
        shop, world.admin_a, world.patient_a, kind="package_coupon", package_id=shop.package_id
    )

    res = _checkout(shop, world.patient_a, c.code)

    order = order_of(world.a, res.order_id)
    assert (res.status, res.pay_url, order.total_fen) == ("paid", "", 0)
    assert booking_of(world.a, res.booking_id).status == BookingStatus.CONFIRMED
    assert count(world.a, Payment) == 0
    assert _lines(world.a, world.patient_a, res.order_id) == [
        ("package", PRICE_FEN),
        ("coupon", -PRICE_FEN),
    ]


def test_points_plus_cash_makes_the_package_cost_the_cash(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    c = _coupon(
        shop,
        world.admin_a,
        world.patient_a,
        kind="package_coupon",
        package_id=shop.package_id,
        cash_yuan="99",
    )
    res = _checkout(shop, world.patient_a, c.code)
    assert order_of(world.a, res.order_id).total_fen == 9900


def test_coupons_that_do_not_apply_are_refused_and_nothing_is_written(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    other_pkg = make_package(world.a, [shop.location_id], code="P2")
    wrong_pkg = _coupon(
        shop, world.admin_a, world.patient_a, key="a", kind="package_coupon", package_id=other_pkg
    )
    min_spend = _coupon(shop, world.admin_a, world.patient_a, key="b", min_spend_yuan="800")
    gift = _coupon(shop, world.admin_a, world.patient_a, key="c", kind="gift")

    assert _refused(shop, world.patient_a, wrong_pkg.code).key == "coupon.not_applicable"
    err = _refused(shop, world.patient_a, min_spend.code)
    assert err.key == "coupon.min_spend"
    assert _msg(err.key, "zh-CN", **err.params) == "订单满 ¥800.00 才能使用该优惠券。"
    assert _msg(err.key, "en", **err.params) == "This coupon needs an order of at least ¥800.00."
    assert _refused(shop, world.patient_a, gift.code).key == "coupon.not_applicable"

    assert count(world.a, Order) == 0
    assert seats(world.a, shop.slot_id) == 0
    for c in (wrong_pkg, min_spend, gift):
        assert _stored(world.a, c.id).status == CouponStatus.ISSUED


def test_a_coupon_is_used_once(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    c = _coupon(shop, world.admin_a, world.patient_a)
    first = _checkout(shop, world.patient_a, c.code, key="k1")
    again = _checkout(shop, world.patient_a, c.code, key="k1")  # the same request: same order
    assert again.order_id == first.order_id

    err = _refused(shop, world.patient_a, c.code, key="k2")

    assert err.key == "coupon.used"
    assert _msg(err.key, "en") == "This coupon has already been used."
    assert count(world.a, Order) == 1
    assert seats(world.a, shop.slot_id) == 1


def test_another_patients_or_tenants_coupon_reads_like_an_unknown_code(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    shop_b = make_shop(world.b, world.admin_b)
    other = make_patient(world.a)
    theirs = _coupon(shop, world.admin_a, other, key="o")
    b_coupon = _coupon(shop_b, world.admin_b, world.patient_b, key="b")

    unknown = _refused(shop, world.patient_a, "ABCDEFGHJK")
    another_patient = _refused(shop, world.patient_a, theirs.code)
    another_tenant = _refused(shop, world.patient_a, b_coupon.code)

    assert unknown.key == another_patient.key == another_tenant.key == "coupon.unknown"
    assert _msg("coupon.unknown", "zh-CN") == "优惠券码无效，请核对后重试。"
    assert _msg("coupon.unknown", "en") == "This coupon code is not valid. Check it and try again."
    assert _stored(world.a, theirs.id).status == CouponStatus.ISSUED
    assert _stored(world.b, b_coupon.id).status == CouponStatus.ISSUED
    assert count(world.a, Order) == 0


def test_an_expired_coupon_is_refused(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    c = _coupon(
        shop,
        world.admin_a,
        world.patient_a,
        coupon_valid_days="1",
        now=shop.now - timedelta(days=3),
    )
    err = _refused(shop, world.patient_a, c.code)
    assert err.key == "coupon.expired"
    assert _msg(err.key, "zh-CN") == "该优惠券已过期。"
    assert count(world.a, Order) == 0


def test_a_quote_needs_the_patients_own_tenant(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        rewards.quote(
            session=s,
            actor=world.patient_b,
            package_id=shop.package_id,
            location_id=shop.location_id,
            addon_item_ids=[],
            now=shop.now,
        )


# --- giving the coupon back ----------------------------------------------------------------


def test_an_unpaid_order_that_expires_gives_the_coupon_back(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    c = _coupon(shop, world.admin_a, world.patient_a)
    res = _checkout(shop, world.patient_a, c.code)

    with tenant_session(world.a.id) as s:
        assert services.expire_unpaid(session=s, now=shop.now + timedelta(minutes=16)) == 1

    assert order_of(world.a, res.order_id).status == OrderStatus.EXPIRED
    back = _stored(world.a, c.id)
    assert (back.status, back.order_id, back.used_at) == (CouponStatus.ISSUED, None, None)
    again = _checkout(shop, world.patient_a, c.code, key="k2")  # and it works again
    assert order_of(world.a, again.order_id).total_fen == 40000


def test_cancelling_before_payment_gives_the_coupon_back(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    c = _coupon(shop, world.admin_a, world.patient_a)
    res = _checkout(shop, world.patient_a, c.code)
    with tenant_session(world.a.id) as s:
        services.cancel_order_by_patient(
            session=s, actor=world.patient_a, order_id=res.order_id, now=shop.now
        )
    assert order_of(world.a, res.order_id).status == OrderStatus.CANCELLED
    assert _stored(world.a, c.id).status == CouponStatus.ISSUED


def test_a_refund_does_not_give_the_coupon_back(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    c = _coupon(shop, world.admin_a, world.patient_a)
    res = _checkout(shop, world.patient_a, c.code, method="clinic")
    with tenant_session(world.a.id) as s:
        services.mark_clinic_paid(
            session=s, actor=world.admin_a, order_id=res.order_id, now=shop.now
        )
    with tenant_session(world.a.id) as s:
        services.refund(
            session=s,
            actor=world.admin_a,
            order_id=res.order_id,
            amount_fen=40000,
            reason="客户要求",
            idempotency_key="r1",
            now=shop.now,
        )
    assert order_of(world.a, res.order_id).status == OrderStatus.REFUNDED
    kept = _stored(world.a, c.id)
    assert (kept.status, kept.order_id) == (CouponStatus.USED, res.order_id)


# --- member level discount -----------------------------------------------------------------


def _member(tenant: TenantInfo, patient: Principal, discount: int, **level: Any) -> None:
    with tenant_session(tenant.id) as s:
        lv = MembershipLevel(
            name_zh="金卡", name_en="Gold", rank=1, discount_percent=discount, **level
        )
        s.add(lv)
        s.flush()
        s.add(MemberCard(number="M00000001", patient_id=patient.id, level_id=lv.id))


def test_the_member_discount_is_its_own_line_and_skips_package_coupons(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    _member(world.a, world.patient_a, 10)
    disc = _coupon(shop, world.admin_a, world.patient_a, key="d")
    pkg = _coupon(
        shop,
        world.admin_a,
        world.patient_a,
        key="p",
        kind="package_coupon",
        package_id=shop.package_id,
        cash_yuan="99",
    )

    plain = _quote(shop, world.patient_a)
    with_discount = _quote(shop, world.patient_a, disc.code)
    with_package = _quote(shop, world.patient_a, pkg.code)
    res = _checkout(shop, world.patient_a)

    assert [(ln.kind, ln.amount_fen) for ln in plain.lines] == [
        ("package", PRICE_FEN),
        ("member", -5000),
    ]
    assert (with_discount.coupon_discount_fen, with_discount.member_discount_fen) == (10000, 4000)
    assert with_discount.total_fen == 36000
    assert (with_package.member_discount_fen, with_package.total_fen) == (0, 9900)
    assert _lines(world.a, world.patient_a, res.order_id) == [
        ("package", PRICE_FEN),
        ("member", -5000),
    ]
    assert order_of(world.a, res.order_id).total_fen == 45000
    # Another tenant's patient with no card pays the full price.
    shop_b = make_shop(world.b, world.admin_b)
    assert _quote(shop_b, world.patient_b).total_fen == PRICE_FEN


def test_a_walk_in_order_gets_the_member_discount_too(world: World) -> None:
    """Orders opened outside the mall's checkout (walk-ins, waiting-list offers)
    are priced with the member's level discount as well."""
    from prm_saas.booking import frontdesk

    shop = make_shop(world.a, world.admin_a)
    _member(world.a, world.patient_a, 10)
    with tenant_session(world.a.id) as s:
        b = frontdesk.walk_in(
            session=s,
            actor=world.staff_a,
            patient_id=world.patient_a.id,
            package_id=shop.package_id,
            slot_id=shop.slot_id,
            now=shop.now,
        )
        order = s.exec(select(Order).where(col(Order.booking_id) == b.id)).one()
        oid = int(order.id or 0)
    assert _lines(world.a, world.patient_a, oid) == [("package", PRICE_FEN), ("member", -5000)]
    assert order_of(world.a, oid).total_fen == PRICE_FEN - 5000


# --- points on payment and clawback on refund ----------------------------------------------


def _per_yuan(tenant: TenantInfo, pts: int = 1) -> None:
    with tenant_session(tenant.id) as s:
        s.add(PointsRule(kind=RuleKind.PER_YUAN_PAID, points=pts))


def _entries(tenant: TenantInfo, order_id: int) -> list[tuple[str, int]]:
    with tenant_session(tenant.id) as s:
        rows = s.exec(
            select(PointsEntry)
            .where(
                col(PointsEntry.source_type) == "order", col(PointsEntry.source_id) == str(order_id)
            )
            .order_by(col(PointsEntry.id))
        ).all()
        return [(str(e.kind), e.points) for e in rows]


def _clinic_paid(world: World, shop: Shop, code: str = "") -> int:
    res = _checkout(shop, world.patient_a, code, method="clinic")
    with tenant_session(world.a.id) as s:
        services.mark_clinic_paid(
            session=s, actor=world.admin_a, order_id=res.order_id, now=shop.now
        )
    return res.order_id


def _staff_refund(world: World, shop: Shop, order_id: int, amount: int, key: str) -> None:
    with tenant_session(world.a.id) as s:
        services.refund(
            session=s,
            actor=world.admin_a,
            order_id=order_id,
            amount_fen=amount,
            reason="客户要求",
            idempotency_key=key,
            now=shop.now,
        )


def test_a_clinic_payment_earns_points_locked_for_the_return_window(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    _per_yuan(world.a, 2)
    c = _coupon(shop, world.admin_a, world.patient_a)  # 100 points earned, 100 spent
    order_id = _clinic_paid(world, shop, c.code)

    assert _entries(world.a, order_id) == [("earn", 800)]  # 400 yuan paid x 2
    assert check(world.a, world.patient_a.id).balance == 800
    with tenant_session(world.a.id) as s:
        now_spendable = points.spendable(
            s, actor=world.patient_a, patient_id=world.patient_a.id, now=shop.now
        )
        later = points.spendable(
            s,
            actor=world.patient_a,
            patient_id=world.patient_a.id,
            now=shop.now + timedelta(days=8),
        )
    assert (now_spendable, later) == (0, 800)
    with tenant_session(world.a.id) as s:  # marking it paid again earns nothing more
        services.mark_clinic_paid(session=s, actor=world.admin_a, order_id=order_id, now=shop.now)
    assert _entries(world.a, order_id) == [("earn", 800)]


def test_a_full_refund_takes_back_every_point_the_order_earned(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    _per_yuan(world.a)
    order_id = _clinic_paid(world, shop)
    _staff_refund(world, shop, order_id, PRICE_FEN, "r1")
    assert _entries(world.a, order_id) == [("earn", 500), ("reverse", -500)]
    assert check(world.a, world.patient_a.id).balance == 0
    assert check(world.a, world.patient_a.id).ok


def test_partial_refunds_take_back_their_share_once_each(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    _per_yuan(world.a)
    order_id = _clinic_paid(world, shop)

    _staff_refund(world, shop, order_id, 15000, "r1")  # 30%
    _staff_refund(world, shop, order_id, 15000, "r1")  # the same refund again
    assert _entries(world.a, order_id) == [("earn", 500), ("reverse", -150)]
    _staff_refund(world, shop, order_id, 35000, "r2")  # the rest

    assert _entries(world.a, order_id) == [("earn", 500), ("reverse", -150), ("reverse", -350)]
    assert check(world.a, world.patient_a.id).balance == 0
    assert check(world.a, world.patient_a.id).ok


def test_a_stripe_payment_earns_points_and_moves_the_level_up(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    _per_yuan(world.a)
    with tenant_session(world.a.id) as s:
        base = MembershipLevel(name_zh="普通", rank=0)
        silver = MembershipLevel(name_zh="银卡", rank=1, min_points_12m=300)
        s.add(base)
        s.add(silver)
        s.flush()
        s.add(MemberCard(number="M00000001", patient_id=world.patient_a.id, level_id=base.id))
        silver_id = silver.id
    res = _checkout(shop, world.patient_a)
    pi = intent_for(world.a, res.order_id)
    assert pay(world.a, res.order_id) == "succeeded"
    deliver(event("payment_intent.succeeded", stripe_get(f"/v1/payment_intents/{pi}")))
    deliver(event("payment_intent.succeeded", stripe_get(f"/v1/payment_intents/{pi}")))

    assert order_of(world.a, res.order_id).status == OrderStatus.PAID
    assert _entries(world.a, res.order_id) == [("earn", 500)]
    with tenant_session(world.a.id) as s:
        card = s.exec(
            select(MemberCard).where(col(MemberCard.patient_id) == world.patient_a.id)
        ).one()
    assert card.level_id == silver_id


# --- PostgreSQL: one coupon, two checkouts at once ----------------------------------------


def _places(shop: Shop, admin: Principal, n: int) -> list[tuple[int, int]]:
    """(location, slot) pairs for the shop's package at ``n`` locations (a patient
    may hold one booking per day and location)."""
    out = [(shop.location_id, shop.slot_id)]
    day = shop.now.astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=2)
    for i in range(n - 1):
        lid = make_location(shop.tenant, admin, name_zh=f"分院{i}")
        with tenant_session(shop.tenant.id) as s:
            s.add(PackageLocation(package_id=shop.package_id, location_id=lid))
        out.append((lid, int(slots_of(shop.tenant, lid, day, shop.now)[0].id)))
    return out


@pytest.mark.postgres_only
def test_the_same_coupon_at_two_concurrent_checkouts_is_used_once(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    c = _coupon(shop, world.admin_a, world.patient_a)
    n = 6
    places = _places(shop, world.admin_a, n)
    out = race(n, lambda i: _checkout(shop, world.patient_a, c.code, key=f"k{i}", at=places[i]))

    assert out == Counter({"ok": 1, "coupon.used": n - 1})
    assert count(world.a, Order) == 1
    assert sum(seats(world.a, slot) for _lid, slot in places) == 1
    used = _stored(world.a, c.id)
    with tenant_session(world.a.id) as s:
        (order_id,) = s.exec(select(Order.id)).all()
    assert (used.status, used.order_id) == (CouponStatus.USED, order_id)


@pytest.mark.parametrize(
    ("policy", "balance"),
    [(NegativePolicy.ALLOW_NEGATIVE, -150), (NegativePolicy.FLOOR_ZERO, 0)],
)
def test_a_partial_refund_after_the_points_were_spent_follows_the_policy(
    world: World, policy: NegativePolicy, balance: int
) -> None:
    shop = make_shop(world.a, world.admin_a)
    _per_yuan(world.a)
    set_policy(world.a, policy)
    order_id = _clinic_paid(world, shop)  # 500 points, spendable after the return window
    with tenant_session(world.a.id) as s:
        points.redeem(
            s,
            actor=world.patient_a,
            patient_id=world.patient_a.id,
            points=400,
            reason="test",
            source=None,
            idempotency_key="spend",
            now=shop.now + timedelta(days=8),
        )

    _staff_refund(world, shop, order_id, PRICE_FEN // 2, "half")

    assert check(world.a, world.patient_a.id).balance == balance
    assert check(world.a, world.patient_a.id).ok
    expected = 250 if policy == NegativePolicy.ALLOW_NEGATIVE else 100
    assert _entries(world.a, order_id) == [("earn", 500), ("reverse", -expected)]


def test_a_late_payment_that_re_seats_takes_the_given_back_coupon_again(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    _per_yuan(world.a)
    c = _coupon(shop, world.admin_a, world.patient_a)
    res = _checkout(shop, world.patient_a, c.code)
    pi = intent_for(world.a, res.order_id)
    assert pay(world.a, res.order_id) == "succeeded"
    # The beat expired the order (its view of Stripe a moment old) while the card was
    # charged: the booking lapsed and the coupon went back.
    with tenant_session(world.a.id) as s:
        order = s.exec(select(Order).where(col(Order.id) == res.order_id)).one()
        order.status = OrderStatus.EXPIRED
        s.add(order)
        booking_services.release(
            session=s,
            booking_id=res.booking_id,
            now=shop.now + timedelta(minutes=16),
            status=BookingStatus.EXPIRED,
        )
        rewards.give_back_coupon(s, order_id=res.order_id, now=shop.now)
    assert _stored(world.a, c.id).status == CouponStatus.ISSUED

    r = deliver(event("payment_intent.succeeded", stripe_get(f"/v1/payment_intents/{pi}")))

    assert r.json()["status"] == "paid_reseated"
    again = _stored(world.a, c.id)
    assert (again.status, again.order_id) == (CouponStatus.USED, res.order_id)
    assert _entries(world.a, res.order_id) == [("earn", 400)]
