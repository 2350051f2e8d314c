"""The tenant admin's invoices and overview: newest first, only the tenant's own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta

from prm_saas.billing import engine, services
from tenants.db import tenant_session
from tenants.errors import NotFound, PermissionDenied
from tests.billing import helpers as h
from tests.factories import World


def _billed_world(world: World) -> None:
    """A with three invoices (trial end and two renewals), B with one."""
    plans = h.make_plans()
    t0 = h.now()
    for tenant, admin in ((world.a, world.admin_a), (world.b, world.admin_b)):
        h.open_billing(tenant, plans.basic, t0)
        h.save_card(tenant, admin)
    end = h.trial_end(world.a)
    engine.run_cycle(now=end + timedelta(minutes=1))
    # B leaves (manual suspension): only A is billed further
    from prm_saas.billing.models import Suspension
    from tenants.db import platform_session

    with platform_session() as s:
        tb = engine.lock_account(s, world.b.id)
        assert tb is not None
        tb.suspension = Suspension.MANUAL
        s.add(tb)
    for m in (1, 2):
        engine.run_cycle(now=end + relativedelta(months=m) + timedelta(minutes=1))


def test_the_admin_lists_the_tenants_invoices_newest_first(world: World) -> None:
    _billed_world(world)
    with tenant_session(world.a.id) as s:
        rows = services.list_invoices(session=s, actor=world.admin_a)
    assert [r.billing_reason for r in rows] == ["renewal", "renewal", "trial_end"]
    assert [r.period_start for r in rows] == sorted(
        (r.period_start for r in rows), key=lambda d: d or 0, reverse=True
    )
    assert all((r.status, r.total_fen) == ("paid", 100000) for r in rows)
    assert rows[0].lines[0].kind == "subscription"
    with tenant_session(world.a.id) as s:
        one = services.invoice(session=s, actor=world.admin_a, invoice_id=rows[1].id)
    assert one == rows[1]
    with tenant_session(world.b.id) as s:
        b_rows = services.list_invoices(session=s, actor=world.admin_b)
    assert [r.billing_reason for r in b_rows] == ["trial_end"]
    assert {r.id for r in b_rows}.isdisjoint({r.id for r in rows})


def test_another_tenants_invoice_is_not_found(world: World) -> None:
    _billed_world(world)
    with tenant_session(world.b.id) as s:
        (b_inv,) = services.list_invoices(session=s, actor=world.admin_b)
    with tenant_session(world.a.id) as s:
        # A's admin asking for B's invoice id: the same NotFound as a missing one
        with pytest.raises(NotFound):
            services.invoice(session=s, actor=world.admin_a, invoice_id=b_inv.id)
        with pytest.raises(NotFound):
            services.invoice(session=s, actor=world.admin_a, invoice_id=987654)
        for bad in (True, "1", 0, -1, None, 1.0):
            with pytest.raises(NotFound):
                services.invoice(session=s, actor=world.admin_a, invoice_id=bad)  # type: ignore[arg-type]
        # B's admin acting in A's session
        with pytest.raises(NotFound):
            services.list_invoices(session=s, actor=world.admin_b)
        # A's staff without the billing permission, and a patient
        with pytest.raises(PermissionDenied):
            services.list_invoices(session=s, actor=world.staff_a)
        with pytest.raises(PermissionDenied):
            services.list_invoices(session=s, actor=world.patient_a)


def test_the_overview_shows_plan_status_usage_card_and_the_next_invoice(world: World) -> None:
    plans = h.make_plans()
    t0 = h.now()
    h.open_billing(world.a, plans.basic, t0)
    h.save_card(world.a, world.admin_a)
    h.send_messages(world.a, 120, t0 + timedelta(hours=1))
    with tenant_session(world.a.id) as s:
        o = services.billing_overview(session=s, actor=world.admin_a, now=t0 + timedelta(hours=2))
    assert o.status == "trial"
    assert o.plan is not None
    assert (o.plan.id, o.plan.monthly_fen) == (plans.basic, 100000)
    assert o.trial_ends_at == h.trial_end(world.a)
    assert o.card is not None
    assert o.card.last4 == "4242"
    assert o.usage.messages == 120
    assert o.usage.staff == 2
    assert (o.overage_messages, o.next_invoice_fen) == (20, 100000 + 20 * 50)
    assert o.has_stripe_account
    with tenant_session(world.a.id) as s:
        plans_on_sale = services.available_plans(session=s, actor=world.admin_a)
    assert [p.id for p in plans_on_sale][:2] == [plans.basic, plans.pro]
    assert plans.legacy not in [p.id for p in plans_on_sale]
