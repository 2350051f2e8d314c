"""The platform console's services: every tenant with its plan, status, MRR,
usage and last invoice; suspending and resuming a tenant by hand.

Operators only. The rows are read with one query per column family (tenants,
open subscriptions, billing accounts, last invoices, usage), never one per
tenant. Usage comes from ``tenant_usage_day`` (written after each tenant's
nightly roll-up): at the platform level a tenant's own tables cannot be read
(row-level security), so the console shows usage as of the last roll-up.

MRR is the monthly price of the open subscription, the platform dashboard's
definition (``platform.kpis``), so the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import col, func, select

from prm_saas.accounts.authz import Principal, require_operator
from prm_saas.audit.services import record_platform
from prm_saas.billing.models import BillingInvoice, Suspension, TenantBilling
from prm_saas.platform.billing import locked_tenant, required_reason
from prm_saas.platform.models import Plan, TenantSubscription, TenantUsageDay
from tenants.db import TenantSession, on_commit
from tenants.errors import DomainError
from tenants.models import Tenant, TenantStatus
from tenants.resolution import invalidate_tenant_cache
from tenants.types import utcnow


@dataclass(frozen=True)
class ConsoleRow:
    """One tenant on the console."""

    id: int
    slug: str
    name: str
    kind: str
    status: str
    suspension: str  # "", "billing", "manual"
    suspension_reason: str
    plan_code: str  # "" without a plan
    plan_name_zh: str
    plan_name_en: str
    mrr_fen: int
    trial_ends_at: datetime | None
    past_due_since: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    card_last4: str
    patients: int  # at the last roll-up
    messages_in_period: int  # sent in the current period, up to the last roll-up
    messages_included: int
    messages_cap: int | None
    last_invoice_number: str
    last_invoice_status: str
    last_invoice_total_fen: int
    last_invoice_at: datetime | None
    created_at: datetime


def _tenants(session: TenantSession, query: str) -> list[Tenant]:
    q = select(Tenant).order_by(col(Tenant.created_at).desc(), col(Tenant.id).desc())
    text = query.strip() if isinstance(query, str) else ""
    if text:
        q = q.where(
            col(Tenant.name).icontains(text, autoescape=True)
            | col(Tenant.slug).icontains(text, autoescape=True)
        )
    return list(session.exec(q))


def _last_invoices(session: TenantSession, ids: list[int]) -> dict[int, BillingInvoice]:
    ranked = (
        select(
            col(BillingInvoice.id).label("id"),
            func.row_number()
            .over(
                partition_by=col(BillingInvoice.subject_tenant_id),
                order_by=(col(BillingInvoice.stripe_created).desc(), col(BillingInvoice.id).desc()),
            )
            .label("rn"),
        )
        .where(col(BillingInvoice.subject_tenant_id).in_(ids))
        .subquery()
    )
    rows = session.exec(
        select(BillingInvoice).join(
            ranked, sa.and_(ranked.c.id == col(BillingInvoice.id), ranked.c.rn == 1)
        )
    ).all()
    return {inv.subject_tenant_id: inv for inv in rows}


def _usage(
    session: TenantSession, ids: list[int], billing: dict[int, TenantBilling], today: date
) -> tuple[dict[int, int], dict[int, int]]:
    """Patients at the last roll-up and messages in the current period, per tenant."""
    starts = {
        tid: b.current_period_start.date()
        for tid, b in billing.items()
        if b.current_period_start is not None
    }
    latest = (
        select(
            col(TenantUsageDay.subject_tenant_id).label("tid"),
            func.max(col(TenantUsageDay.day)).label("day"),
        )
        .where(col(TenantUsageDay.subject_tenant_id).in_(ids))
        .group_by(col(TenantUsageDay.subject_tenant_id))
        .subquery()
    )
    patients = {
        int(tid): int(n)
        for tid, n in session.exec(
            select(TenantUsageDay.subject_tenant_id, TenantUsageDay.patients).join(
                latest,
                sa.and_(
                    latest.c.tid == col(TenantUsageDay.subject_tenant_id),
                    latest.c.day == col(TenantUsageDay.day),
                ),
            )
        ).all()
    }
    messages: dict[int, int] = {}
    if starts:
        first = min(starts.values())
        for tid, day, n in session.exec(
            select(
                col(TenantUsageDay.subject_tenant_id),
                col(TenantUsageDay.day),
                col(TenantUsageDay.messages),
            ).where(
                col(TenantUsageDay.subject_tenant_id).in_(list(starts)),
                col(TenantUsageDay.day) >= first,
                col(TenantUsageDay.day) <= today,
            )
        ).all():
            if day >= starts[tid]:
                messages[tid] = messages.get(tid, 0) + int(n)
    return patients, messages


def _in_trial(b: TenantBilling | None, now: datetime) -> bool:
    return b is not None and b.trial_ends_at is not None and b.trial_ends_at > now


def tenant_rows(*, session: TenantSession, actor: Principal, query: str = "") -> list[ConsoleRow]:
    """Every tenant (newest first, optionally filtered by name or slug) with its
    plan, status, MRR, usage and last invoice. A tenant in its trial pays nothing
    yet: its MRR is 0 until the trial ends (as on the platform dashboard)."""
    require_operator(actor)
    now = utcnow()
    tenants = _tenants(session, query)
    ids = [int(t.id or 0) for t in tenants]
    if not ids:
        return []
    plans = {
        sub.subject_tenant_id: (sub, plan)
        for sub, plan in session.exec(
            select(TenantSubscription, Plan)
            .join(Plan, col(Plan.id) == col(TenantSubscription.plan_id))
            .where(
                col(TenantSubscription.ended_at).is_(None),
                col(TenantSubscription.subject_tenant_id).in_(ids),
            )
        ).all()
    }
    billing = {
        b.subject_tenant_id: b
        for b in session.exec(
            select(TenantBilling).where(col(TenantBilling.subject_tenant_id).in_(ids))
        ).all()
    }
    invoices = _last_invoices(session, ids)
    patients, messages = _usage(session, ids, billing, utcnow().date())
    out = []
    for t in tenants:
        assert t.id is not None
        sub_plan = plans.get(t.id)
        sub, plan = sub_plan if sub_plan else (None, None)
        b = billing.get(t.id)
        inv = invoices.get(t.id)
        out.append(
            ConsoleRow(
                id=t.id,
                slug=t.slug,
                name=t.name,
                kind=str(t.kind),
                status=str(t.status),
                suspension=b.suspension if b else "",
                suspension_reason=b.suspension_reason if b else "",
                plan_code=plan.code if plan else "",
                plan_name_zh=plan.name_zh if plan else "",
                plan_name_en=plan.name_en if plan else "",
                mrr_fen=sub.monthly_fen if sub and not _in_trial(b, now) else 0,
                trial_ends_at=b.trial_ends_at if b else None,
                past_due_since=b.past_due_since if b else None,
                period_start=b.current_period_start if b else None,
                period_end=b.current_period_end if b else None,
                card_last4=b.card_last4 if b else "",
                patients=patients.get(t.id, 0),
                messages_in_period=messages.get(t.id, 0),
                messages_included=plan.messages_included if plan else 0,
                messages_cap=plan.messages_cap if plan else None,
                last_invoice_number=inv.number if inv else "",
                last_invoice_status=inv.status if inv else "",
                last_invoice_total_fen=inv.total_fen if inv else 0,
                last_invoice_at=inv.stripe_created if inv else None,
                created_at=t.created_at,
            )
        )
    return out


def _locked(session: TenantSession, tenant_id: object) -> tuple[Tenant, TenantBilling | None]:
    tenant = locked_tenant(session, tenant_id)
    billing = session.exec(
        select(TenantBilling).where(TenantBilling.subject_tenant_id == tenant_id).with_for_update()
    ).one_or_none()
    return tenant, billing


def suspend_tenant(
    *,
    session: TenantSession,
    actor: Principal,
    tenant_id: int,
    reason: str,
    ip: str = "",
    now: datetime | None = None,
) -> ConsoleRow:
    """Suspend a tenant by hand (read-only for its staff; patients still read).

    Only an operator lifts it (``resume_tenant``): a payment does not. A tenant
    suspended for billing becomes suspended by hand. A tenant without a billing
    account (created before billing) gets one to hold the suspension.
    """
    require_operator(actor)
    clean = required_reason(reason)
    tenant, billing = _locked(session, tenant_id)
    assert tenant.id is not None
    if billing is not None and billing.suspension == Suspension.MANUAL:
        raise DomainError("console.already_suspended")
    at = now or utcnow()
    if billing is None:
        billing = TenantBilling(subject_tenant_id=tenant.id, created_at=at)
    before = str(tenant.status)
    billing.suspension, billing.suspension_reason, billing.updated_at = (
        Suspension.MANUAL,
        clean,
        at,
    )
    tenant.status, tenant.updated_at = TenantStatus.SUSPENDED, at
    session.add(billing)
    session.add(tenant)
    session.flush()
    record_platform(
        session,
        actor=actor,
        action="tenant.suspended",
        target_type="tenant",
        target_id=tenant.id,
        ip=ip,
        subject_tenant_id=tenant.id,
        details={"from": before, "reason": clean},
    )
    on_commit(session, invalidate_tenant_cache)
    return _one(session, actor, tenant.id)


def resume_tenant(
    *,
    session: TenantSession,
    actor: Principal,
    tenant_id: int,
    reason: str,
    ip: str = "",
    now: datetime | None = None,
) -> ConsoleRow:
    """Lift an operator's suspension: the tenant's status is recomputed from its
    billing facts (trial, active or past due; still suspended if its bills are
    unpaid past the grace period)."""
    require_operator(actor)
    clean = required_reason(reason)
    tenant, billing = _locked(session, tenant_id)
    assert tenant.id is not None
    if billing is None or billing.suspension != Suspension.MANUAL:
        raise DomainError("console.not_suspended")
    at = now or utcnow()
    billing.suspension, billing.suspension_reason, billing.updated_at = Suspension.NONE, "", at
    session.add(billing)
    session.flush()
    from prm_saas.billing import engine

    engine.apply_tenant_status(session, tenant_id=tenant.id, now=at)
    session.flush()
    session.refresh(tenant)
    record_platform(
        session,
        actor=actor,
        action="tenant.resumed",
        target_type="tenant",
        target_id=tenant.id,
        ip=ip,
        subject_tenant_id=tenant.id,
        details={"to": str(tenant.status), "reason": clean},
    )
    on_commit(session, invalidate_tenant_cache)
    return _one(session, actor, tenant.id)


def _one(session: TenantSession, actor: Principal, tenant_id: int) -> ConsoleRow:
    tenant = session.get(Tenant, tenant_id)
    assert tenant is not None
    return next(
        r for r in tenant_rows(session=session, actor=actor, query=tenant.slug) if r.id == tenant_id
    )
