"""Event-driven re-evaluation: the front desk completing a visit or marking a
no-show, an order being paid and a card changing level re-run the tag rules for
that patient in the same transaction (the nightly run is not needed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prm_saas.booking import frontdesk
from prm_saas.booking.models import BookingStatus as BS
from prm_saas.membership import cards, points
from prm_saas.orders import services as orders
from prm_saas.orders.models import OrderStatus, PaymentMethod
from prm_saas.tags import services
from prm_saas.tags.models import TagKind
from tenants.db import tenant_session
from tests.challenges.builders import START, at, check_in, join, make_challenge
from tests.factories import World
from tests.membership.helpers import earn
from tests.tags import builders as b
from tests.tags.builders import NOW, TODAY


def _rule(world: World, conditions: Any) -> int:
    tag = b.tag(world.a, world.admin_a, "自动", TagKind.AUTO)
    with tenant_session(world.a.id) as s:
        services.create_rule(
            session=s,
            actor=world.admin_a,
            tag_id=tag,
            conditions=conditions,
            confirm_empty=True,
            now=NOW,
        )
    return tag


def test_completing_a_visit_tags_at_once(world: World) -> None:
    tag = _rule(world, [{"key": "booking_status", "params": {"status": "completed"}}])
    pid = b.patient(world.a)
    bid = b.booking(world.a, pid, TODAY, BS.CHECKED_IN)
    with tenant_session(world.a.id) as s:
        frontdesk.complete(session=s, actor=world.staff_a, booking_id=bid, now=NOW)
    assert b.holders(world.a, tag) == {pid}
    assert b.events(world.a)[-1][:3] == (pid, tag, "added")


def test_a_no_show_tags_at_once(world: World) -> None:
    tag = _rule(world, [{"key": "no_show_count", "params": {"min_count": 1}}])
    pid = b.patient(world.a)
    bid = b.booking(world.a, pid, TODAY - timedelta(days=1), BS.CONFIRMED)
    with tenant_session(world.a.id) as s:
        frontdesk.mark_no_show(session=s, actor=world.staff_a, booking_id=bid, now=NOW)
    assert b.holders(world.a, tag) == {pid}


def test_a_paid_order_tags_at_once(world: World) -> None:
    pkg = b.package(world.a)
    tag = _rule(world, [{"key": "package_bought", "params": {"package_id": pkg}}])
    pid = b.patient(world.a)
    oid = b.order(
        world.a,
        pid,
        pkg,
        status=OrderStatus.PENDING_PAYMENT,
        payment_method=PaymentMethod.CLINIC,
    )
    assert b.holders(world.a, tag) == set()
    with tenant_session(world.a.id) as s:
        orders.mark_clinic_paid(session=s, actor=world.admin_a, order_id=oid, now=NOW)
    assert b.holders(world.a, tag) == {pid}


def test_a_level_change_tags_at_once(world: World) -> None:
    entry = b.level(world.a, 0)
    gold = b.level(world.a, 1, min_points_12m=100)
    tag = _rule(world, [{"key": "member_level", "params": {"level_id": gold}}])
    pid = b.patient(world.a)
    b.card(world.a, pid, entry)
    earn(world.a, pid, 150, "k1", now=NOW)
    with tenant_session(world.a.id) as s:
        cards.recalc_level(s, patient_id=pid, now=NOW)
    assert b.holders(world.a, tag) == {pid}
    # Tenant B's patients were never looked at.
    assert b.events(world.b) == []


def test_a_full_refund_untags_at_once(world: World) -> None:
    pkg = b.package(world.a)
    pid = b.patient(world.a)
    oid = b.order(
        world.a,
        pid,
        pkg,
        status=OrderStatus.PENDING_PAYMENT,
        payment_method=PaymentMethod.CLINIC,
    )
    tag = _rule(world, [{"key": "package_bought", "params": {"package_id": pkg}}])
    with tenant_session(world.a.id) as s:
        orders.mark_clinic_paid(session=s, actor=world.admin_a, order_id=oid, now=NOW)
    assert b.holders(world.a, tag) == {pid}
    with tenant_session(world.a.id) as s:
        orders.refund(
            session=s,
            actor=world.admin_a,
            order_id=oid,
            amount_fen=100,
            reason="",
            idempotency_key="r1",
            now=NOW,
        )
    assert b.holders(world.a, tag) == set()
    assert [e[2] for e in b.events(world.a)] == ["added", "removed"]


def test_joining_and_completing_a_challenge_tag_at_once(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a, target_days=1)
    joined = _rule(world, [{"key": "challenge_joined", "params": {"challenge_id": cid}}])
    done = b.tag(world.a, world.admin_a, "完成", TagKind.AUTO)
    with tenant_session(world.a.id) as s:
        services.create_rule(
            session=s,
            actor=world.admin_a,
            tag_id=done,
            conditions=[{"key": "challenge_completed", "params": {"challenge_id": cid}}],
            confirm_empty=True,
            now=NOW,
        )
    join(world.a, world.patient_a, cid)
    assert b.holders(world.a, joined) == {world.patient_a.id}
    assert b.holders(world.a, done) == set()
    check_in(world.a, world.patient_a, cid, at(START))
    assert b.holders(world.a, done) == {world.patient_a.id}


def test_points_adjusted_or_redeemed_retag_at_once(world: World) -> None:
    tag = _rule(world, [{"key": "points_balance", "params": {"min_points": 100}}])
    pid = b.patient(world.a)
    with tenant_session(world.a.id) as s:
        points.adjust(
            s,
            actor=world.admin_a,
            patient_id=pid,
            points=150,
            reason="补录",
            idempotency_key="adj1",
            now=NOW,
        )
    assert b.holders(world.a, tag) == {pid}
    with tenant_session(world.a.id) as s:
        points.redeem(
            s,
            actor=world.admin_a,
            patient_id=pid,
            points=100,
            reason="兑换",
            source=None,
            idempotency_key="red1",
            now=NOW,
        )
    assert b.holders(world.a, tag) == set()


def test_a_new_patient_is_tagged_at_registration(world: World) -> None:
    """Rules on age and sex tag a patient from the day they join, not from the
    next nightly run; the other tenant's rule does not see them."""
    from prm_saas.accounts.patients import register_patient

    tag = _rule(
        world,
        [
            {"key": "sex", "params": {"sex": "female"}},
            {"key": "age_band", "params": {"min_age": 40, "max_age": 59}},
        ],
    )
    tag_b = b.tag(world.b, world.admin_b, "自动", TagKind.AUTO)
    with tenant_session(world.b.id) as s:
        services.create_rule(
            session=s,
            actor=world.admin_b,
            tag_id=tag_b,
            conditions=[{"key": "sex", "params": {"sex": "female"}}],
            confirm_empty=True,
            now=NOW,
        )
    with tenant_session(world.a.id) as s:
        pid = register_patient(
            session=s,
            name="新会员",
            phone="13912340001",
            password="Demo12345!x",
            password_confirm="Demo12345!x",
            sex="female",
            birth_date="1976-05-01",
        ).principal.id
    assert b.holders(world.a, tag) == {pid}
    assert b.holders(world.b, tag_b) == set()
