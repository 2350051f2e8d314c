"""Stripe's ``invoice.*`` and ``customer.subscription.*`` events for platform billing.

``prm_saas.orders.webhooks`` verifies the signature, stores the event once per id
and claims it; for these types it calls ``fetch`` before storing (the Stripe
re-read, outside any transaction) and ``apply`` in the claiming transaction.

The event's own snapshot only names the object: the invoice or subscription is
re-read from Stripe, so any order of arrival (a late ``payment_failed`` after
``paid``) ends in the state Stripe has. The tenant is the one whose
``tenant_billing`` holds the object's customer (only we create customers); the
customer's metadata ``tenant_id`` must agree, else nothing changes (``mismatch``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import select

from prm_saas.billing import engine, gateway
from prm_saas.billing.models import TenantBilling
from prm_saas.settings import get_settings
from tenants.db import TenantSession, platform_session

log = logging.getLogger(__name__)

PREFIXES = ("invoice.", "customer.subscription.")


@dataclass(frozen=True)
class Fetched:
    """What Stripe says now about the object an event names."""

    event_type: str
    customer: str
    tenant_id: int | None  # from tenant_billing (None: not one of ours)
    metadata_tenant_id: int | None  # from the customer's metadata
    invoice: gateway.InvoiceView | None = None
    subscription: gateway.SubscriptionView | None = None


def handles(event_type: str) -> bool:
    """Whether billing applies this event type."""
    return event_type.startswith(PREFIXES)


def _tenant_of_customer(customer: str) -> int | None:
    if not customer:
        return None
    with platform_session() as s:
        return s.exec(
            select(TenantBilling.subject_tenant_id).where(
                TenantBilling.stripe_customer_id == customer
            )
        ).first()


def fetch(event_type: str, obj: dict[str, Any]) -> Fetched | None:
    """Re-read the event's invoice or subscription from Stripe (None: nothing of ours
    to apply). Raises ``gateway.PaymentGatewayError`` when Stripe cannot be reached
    (the webhook answers 503; Stripe retries)."""
    object_id = str(obj.get("id") or "")
    kind = obj.get("object")
    invoice: gateway.InvoiceView | None = None
    subscription: gateway.SubscriptionView | None = None
    if kind == "invoice" and object_id.startswith("in_"):
        invoice = gateway.retrieve_invoice(object_id)
        customer = invoice.customer if invoice is not None else ""
    elif kind == "subscription" and object_id.startswith("sub_"):
        subscription = gateway.retrieve_subscription(object_id)
        customer = subscription.customer if subscription is not None else ""
    else:
        return None
    if not customer:
        return None
    tenant_id = _tenant_of_customer(customer)
    if tenant_id is None:
        return Fetched(event_type, customer, None, None, invoice, subscription)
    return Fetched(
        event_type,
        customer,
        tenant_id,
        gateway.customer_tenant_id(customer),
        invoice,
        subscription,
    )


def apply(session: TenantSession, fetched: Fetched | None, *, now: datetime) -> str:
    """Apply a fetched event in ``session`` (a platform session, the event's claim
    already in it): mirror the invoice, start dunning on a failed payment that is
    still unpaid, recompute the tenant's status. Returns the outcome."""
    if fetched is None or fetched.tenant_id is None:
        return "ignored"
    tid = fetched.tenant_id
    if fetched.metadata_tenant_id != tid:
        log.warning(
            "stripe customer %s: metadata names tenant %s, billing account is tenant %s",
            fetched.customer,
            fetched.metadata_tenant_id,
            tid,
        )
        return "mismatch"
    tb = engine.lock_account(session, tid)
    if tb is None or tb.stripe_customer_id != fetched.customer:
        return "unknown"
    if fetched.invoice is not None:
        inv = fetched.invoice
        engine.mirror_invoice(session, inv, tenant_id=tid, now=now)
        reason = ""
        if fetched.event_type == "invoice.payment_failed" and inv.unpaid:
            engine.start_dunning(tb, now)
            reason = "payment_failed"
        session.add(tb)
        session.flush()
        engine.apply_tenant_status(session, tenant_id=tid, now=now, reason=reason)
        return f"invoice_{inv.status}"
    sub = fetched.subscription
    if sub is None or sub.id != tb.stripe_subscription_id:
        return "ignored"
    if sub.plan_id:
        tb.stripe_plan_id = sub.plan_id
    if (
        get_settings().billing_renewals == "stripe"
        and sub.current_period_end is not None
        and sub.current_period_start is not None
        and tb.current_period_end is not None
        and sub.current_period_end > tb.current_period_end
    ):
        # Stripe renews: its period is the one we count usage in.
        tb.current_period_start, tb.current_period_end = (
            sub.current_period_start,
            sub.current_period_end,
        )
    tb.updated_at = now
    session.add(tb)
    session.flush()
    engine.apply_tenant_status(session, tenant_id=tid, now=now)
    return "subscription_synced"
