"""The tenant's side of platform billing: its plan, usage, card and invoices, for its
admins (``Permission.BILLING_MANAGE``).

Each service checks the actor in the tenant's session first; the billing tables
are platform tables that row-level security hides from a tenant's transaction,
so they are then read (or, through ``engine``, written) in a platform session,
always filtered by the actor's tenant: another tenant's invoice id is the same
``NotFound`` as a missing one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from prm_saas.accounts.auth import staff_principal
from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.models import AccountStatus, StaffMember
from prm_saas.audit.services import record
from prm_saas.billing import engine, gateway
from prm_saas.billing.models import BillingInvoice, TenantBilling
from prm_saas.i18n import translate
from prm_saas.platform.billing import valid_id
from prm_saas.platform.models import Plan
from prm_saas.settings import get_settings
from tenants.db import TenantSession, platform_session
from tenants.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from tenants.models import Tenant
from tenants.types import utcnow

CARD_LINK_TTL = timedelta(minutes=30)


def _admin(session: TenantSession, actor: Principal) -> int:
    require_staff(session, actor, Permission.BILLING_MANAGE)
    tid = session.tenant_id
    if tid is None:
        raise NotFound()
    return tid


# --- views ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanInfo:
    """A plan as the tenant sees it."""

    id: int
    code: str
    name_zh: str
    name_en: str
    monthly_fen: int
    max_staff: int | None
    max_locations: int | None
    max_active_patients: int | None
    messages_included: int
    message_overage_fen: int
    messages_cap: int | None


def _plan_info(p: Plan, monthly_fen: int | None = None) -> PlanInfo:
    assert p.id is not None
    return PlanInfo(
        id=p.id,
        code=p.code,
        name_zh=p.name_zh,
        name_en=p.name_en,
        monthly_fen=p.monthly_fen if monthly_fen is None else monthly_fen,
        max_staff=p.max_staff,
        max_locations=p.max_locations,
        max_active_patients=p.max_active_patients,
        messages_included=p.messages_included,
        message_overage_fen=p.message_overage_fen,
        messages_cap=p.messages_cap,
    )


@dataclass(frozen=True)
class CardInfo:
    """The card on file (empty strings: none)."""

    brand: str
    last4: str
    exp: str


@dataclass(frozen=True)
class UsageInfo:
    """What the tenant uses now against its plan (None limits: unlimited)."""

    staff: int
    locations: int
    active_patients: int
    messages: int


@dataclass(frozen=True)
class BillingOverview:
    """The tenant's billing page, top part."""

    status: str
    plan: PlanInfo | None
    trial_ends_at: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    past_due_since: datetime | None
    suspended_until_paid: bool
    grace_ends_at: datetime | None
    card: CardInfo | None
    usage: UsageInfo
    overage_messages: int
    next_invoice_fen: int  # the plan's price plus the messages beyond it so far
    has_stripe_account: bool


def billing_overview(
    *, session: TenantSession, actor: Principal, now: datetime | None = None
) -> BillingOverview:
    """Plan, status, trial end, period, usage against limits, card, and an estimate
    of the next invoice."""
    from prm_saas.billing import limits

    tid = _admin(session, actor)
    at = now or utcnow()
    u = limits.usage(session, tenant_id=tid, now=at)
    with platform_session() as ps:
        tenant = ps.get(Tenant, tid)
        tb = engine.account(ps, tid)
        sub = engine.open_subscription(ps, tid)
        plan = ps.get(Plan, sub.plan_id) if sub is not None else None
        info = _plan_info(plan, sub.monthly_fen) if plan is not None and sub is not None else None
    over = max(0, u.messages - info.messages_included) if info is not None else 0
    next_fen = (info.monthly_fen + over * info.message_overage_fen) if info is not None else 0
    grace = timedelta(days=get_settings().billing_grace_days)
    card = (
        CardInfo(brand=tb.card_brand, last4=tb.card_last4, exp=tb.card_exp)
        if tb is not None and tb.card_last4
        else None
    )
    return BillingOverview(
        status=str(tenant.status) if tenant is not None else "",
        plan=info,
        trial_ends_at=tb.trial_ends_at if tb is not None else None,
        period_start=tb.current_period_start if tb is not None else None,
        period_end=tb.current_period_end if tb is not None else None,
        past_due_since=tb.past_due_since if tb is not None else None,
        suspended_until_paid=bool(tb is not None and tb.suspension == "billing"),
        grace_ends_at=(tb.past_due_since + grace) if tb and tb.past_due_since else None,
        card=card,
        usage=UsageInfo(
            staff=u.staff,
            locations=u.locations,
            active_patients=u.active_patients,
            messages=u.messages,
        ),
        overage_messages=over,
        next_invoice_fen=next_fen,
        has_stripe_account=bool(tb is not None and tb.stripe_subscription_id),
    )


def available_plans(*, session: TenantSession, actor: Principal) -> list[PlanInfo]:
    """The plans on sale, in catalog order (what the tenant can change to)."""
    _admin(session, actor)
    with platform_session() as ps:
        rows = ps.exec(
            select(Plan)
            .where(col(Plan.active).is_(True))
            .order_by(col(Plan.sort_order), col(Plan.monthly_fen), col(Plan.id))
        ).all()
        return [_plan_info(p) for p in rows]


# --- invoices -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceLineRow:
    """One line of an invoice."""

    description: str
    amount_fen: int
    quantity: int
    kind: str


@dataclass(frozen=True)
class InvoiceRow:
    """An invoice in the tenant's list."""

    id: int
    number: str
    status: str
    billing_reason: str
    total_fen: int
    amount_due_fen: int
    amount_paid_fen: int
    period_start: datetime | None
    period_end: datetime | None
    created: datetime
    paid_at: datetime | None
    lines: tuple[InvoiceLineRow, ...]


def _lines(text: str) -> tuple[InvoiceLineRow, ...]:
    try:
        raw = json.loads(text or "[]")
    except ValueError:
        return ()
    if not isinstance(raw, list):
        return ()
    return tuple(
        InvoiceLineRow(
            description=str(x.get("description", "")),
            amount_fen=int(x.get("amount_fen", 0)),
            quantity=int(x.get("quantity", 1)),
            kind=str(x.get("kind", "")),
        )
        for x in raw
        if isinstance(x, dict)
    )


def _invoice_row(r: BillingInvoice) -> InvoiceRow:
    assert r.id is not None
    return InvoiceRow(
        id=r.id,
        # Stripe numbers finalized invoices; without one (localstripe never does) the
        # invoice id is what the clinic can quote to support.
        number=r.number or r.stripe_invoice_id,
        status=r.status,
        billing_reason=r.billing_reason,
        total_fen=r.total_fen,
        amount_due_fen=r.amount_due_fen,
        amount_paid_fen=r.amount_paid_fen,
        period_start=r.period_start,
        period_end=r.period_end,
        created=r.stripe_created,
        paid_at=r.paid_at,
        lines=_lines(r.lines_json),
    )


def list_invoices(*, session: TenantSession, actor: Principal) -> list[InvoiceRow]:
    """The tenant's invoices, newest first."""
    tid = _admin(session, actor)
    with platform_session() as ps:
        rows = ps.exec(
            select(BillingInvoice)
            .where(BillingInvoice.subject_tenant_id == tid)
            .order_by(col(BillingInvoice.stripe_created).desc(), col(BillingInvoice.id).desc())
        ).all()
        return [_invoice_row(r) for r in rows]


def invoice(*, session: TenantSession, actor: Principal, invoice_id: int) -> InvoiceRow:
    """One of the tenant's invoices (another tenant's id: ``NotFound``, as a missing one)."""
    tid = _admin(session, actor)
    if not valid_id(invoice_id):
        raise NotFound()
    with platform_session() as ps:
        row = ps.exec(
            select(BillingInvoice).where(
                BillingInvoice.id == invoice_id, BillingInvoice.subject_tenant_id == tid
            )
        ).one_or_none()
        if row is None:
            raise NotFound()
        return _invoice_row(row)


# --- plan changes ------------------------------------------------------------------------------


class DowngradeOverLimit(FieldErrors):
    """A downgrade below current usage: one entry per resource over the new plan's
    limit (``billing.over.<resource>`` with ``used`` and ``limit``)."""

    key = "billing.downgrade_over_limit"


@dataclass(frozen=True)
class PlanChangePreview:
    """What a plan change would do, before it is done."""

    from_plan: PlanInfo
    to_plan: PlanInfo
    upgrade: bool
    in_trial: bool
    credit_fen: int
    charge_fen: int
    net_fen: int  # > 0 charged now, < 0 credited on the next invoice
    period_end: datetime | None
    overages: tuple[str, ...]  # what is over the new plan's limits (blocks a downgrade)
    card_required: bool


def _over_text(session: TenantSession, tid: int, plan: Plan, locale: str) -> tuple[str, ...]:
    from prm_saas.billing import limits

    return tuple(
        translate(f"billing.over.{o.resource}", locale, used=o.used, limit=o.limit)
        for o in limits.check_fits(session, tenant_id=tid, plan=plan)
    )


def _target_plan(ps: TenantSession, plan_id: object) -> Plan:
    if not valid_id(plan_id):
        raise FieldErrors.single("plan_id", "billing.plan_invalid")
    plan = ps.get(Plan, plan_id)
    if plan is None:
        raise FieldErrors.single("plan_id", "billing.plan_invalid")
    if not plan.active:
        raise FieldErrors.single("plan_id", "billing.plan_inactive")
    return plan


def preview_plan_change(
    *, session: TenantSession, actor: Principal, plan_id: int, now: datetime | None = None
) -> PlanChangePreview:
    """The proration of a change to ``plan_id`` now, and what would block it."""
    tid = _admin(session, actor)
    at = now or utcnow()
    with platform_session() as ps:
        plan = _target_plan(ps, plan_id)
        tb = engine.account(ps, tid)
        sub = engine.open_subscription(ps, tid)
        old = ps.get(Plan, sub.plan_id) if sub is not None else None
        if tb is None or sub is None or old is None:
            raise DomainError("billing.no_account")
        if old.id == plan.id:
            raise FieldErrors.single("plan_id", "billing.same_plan", plan=plan.code)
        trial = engine.in_trial(tb)
        credit = charge = 0
        if not trial and tb.current_period_start and tb.current_period_end:
            credit, charge = engine.proration(
                old_fen=sub.monthly_fen,
                new_fen=plan.monthly_fen,
                start=tb.current_period_start,
                end=tb.current_period_end,
                now=at,
            )
        has_card = bool(tb.payment_method_id)
        period_end = tb.current_period_end
        from_info, to_info = _plan_info(old, sub.monthly_fen), _plan_info(plan)
    upgrade = to_info.monthly_fen > from_info.monthly_fen
    overages = () if upgrade else _over_text(session, tid, plan, actor.locale or "zh-CN")
    net = charge - credit
    return PlanChangePreview(
        from_plan=from_info,
        to_plan=to_info,
        upgrade=upgrade,
        in_trial=trial,
        credit_fen=credit,
        charge_fen=charge,
        net_fen=net,
        period_end=period_end,
        overages=overages,
        card_required=net > 0 and not has_card,
    )


def change_plan(
    *,
    session: TenantSession,
    actor: Principal,
    plan_id: int,
    ip: str = "",
    now: datetime | None = None,
) -> engine.PlanChange:
    """Change the tenant's plan (``engine.change_plan``: free in a trial, an upgrade paid
    at once, a downgrade credited). A downgrade below current usage is refused with
    what is over (``billing.downgrade_over_limit``). Audited in the tenant's log and
    the platform's."""
    tid = _admin(session, actor)
    at = now or utcnow()
    with platform_session() as ps:
        plan = _target_plan(ps, plan_id)
        sub = engine.open_subscription(ps, tid)
        if sub is None:
            raise DomainError("billing.no_account")
        if sub.plan_id == plan.id:
            raise FieldErrors.single("plan_id", "billing.same_plan", plan=plan.code)
        downgrade = plan.monthly_fen <= sub.monthly_fen
    if downgrade:
        from prm_saas.billing import limits

        over = limits.check_fits(session, tenant_id=tid, plan=plan)
        if over:
            raise DowngradeOverLimit(
                {
                    str(o.resource): (
                        f"billing.over.{o.resource}",
                        {"used": o.used, "limit": o.limit},
                    )
                    for o in over
                }
            )
    assert plan.id is not None
    done = engine.change_plan(tenant_id=tid, plan_id=plan.id, actor=actor, now=at, ip=ip)
    record(
        session,
        actor=actor,
        action="billing.plan_changed",
        target_type="plan",
        target_id=plan.id,
        ip=ip,
        details={
            "from_plan_id": done.from_plan_id,
            "to": plan.code,
            "net_fen": done.net_fen,
            "in_trial": done.in_trial,
        },
    )
    return done


# --- the card page ---------------------------------------------------------------------------


def _sign(payload: str) -> str:
    # The construction of the other signed links (pay page, unsubscribe), with its own
    # purpose string so no other token passes for this one.
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"billing-card:{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def card_token(tenant_id: int, staff_id: int, expires: datetime) -> str:
    """A signed token naming (tenant, staff member) until ``expires``."""
    payload = f"{tenant_id}.{staff_id}.{int(expires.timestamp())}"
    return f"{payload}.{_sign(payload)}"


def read_card_token(token: str, *, now: datetime | None = None) -> tuple[int, int] | None:
    """(tenant, staff) of a valid, unexpired token, else None."""
    parts = (token or "").split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        return None
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(_sign(payload), parts[3]):
        return None
    if int(parts[2]) <= int((now or utcnow()).timestamp()):
        return None
    return int(parts[0]), int(parts[1])


def card_page_url(*, session: TenantSession, actor: Principal, now: datetime | None = None) -> str:
    """The card update page for this admin, valid for 30 minutes."""
    tid = _admin(session, actor)
    token = card_token(tid, actor.id, (now or utcnow()) + CARD_LINK_TTL)
    return f"{get_settings().public_url}/api/billing/card/{token}"


def card_actor(session: TenantSession, staff_id: int) -> Principal:
    """The admin a card token names, still allowed to manage billing in the session's
    tenant (NotFound otherwise: a removed or demoted admin's link stops working)."""
    member = session.get(StaffMember, staff_id) if valid_id(staff_id) else None
    if member is None or member.status != AccountStatus.ACTIVE:
        raise NotFound()
    actor = staff_principal(member)
    try:
        _admin(session, actor)
    except PermissionDenied:
        raise NotFound() from None
    return actor


@dataclass(frozen=True)
class CardPage:
    """What the card page shows."""

    tenant_name: str
    locale: str
    card: CardInfo | None
    unpaid_count: int
    unpaid_fen: int


def card_page(*, session: TenantSession, actor: Principal) -> CardPage:
    """The card on file and what is left to pay."""
    tid = _admin(session, actor)
    with platform_session() as ps:
        tenant = ps.get(Tenant, tid)
        tb = ps.exec(
            select(TenantBilling).where(TenantBilling.subject_tenant_id == tid)
        ).one_or_none()
        unpaid = ps.exec(
            select(BillingInvoice.amount_due_fen).where(
                BillingInvoice.subject_tenant_id == tid,
                col(BillingInvoice.status).in_(engine.UNPAID),
                col(BillingInvoice.amount_due_fen) > 0,
            )
        ).all()
    card = (
        CardInfo(brand=tb.card_brand, last4=tb.card_last4, exp=tb.card_exp)
        if tb is not None and tb.card_last4
        else None
    )
    return CardPage(
        tenant_name=tenant.name if tenant is not None else "",
        locale=actor.locale or (str(tenant.default_locale) if tenant else "zh-CN"),
        card=card,
        unpaid_count=len(unpaid),
        unpaid_fen=sum(unpaid),
    )


def save_card(
    *,
    session: TenantSession,
    actor: Principal,
    card_token: str,
    ip: str = "",
    now: datetime | None = None,
) -> engine.CardSaved:
    """Save the card of a Stripe.js token as the tenant's card and pay what is unpaid
    (``engine.save_card``). A declined card: ``billing.card_declined``, nothing changed."""
    tid = _admin(session, actor)
    if (
        not isinstance(card_token, str)
        or not card_token.startswith("tok_")
        or len(card_token) > 100
    ):
        raise gateway.CardDeclined("billing.card_invalid")
    saved = engine.save_card(
        tenant_id=tid, card_token=card_token, actor=actor, now=now or utcnow(), ip=ip
    )
    record(
        session,
        actor=actor,
        action="billing.card_updated",
        target_type="tenant",
        target_id=tid,
        ip=ip,
        details={"last4": saved.last4, "paid": saved.paid, "unpaid": saved.unpaid},
    )
    return saved
