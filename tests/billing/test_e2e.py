"""The issue's end-to-end flows against localstripe: sign-up to trial to paid, usage on
the invoice, and payment failure -> past due -> suspended (read-only for staff, bookings
still readable by patients) -> card update -> paid -> active."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta

from prm_saas.accounts.auth import staff_principal
from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import StaffMember
from prm_saas.billing import engine, services
from prm_saas.billing.signup import SignUpResult, sign_up_and_bill
from prm_saas.booking import services as booking_services
from tenants.db import tenant_session
from tenants.errors import TenantReadOnly
from tenants.resolution import TenantInfo, invalidate_tenant_cache, tenant_by_id
from tests.billing import helpers as h
from tests.booking.builders import make_location
from tests.factories import World, make_patient
from tests.orders.helpers import checkout, make_shop


def _sign_up(
    plan_id: int, slug: str = "sunrise-clinic"
) -> tuple[SignUpResult, TenantInfo, Principal]:
    result = sign_up_and_bill(
        name="朝阳诊所",
        slug=slug,
        kind="clinic",
        admin_email=f"owner@{slug}.test",
        admin_name="王院长",
        admin_password="Sunrise2026pass",
        plan_id=plan_id,
        locale="zh-CN",
    )
    invalidate_tenant_cache()
    tenant = tenant_by_id(result.tenant_id)
    assert tenant is not None
    with tenant_session(tenant.id) as s:
        admin = s.get(StaffMember, result.admin_id)
        assert admin is not None
        actor = staff_principal(admin)
    return result, tenant, actor


def test_sign_up_to_trial_to_paid_with_usage_on_the_invoice(world: World) -> None:
    plans = h.make_plans()
    # a clinic signs up on Basic: a trial with its Stripe customer and subscription
    result, tenant, admin = _sign_up(plans.basic)
    assert result.stripe_ready
    assert h.status(tenant) == "trial"
    tb = h.billing(tenant)
    sub = h.stripe_get(f"/v1/subscriptions/{tb.stripe_subscription_id}")
    assert sub["trial_end"] == int(result.trial_ends_at.timestamp())
    assert sub["plan"]["amount"] == 100000
    # the admin adds a card during the trial
    h.save_card(tenant, admin)
    # the trial ends: the first month is billed and paid
    end = result.trial_ends_at
    engine.run_cycle(now=end + timedelta(minutes=3))
    assert h.status(tenant) == "active"
    # 150 messages in the first paid month (100 included)
    h.send_messages(tenant, 150, end + timedelta(days=5))
    engine.run_cycle(now=end + relativedelta(months=1) + timedelta(minutes=3))
    with tenant_session(tenant.id) as s:
        rows = services.list_invoices(session=s, actor=admin)
    assert [(r.billing_reason, r.status, r.total_fen) for r in rows] == [
        ("renewal", "paid", 100000 + 50 * 50),
        ("trial_end", "paid", 100000),
    ]
    usage = next(ln for ln in rows[0].lines if ln.kind == "usage")
    assert (usage.amount_fen, usage.quantity) == (2500, 1)
    assert "超出套餐的消息 50 条" in usage.description
    stripe_inv = h.stripe_get(f"/v1/invoices/{h.invoices(tenant)[-1].stripe_invoice_id}")
    assert [ln["description"] for ln in stripe_inv["lines"]["data"]].count(usage.description) == 1
    # the other tenant saw none of it
    assert h.status(world.b) == "active"
    with tenant_session(world.b.id) as s:
        assert services.list_invoices(session=s, actor=world.admin_b) == []


def test_payment_failure_to_suspension_and_back_to_active(world: World) -> None:
    plans = h.make_plans()
    result, tenant, admin = _sign_up(plans.basic, slug="harbor-clinic")
    patient = make_patient(tenant)
    shop = make_shop(tenant, admin)
    booking_id = checkout(shop, patient, method="clinic").booking_id
    # a card whose charges fail
    h.save_card(tenant, admin, h.CARD_CHARGE_FAILS)
    end = result.trial_ends_at
    engine.run_cycle(now=end + timedelta(minutes=3))
    assert h.status(tenant) == "past_due"
    engine.run_cycle(now=end + timedelta(days=7, minutes=4))
    assert h.status(tenant) == "suspended"
    invalidate_tenant_cache()
    # suspended: staff writes are refused, the patient still reads the booking
    with pytest.raises(TenantReadOnly):
        make_location(tenant, admin)
    with tenant_session(tenant.id) as s:
        mine = booking_services.my_bookings(session=s, actor=patient)
    assert [b.id for b in mine] == [booking_id]
    # the admin saves a good card: the open invoice is paid and the tenant is active
    with tenant_session(tenant.id) as s:
        saved = services.save_card(session=s, actor=admin, card_token=h.card_token(h.CARD_OK))
    assert (saved.paid, saved.unpaid, saved.status) == (1, 0, "active")
    assert h.status(tenant) == "active"
    assert [i.status for i in h.invoices(tenant)] == ["paid"]
    invalidate_tenant_cache()
    make_location(tenant, admin)  # writes work again
    # the other tenant was never touched
    assert h.status(world.b) == "active"
