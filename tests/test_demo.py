"""The demo data the README's run command loads, loaded once for the whole module
(``demo_loaded``; every test here only reads): both tenants can be booked end to
end, their members have cards, points, levels, challenges and rewards, the
platform has its plans, subscriptions, usage and paying billing accounts, and
loading twice adds nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, func, select

from prm_saas.accounts.auth import staff_principal
from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import StaffMember, StaffRole
from prm_saas.booking.calendar import bookable_days
from prm_saas.booking.frontdesk import day_calendar
from prm_saas.booking.models import Booking, Location
from prm_saas.booking.schedule import available_slots, local_today, tenant_zone
from prm_saas.demo import load_demo
from prm_saas.mall.storefront import published_packages
from tenants.db import platform_session, tenant_session
from tenants.models import Tenant
from tenants.types import utcnow


def _admin(s: Any) -> Principal:
    admin = s.exec(select(StaffMember).where(StaffMember.role == StaffRole.TENANT_ADMIN)).one()
    return staff_principal(admin)


def test_demo_tenants_can_be_booked(demo_loaded: list[str]) -> None:
    created = demo_loaded
    assert len([c for c in created if c.startswith("tenant ")]) == 2
    with platform_session() as s:
        tenants = s.exec(select(Tenant)).all()
    assert len(tenants) == 2
    now = utcnow()
    desks_open = 0
    for tenant in tenants:
        assert tenant.id is not None
        with tenant_session(tenant.id) as s:
            locations = s.exec(select(Location)).all()
            assert locations
            packages = published_packages(session=s, location_id=locations[0].id)
            assert len(packages) >= 4
            days = [
                d for d in bookable_days(session=s, location_id=locations[0].id, now=now) if d.open
            ]
            assert days
            assert days[0].day - now.date() <= timedelta(days=3)
            slots = available_slots(
                session=s,
                location_id=int(locations[0].id or 0),
                day=days[0].day,
                package_id=packages[0].id,
                now=now,
            )
            assert any(v.bookable for v in slots)
            # The front desk has walk-ins today and bookings on the next open day.
            today = local_today(now, tenant_zone(s))
            desk = day_calendar(
                session=s, actor=_admin(s), location_id=int(locations[0].id or 0), day=today
            )
            if desk.slots:  # open today (康健 opens every day, 阳光 not on Sundays)
                desks_open += 1
                assert sum(len(sl.bookings) for sl in desk.slots) >= 3
            ahead = s.exec(
                select(func.count()).select_from(Booking).where(Booking.walk_in.is_(False))  # type: ignore[attr-defined]
            ).one()
            assert ahead >= 4
    assert desks_open >= 1


def test_demo_members_have_cards_points_levels_and_challenges(demo_loaded: list[str]) -> None:
    from prm_saas.accounts.auth import patient_principal
    from prm_saas.accounts.models import Patient
    from prm_saas.challenges.models import Challenge, ChallengeCheckin, ChallengeParticipant
    from prm_saas.membership import points
    from prm_saas.membership.admin import list_levels, list_rules
    from prm_saas.membership.models import MemberCard
    from prm_saas.membership.wallet import wallet

    now = utcnow()
    with platform_session() as s:
        tenants = s.exec(select(Tenant).order_by(Tenant.id)).all()  # type: ignore[arg-type]
    prefixes = set()
    for tenant in tenants:
        assert tenant.id is not None
        with tenant_session(tenant.id) as s:
            admin = _admin(s)
            levels = list_levels(session=s, actor=admin)
            assert [lv.name_zh for lv in levels] == ["普通", "银卡", "金卡"]
            rules = {r.kind: r.points for r in list_rules(session=s, actor=admin) if r.active}
            assert rules == {
                "per_yuan_paid": 1,
                "checkup_completed": 200,
                "challenge_completed": 100,
                "birthday": 100,
                "referral": 300,
            }
            patients = s.exec(select(Patient).order_by(Patient.id)).all()  # type: ignore[arg-type]
            numbers = s.exec(select(MemberCard.number)).all()
            assert len(numbers) == len(patients)
            prefixes.add(numbers[0][:2])
            first = patients[0]
            w = wallet(session=s, actor=patient_principal(first), now=now)
            assert w.level is not None
            assert w.level.name_zh == "银卡"
            assert (w.balance, w.locked, w.expiring) == (2697, 399, 1299)
            assert w.spendable == 2697 - 399
            assert w.expiring_last_day is not None
            assert w.expiring_last_day - now.date() <= timedelta(days=30)
            assert len(w.history) == 5
            for p in patients:
                assert points.check_account(s, patient_id=int(p.id or 0)).ok
            published = s.exec(select(Challenge).where(Challenge.status == "published")).all()
            assert len(published) == 2
            assert s.exec(select(func.count()).select_from(ChallengeParticipant)).one() >= 6
            assert s.exec(select(func.count()).select_from(ChallengeCheckin)).one() >= 10
    assert prefixes == {"SU", "KJ"}


def test_demo_tenants_have_a_rewards_catalog(demo_loaded: list[str]) -> None:
    from prm_saas.accounts.auth import patient_principal
    from prm_saas.accounts.models import Patient
    from prm_saas.membership import rewards

    with platform_session() as s:
        tenant_ids = [t.id for t in s.exec(select(Tenant)).all()]
    assert len(tenant_ids) == 2
    for tid in tenant_ids:
        with tenant_session(tid) as s:
            patient = s.exec(select(Patient).order_by(col(Patient.id))).first()
            assert patient is not None
            cards = rewards.rewards_catalog(
                session=s, actor=patient_principal(patient), now=utcnow()
            )
        assert {c.kind for c in cards} == {"discount_coupon", "gift", "package_coupon"}
        assert len(cards) == 4


def test_demo_plans_subscriptions_and_usage(demo_loaded: list[str]) -> None:
    from prm_saas.accounts.auth import operator_principal
    from prm_saas.accounts.models import Operator
    from prm_saas.demo import OPERATOR_EMAIL
    from prm_saas.platform.billing import current_plans, list_plans, subscription_history
    from prm_saas.platform.kpis import platform_dashboard

    assert {"plan basic", "plan pro", "plan enterprise"} <= set(demo_loaded)
    with platform_session() as s:
        op = operator_principal(
            s.exec(select(Operator).where(Operator.email == OPERATOR_EMAIL)).one()
        )
        plans = list_plans(session=s, actor=op)
        ids = {t.slug: int(t.id or 0) for t in s.exec(select(Tenant).order_by(col(Tenant.id)))}
        now = current_plans(session=s, actor=op)
        sunshine = subscription_history(session=s, actor=op, tenant_id=ids["sunshine"])
        dash = platform_dashboard(session=s, actor=op)
    assert [(p.code, p.monthly_fen) for p in plans] == [
        ("basic", 99900),
        ("pro", 299900),
        ("enterprise", 999900),
    ]
    assert {ids[k]: now[ids[k]].plan_code for k in ids} == {
        ids["sunshine"]: "pro",
        ids["kangjian"]: "enterprise",
    }
    assert [h.plan_code for h in sunshine] == ["pro", "basic"]
    assert sunshine[1].ended_at == sunshine[0].started_at
    mrr = next(c for c in dash.charts if c.key == "mrr")
    assert mrr.totals["current"] == 299900 + 999900
    usage = next(c for c in dash.charts if c.key == "usage")
    assert len(usage.x) == 2
    assert (usage.series[0].values[0] or 0) > 0  # patients
    assert dash.freshness.rolled_through is not None


def test_demo_plans_limits_and_billing_accounts(demo_loaded: list[str]) -> None:
    from prm_saas.accounts.auth import operator_principal
    from prm_saas.accounts.models import Operator
    from prm_saas.billing.console import tenant_rows
    from prm_saas.billing.limits import check_fits, usage
    from prm_saas.billing.models import BillingInvoice, TenantBilling
    from prm_saas.demo import OPERATOR_EMAIL
    from prm_saas.platform.billing import list_plans
    from prm_saas.platform.models import Plan

    now = utcnow()
    with platform_session() as s:
        op = operator_principal(
            s.exec(select(Operator).where(Operator.email == OPERATOR_EMAIL)).one()
        )
        plans = {p.code: p for p in list_plans(session=s, actor=op)}
        tenants = {t.slug: int(t.id or 0) for t in s.exec(select(Tenant))}
        accounts = {b.subject_tenant_id: b for b in s.exec(select(TenantBilling))}
        invoices = s.exec(select(BillingInvoice).order_by(col(BillingInvoice.id))).all()
        rows = {r.slug: r for r in tenant_rows(session=s, actor=op)}
        plan_rows = {p.code: p for p in s.exec(select(Plan))}
    basic, pro, ent = plans["basic"], plans["pro"], plans["enterprise"]
    assert (basic.max_staff, basic.max_locations, basic.max_active_patients) == (5, 1, 2000)
    assert (basic.messages_included, basic.message_overage_fen, basic.messages_cap) == (
        2000,
        5,
        10000,
    )
    assert (pro.max_staff, pro.max_locations, pro.max_active_patients) == (20, 5, 20000)
    assert pro.messages_included == 20000
    assert (ent.max_staff, ent.max_locations, ent.max_active_patients, ent.messages_cap) == (
        None,
        None,
        None,
        None,
    )

    assert set(accounts) == set(tenants.values())
    for slug, tid in tenants.items():
        b = accounts[tid]
        assert b.current_period_start is not None
        assert b.current_period_end is not None
        assert b.current_period_start <= now < b.current_period_end
        # a real Stripe customer, subscription and card (localstripe, as run.sh has it)
        assert b.stripe_customer_id.startswith("cus_")
        assert b.stripe_subscription_id.startswith("sub_")
        assert (b.card_brand, b.card_last4) == ("Visa", "4242")
        assert b.suspension == ""
        assert [i for i in invoices if i.subject_tenant_id == tid]
        assert rows[slug].last_invoice_status == "paid"
        assert rows[slug].status == "active"
    assert {i.status for i in invoices} == {"paid"}
    # Sunshine paid Basic's price before its upgrade and Pro's after.
    sunshine = [i.total_fen for i in invoices if i.subject_tenant_id == tenants["sunshine"]]
    assert set(sunshine) == {99900, 299900}

    # The demo tenants fit their plans: nothing is refused in the demo.
    for slug, code in (("sunshine", "pro"), ("kangjian", "enterprise")):
        with tenant_session(tenants[slug]) as s:
            assert check_fits(s, tenant_id=tenants[slug], plan=plan_rows[code]) == []
            now_using = usage(s, tenant_id=tenants[slug])
        assert now_using.limits is not None
        assert now_using.limits.code == code


def test_loading_the_demo_again_adds_nothing(demo_loaded: list[str]) -> None:
    # Last in the module: it writes if the loader is not idempotent.
    from prm_saas.billing.models import BillingInvoice
    from tests.platform_kpis.helpers import counts

    def invoices() -> int:
        with platform_session() as s:
            return int(s.exec(select(func.count()).select_from(BillingInvoice)).one())

    before = (counts(), invoices())
    assert load_demo() == []
    assert (counts(), invoices()) == before
    with platform_session() as s:
        assert s.exec(select(func.count()).select_from(Tenant)).one() == 2
