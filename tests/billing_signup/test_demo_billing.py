"""The demo's plans carry limits and its tenants have billing accounts the billing
page and the console can show; the demo tenants fit their plans."""

from __future__ import annotations

from sqlmodel import col, select

from prm_saas.accounts.auth import operator_principal
from prm_saas.accounts.models import Operator
from prm_saas.billing.console import tenant_rows
from prm_saas.billing.limits import check_fits, usage
from prm_saas.billing.models import BillingInvoice, TenantBilling
from prm_saas.demo import OPERATOR_EMAIL, load_demo
from prm_saas.platform.billing import list_plans
from prm_saas.platform.models import Plan
from tenants.db import platform_session, tenant_session
from tenants.models import Tenant
from tenants.types import utcnow


def test_demo_plans_limits_and_billing_accounts() -> None:
    load_demo()
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
        assert b.card_last4
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

    again = load_demo()
    assert not [c for c in again if c.startswith("billing ")]
    with platform_session() as s:
        assert len(s.exec(select(BillingInvoice)).all()) == len(invoices)
