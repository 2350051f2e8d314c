"""Demo plans and subscriptions (prm_saas.demo calls this after the demo tenants).

Basic ¥999, Pro ¥2,999 and Enterprise ¥9,999 a month, with their limits
(Basic: 5 staff, 1 location, 2,000 active patients, 2,000 messages a month
included, ¥0.05 each beyond, at most 10,000; Pro: 20 / 5 / 20,000 / 20,000,
¥0.04, at most 100,000; Enterprise: unlimited, 100,000 messages included); the
community clinic signed up on Basic five months ago and upgraded to Pro two
months ago, the health-check center has been on Enterprise for four months.
Both have a billing account (issue 8): paying, a card on file, a billing month
under way and their past months' invoices as Stripe would have mirrored them
(``in_demo_*`` ids: the demo never talked to Stripe; the billing cycle creates
their Stripe customers when it first runs against one). Their usage rows come
from the dashboards' roll-up, which load_demo runs right after.
Idempotent: plans, subscriptions and billing accounts that exist are left alone.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import stripe
from dateutil.relativedelta import relativedelta
from sqlmodel import select

from prm_saas.accounts.auth import operator_principal
from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import Operator
from prm_saas.billing import engine
from prm_saas.billing.models import BillingInvoice, TenantBilling
from prm_saas.orders import stripe_gateway
from prm_saas.platform.billing import save_plan, set_tenant_plan
from prm_saas.platform.models import Plan, TenantSubscription
from tenants.db import TenantSession, platform_session
from tenants.models import Tenant
from tenants.types import utcnow

log = logging.getLogger(__name__)

PLANS = (
    ("basic", "基础版", "Basic", "999", 1),
    ("pro", "专业版", "Pro", "2999", 2),
    ("enterprise", "企业版", "Enterprise", "9999", 3),
)
# code -> (staff, locations, active patients, messages included, overage yuan, cap);
# "" = unlimited, as the plan editor takes them.
LIMITS = {
    "basic": ("5", "1", "2000", "2000", "0.05", "10000"),
    "pro": ("20", "5", "20000", "20000", "0.04", "100000"),
    "enterprise": ("", "", "", "100000", "0", ""),
}
# slug -> (days into the current billing month, card brand, last4); both pay.
BILLING = {
    "sunshine": (10, "visa", "4242"),
    "kangjian": (3, "mastercard", "4444"),
}
# slug -> [(plan code, days ago)], oldest first; the tenant is backdated to the first.
HISTORY = {
    "sunshine": [("basic", 150), ("pro", 60)],
    "kangjian": [("enterprise", 120)],
}


def load_demo_plans(operator_email: str) -> list[str]:
    """Create the demo plans and subscriptions that are missing; returns what was created."""
    created: list[str] = []
    now = utcnow()
    new_accounts: list[int] = []
    with platform_session() as s:
        op = s.exec(select(Operator).where(Operator.email == operator_email)).one()
        actor = operator_principal(op)
        for code, zh, en, price, order in PLANS:
            if s.exec(select(Plan.id).where(Plan.code == code)).first() is None:
                staff, locations, patients, included, overage, cap = LIMITS[code]
                save_plan(
                    session=s,
                    actor=actor,
                    code=code,
                    name_zh=zh,
                    name_en=en,
                    monthly_yuan=price,
                    sort_order=order,
                    max_staff=staff,
                    max_locations=locations,
                    max_active_patients=patients,
                    messages_included=included,
                    message_overage_yuan=overage,
                    messages_cap=cap,
                    trial_days="14",
                )
                created.append(f"plan {code}")
        plan_ids = {p.code: p.id for p in s.exec(select(Plan))}
        for slug, steps in HISTORY.items():
            tenant = s.exec(select(Tenant).where(Tenant.slug == slug)).first()
            if tenant is None or tenant.id is None:
                continue
            has_any = s.exec(
                select(TenantSubscription.id).where(
                    TenantSubscription.subject_tenant_id == tenant.id
                )
            ).first()
            if has_any is not None:
                continue
            tenant.created_at = now - timedelta(days=steps[0][1] + 3)
            s.add(tenant)
            for code, days_ago in steps:
                plan_id = plan_ids[code]
                assert plan_id is not None
                set_tenant_plan(
                    session=s,
                    actor=actor,
                    tenant_id=tenant.id,
                    plan_id=plan_id,
                    reason="演示数据" if code == steps[0][0] else "客户升级",
                    now=now - timedelta(days=days_ago),
                )
            created.append(f"subscriptions {slug}")
        for slug in BILLING:
            tenant = s.exec(select(Tenant).where(Tenant.slug == slug)).first()
            if tenant is None or tenant.id is None:
                continue
            if _demo_billing(s, tenant, now):
                created.append(f"billing {slug}")
                new_accounts.append(tenant.id)
    _demo_stripe(new_accounts, actor, now)
    # Usage rows come with the dashboards' roll-up that load_demo runs next.
    return created


def _demo_stripe(tenant_ids: list[int], actor: Principal, now: datetime) -> None:
    """With localstripe (``scripts/run.sh`` starts it) the new demo accounts get their
    Stripe customer, subscription and a test card (4242), so upgrading, the card page
    and the cycle work on the demo as on a signed-up tenant. Without Stripe the beat's
    cycle opens the Stripe side once it is configured; a demo never fails for it."""
    if not stripe_gateway.is_local():
        return
    for tid in tenant_ids:
        try:
            if not engine.ensure_stripe_account(tid, now=now):
                continue
            token = stripe_gateway.client().v1.tokens.create(
                params={
                    "card": {
                        "number": "4242424242424242",
                        "exp_month": "12",
                        "exp_year": "2030",
                        "cvc": "123",
                    }
                }
            )
            engine.save_card(tenant_id=tid, card_token=str(token.id), actor=actor, now=now)
        except (stripe_gateway.PaymentGatewayError, stripe.StripeError) as exc:
            log.warning("demo tenant %s has no Stripe card: %s", tid, exc)


def _demo_billing(s: TenantSession, tenant: Tenant, now: datetime) -> bool:
    """A paying account: the current billing month, a card, the past months' paid
    invoices at the price of the plan each month was on. False if it exists."""
    assert tenant.id is not None
    exists = s.exec(
        select(TenantBilling.id).where(TenantBilling.subject_tenant_id == tenant.id)
    ).first()
    if exists is not None:
        return False
    days_in, brand, last4 = BILLING[tenant.slug]
    start = (now - timedelta(days=days_in)).replace(microsecond=0)
    subs = s.exec(
        select(TenantSubscription, Plan)
        .join(Plan, Plan.id == TenantSubscription.plan_id)  # type: ignore[arg-type]
        .where(TenantSubscription.subject_tenant_id == tenant.id)
    ).all()
    s.add(
        TenantBilling(
            subject_tenant_id=tenant.id,
            billing_email=f"admin@{tenant.slug}.demo",
            current_period_start=start,
            current_period_end=start + relativedelta(months=1),
            card_brand=brand,
            card_last4=last4,
            card_exp="12/2030",
            created_at=tenant.created_at,
            updated_at=now,
        )
    )
    month = 1
    while True:
        p_start, p_end = (
            start - relativedelta(months=month),
            start - relativedelta(months=month - 1),
        )
        on = [(sub, plan) for sub, plan in subs if sub.started_at <= p_start]
        if p_start < tenant.created_at or not on:
            break
        sub, plan = max(on, key=lambda r: r[0].started_at)
        lines = [
            {
                "description": f"{plan.name_zh} {p_start:%Y-%m}",
                "amount_fen": sub.monthly_fen,
                "quantity": 1,
                "kind": "subscription",
            }
        ]
        s.add(
            BillingInvoice(
                stripe_invoice_id=f"in_demo_{tenant.slug}_{p_start:%Y%m}",
                subject_tenant_id=tenant.id,
                number=f"DEMO-{tenant.slug.upper()}-{p_start:%Y%m}",
                status="paid",
                billing_reason="subscription_cycle",
                subtotal_fen=sub.monthly_fen,
                total_fen=sub.monthly_fen,
                amount_paid_fen=sub.monthly_fen,
                period_start=p_start,
                period_end=p_end,
                stripe_created=p_end,
                paid_at=p_end,
                lines_json=json.dumps(lines, ensure_ascii=False),
                updated_at=now,
            )
        )
        month += 1
    s.flush()
    return True
