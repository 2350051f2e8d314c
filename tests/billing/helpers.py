"""Builders and Stripe-side helpers for the billing tests.

Plans are rows of the catalog; a tenant's billing account is opened the way the
sign-up opens it (``engine.open_account`` in a platform session, then
``engine.ensure_stripe_account`` after the commit). Messages a tenant "sent" are
outbox rows in status sent at the instant a test needs. Stripe is localstripe;
card tokens are made as Stripe.js makes them (tests.orders.helpers.card_token).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, func, select

from prm_saas.accounts.authz import Principal
from prm_saas.billing import engine, services
from prm_saas.billing.models import BillingInvoice, BillingUsagePeriod, TenantBilling
from prm_saas.messaging.models import Channel, Message, MessageStatus
from prm_saas.platform.models import Plan, TenantSubscription
from tenants.db import platform_session, tenant_session
from tenants.models import Tenant
from tenants.resolution import TenantInfo, invalidate_tenant_cache
from tenants.types import utcnow
from tests.orders.helpers import card_token, stripe_get

CARD_OK = "4242424242424242"
CARD_DECLINED_ON_ATTACH = "4000000000000002"
CARD_CHARGE_FAILS = "4000000000000341"

_seq = itertools.count(1)

__all__ = ["card_token", "stripe_get"]


@dataclass(frozen=True)
class Plans:
    """Basic (¥1000, 100 messages, ¥0.50 each beyond) and Pro (¥3000) on sale;
    Legacy not on sale."""

    basic: int
    pro: int
    legacy: int


def make_plan(code: str, fen: int, **kw: Any) -> int:
    """A plan row in the catalog; its id."""
    with platform_session() as s:
        p = Plan(
            code=code,
            name_zh=kw.pop("name_zh", f"{code}版"),
            name_en=kw.pop("name_en", code.title()),
            monthly_fen=fen,
            **kw,
        )
        s.add(p)
        s.flush()
        assert p.id is not None
        return p.id


def make_plans() -> Plans:
    """The standard catalog of the billing tests."""
    n = next(_seq)
    return Plans(
        basic=make_plan(
            f"basic{n}",
            100000,
            name_zh="基础版",
            name_en="Basic",
            messages_included=100,
            message_overage_fen=50,
            max_staff=3,
            trial_days=14,
        ),
        pro=make_plan(
            f"pro{n}",
            300000,
            name_zh="专业版",
            name_en="Pro",
            messages_included=1000,
            message_overage_fen=30,
            trial_days=14,
        ),
        legacy=make_plan(f"legacy{n}", 50000, active=False),
    )


def open_billing(
    tenant: TenantInfo, plan_id: int, now: datetime, *, stripe: bool = True
) -> TenantBilling:
    """Open the tenant's billing account at ``now`` (the trial starts), then its Stripe
    side, as the sign-up does."""
    with platform_session() as s:
        engine.open_account(
            s,
            tenant_id=tenant.id,
            plan_id=plan_id,
            billing_email=f"billing@{tenant.slug}.test",
            now=now,
        )
        t = s.get(Tenant, tenant.id)
        assert t is not None
        t.status = "trial"  # type: ignore[assignment]
        s.add(t)
    invalidate_tenant_cache()
    if stripe:
        assert engine.ensure_stripe_account(tenant.id, now=now)
    return billing(tenant)


def billing(tenant: TenantInfo) -> TenantBilling:
    """The tenant's billing account as stored."""
    with platform_session() as s:
        tb = engine.account(s, tenant.id)
        assert tb is not None
        return tb


def status(tenant: TenantInfo) -> str:
    """The tenant's status column."""
    with platform_session() as s:
        t = s.get(Tenant, tenant.id)
        assert t is not None
        return str(t.status)


def save_card(tenant: TenantInfo, admin: Principal, number: str = CARD_OK) -> engine.CardSaved:
    """The admin saves a card (the card page's server side)."""
    with tenant_session(tenant.id) as s:
        return services.save_card(session=s, actor=admin, card_token=card_token(number))


def send_messages(tenant: TenantInfo, n: int, at: datetime) -> None:
    """``n`` messages the tenant sent at ``at``."""
    with tenant_session(tenant.id) as s:
        for _ in range(n):
            k = next(_seq)
            s.add(
                Message(
                    to_address=f"user{k}@example.test",
                    channel=Channel.EMAIL,
                    template_key="test.message",
                    dedupe_key=f"billing-test-{k}",
                    status=MessageStatus.SENT,
                    sent_at=at,
                    due_at=at,
                    created_at=at,
                )
            )


def invoices(tenant: TenantInfo) -> list[BillingInvoice]:
    """The tenant's mirrored invoices, oldest first."""
    with platform_session() as s:
        return list(
            s.exec(
                select(BillingInvoice)
                .where(BillingInvoice.subject_tenant_id == tenant.id)
                .order_by(col(BillingInvoice.id))
            ).all()
        )


def lines(inv: BillingInvoice) -> list[dict[str, Any]]:
    """The mirrored lines of an invoice."""
    data: list[dict[str, Any]] = json.loads(inv.lines_json)
    return data


def usage_rows(tenant: TenantInfo) -> list[BillingUsagePeriod]:
    """The tenant's usage periods, oldest first."""
    with platform_session() as s:
        return list(
            s.exec(
                select(BillingUsagePeriod)
                .where(BillingUsagePeriod.subject_tenant_id == tenant.id)
                .order_by(col(BillingUsagePeriod.period_start))
            ).all()
        )


def history(tenant: TenantInfo) -> list[TenantSubscription]:
    """The tenant's plan history, oldest first."""
    with platform_session() as s:
        return list(
            s.exec(
                select(TenantSubscription)
                .where(TenantSubscription.subject_tenant_id == tenant.id)
                .order_by(col(TenantSubscription.id))
            ).all()
        )


def count_rows(model: type[Any]) -> int:
    """Rows of a platform table."""
    with platform_session() as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def stripe_invoices(customer: str) -> list[dict[str, Any]]:
    """The customer's invoices at localstripe, newest first."""
    return list(stripe_get(f"/v1/invoices?customer={customer}&limit=100")["data"])


def pending_items(customer: str) -> list[dict[str, Any]]:
    """The customer's invoice items not yet on an invoice."""
    return list(stripe_get(f"/v1/invoiceitems?customer={customer}&limit=100")["data"])


def trial_end(tenant: TenantInfo) -> datetime:
    """When the tenant's trial ends."""
    tb = billing(tenant)
    assert tb.trial_ends_at is not None
    return tb.trial_ends_at


def after_trial(tenant: TenantInfo, minutes: int = 1) -> datetime:
    """A moment just after the trial's end."""
    return trial_end(tenant) + timedelta(minutes=minutes)


def now() -> datetime:
    """The real clock (Stripe's side runs on it)."""
    return utcnow()
