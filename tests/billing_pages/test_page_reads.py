"""The two small reads the billing pages add (issue 8, part C): the staff banner's
billing facts and the public plan catalog of the sign-up page. No Stripe call is
involved (the accounts are opened without their Stripe side)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from prm_saas.billing import engine
from prm_saas.billing.catalog import plans_on_sale
from prm_saas.billing.models import Suspension
from prm_saas.billing.staff_notice import staff_billing_notice
from tenants.db import platform_session, tenant_session
from tenants.errors import NotFound, PermissionDenied
from tenants.types import utcnow
from tests.billing.helpers import make_plan, make_plans, open_billing
from tests.factories import World


def _set(tenant_id: int, **fields: object) -> None:
    with platform_session() as s:
        tb = engine.account(s, tenant_id)
        assert tb is not None
        for k, v in fields.items():
            setattr(tb, k, v)
        s.add(tb)


def test_staff_of_a_past_due_tenant_learn_when_it_will_be_suspended(world: World) -> None:
    # given tenant A past due since a known instant, and tenant B with no account
    plans = make_plans()
    t0 = utcnow().replace(microsecond=0)
    open_billing(world.a, plans.basic, t0, stripe=False)
    since = t0 + timedelta(days=15)
    _set(world.a.id, past_due_since=since)
    # when A's front desk (no billing rights) asks
    with tenant_session(world.a.id) as s:
        notice = staff_billing_notice(session=s, actor=world.staff_a)
    # then it is the grace period's end (7 days by default), not suspended for billing
    assert notice.grace_ends_at == since + timedelta(days=7)
    assert notice.billing_suspension is False
    # and B's staff learn nothing of A: B has no account, so nothing to show
    with tenant_session(world.b.id) as s:
        other = staff_billing_notice(session=s, actor=world.staff_b)
    assert (other.grace_ends_at, other.billing_suspension) == (None, False)


def test_a_billing_suspension_is_told_apart_from_an_operators(world: World) -> None:
    plans = make_plans()
    open_billing(world.a, plans.basic, utcnow(), stripe=False)
    _set(world.a.id, suspension=Suspension.BILLING)
    with tenant_session(world.a.id) as s:
        assert staff_billing_notice(session=s, actor=world.admin_a).billing_suspension
    _set(world.a.id, suspension=Suspension.MANUAL)
    with tenant_session(world.a.id) as s:
        assert not staff_billing_notice(session=s, actor=world.admin_a).billing_suspension


def test_only_the_tenants_own_staff_may_ask(world: World) -> None:
    plans = make_plans()
    open_billing(world.a, plans.basic, utcnow(), stripe=False)
    # another tenant's staff member: the same NotFound as everywhere
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        staff_billing_notice(session=s, actor=world.admin_b)
    # a patient of the tenant is no staff member
    with tenant_session(world.a.id) as s, pytest.raises(PermissionDenied):
        staff_billing_notice(session=s, actor=world.patient_a)


def test_the_public_catalog_lists_the_plans_on_sale_in_order(world: World) -> None:
    # given two plans on sale (the dearer one first in the catalog) and one retired
    cheap = make_plan("cheap", 50000, sort_order=2, max_staff=2, trial_days=7)
    dear = make_plan("dear", 90000, sort_order=1, messages_cap=5000)
    make_plan("retired", 10000, active=False)
    with platform_session() as s:
        plans = plans_on_sale(session=s)
    # then only those on sale, in the catalog's order, with their price list terms
    assert [p.id for p in plans] == [dear, cheap]
    assert (plans[1].monthly_fen, plans[1].max_staff, plans[1].trial_days) == (50000, 2, 7)
    assert (plans[0].max_staff, plans[0].messages_cap) == (None, 5000)
