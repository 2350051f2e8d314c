"""The billing engine: tenants' Stripe accounts, the monthly cycle, plan changes,
cards, and the one function that turns billing facts into a tenant's status.

Platform level: every function here works in platform sessions (the billing
tables are platform tables). The tenant-facing checks (actor, permission,
input) are in ``prm_saas.billing.services``; the webhooks in
``prm_saas.billing.webhooks``.

Locking: every change of one tenant's billing (the cycle's period, a plan
change, a card, a webhook) first locks that tenant's ``tenant_billing`` row
(``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so two
cycles, or a cycle and a plan change, run one after the other and the second
sees what the first did. The cycle's and a plan change's Stripe calls run under
that lock (a few calls, each a find-or-create, see ``gateway``): localstripe
ignores idempotency keys, so the lock is what keeps one period from being billed
twice; the unique ``billing_usage_period`` row and the keys sent to Stripe are
the second and third guard. What can run outside the lock does: the message
count of a period, attaching a card, and the webhooks' re-reads from Stripe.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select

from prm_saas.accounts.authz import Principal
from prm_saas.audit.services import record_platform
from prm_saas.billing import gateway
from prm_saas.billing.models import BillingInvoice, BillingUsagePeriod, Suspension, TenantBilling
from prm_saas.booking.schedule import write_lock
from prm_saas.i18n import translate
from prm_saas.platform.billing import switch_plan
from prm_saas.platform.models import Plan, TenantSubscription
from prm_saas.settings import get_settings
from tenants.db import TenantSession, on_commit, platform_session, tenant_session
from tenants.errors import DomainError, FieldErrors, NotFound
from tenants.models import Tenant, TenantStatus
from tenants.resolution import invalidate_tenant_cache
from tenants.types import utcnow

log = logging.getLogger(__name__)

UNPAID = ("open", "draft")
# A cycle catches up at most this many periods of one account per run (beat down
# for a year is the next run's work).
MAX_PERIODS_PER_RUN = 12
# A run stops starting accounts after this long (the task's soft limit is 300 s);
# the next run, 10 minutes later, takes the rest.
CYCLE_BUDGET_S = 240.0
# Stripe must not invoice a subscription we create: its trial ends at least this far
# ahead (our beat ends the trial and bills).
MIN_TRIAL_AHEAD = timedelta(minutes=10)


# --- reading and locking ---------------------------------------------------------------


def account(session: TenantSession, tenant_id: int) -> TenantBilling | None:
    """The tenant's billing account (no lock)."""
    return session.exec(
        select(TenantBilling).where(TenantBilling.subject_tenant_id == tenant_id)
    ).one_or_none()


def lock_account(session: TenantSession, tenant_id: int) -> TenantBilling | None:
    """The tenant's billing account, locked for the rest of the transaction and
    re-read (the newest committed state)."""
    write_lock(session)  # SQLite: BEGIN IMMEDIATE (one writer at a time)
    return session.exec(
        select(TenantBilling)
        .where(TenantBilling.subject_tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def open_subscription(session: TenantSession, tenant_id: int) -> TenantSubscription | None:
    """The tenant's current row of the plan history."""
    return session.exec(
        select(TenantSubscription).where(
            TenantSubscription.subject_tenant_id == tenant_id,
            col(TenantSubscription.ended_at).is_(None),
        )
    ).one_or_none()


def in_trial(tb: TenantBilling) -> bool:
    """Whether the account's current period is (the end of) its trial."""
    if tb.trial_ends_at is None:
        return False
    return tb.current_period_end is None or tb.current_period_end <= tb.trial_ends_at


def _locale(session: TenantSession, tenant_id: int) -> str:
    tenant = session.get(Tenant, tenant_id)
    return str(tenant.default_locale) if tenant is not None else "zh-CN"


# --- sign-up: the account, then its Stripe side -------------------------------------------


def open_account(
    session: TenantSession, *, tenant_id: int, plan_id: int, billing_email: str, now: datetime
) -> None:
    """The billing account of a new tenant, in the sign-up transaction (a platform
    session, before it moves into the tenant): the trial (``plan.trial_days``; the
    first period is the trial) and the first row of the plan history. No Stripe call:
    the caller runs ``ensure_stripe_account`` after the commit."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound()
    if not plan.active:
        raise FieldErrors.single("plan_id", "subscription.plan_inactive")
    trial_end = now + timedelta(days=max(0, plan.trial_days))
    session.add(
        TenantBilling(
            subject_tenant_id=tenant_id,
            billing_email=(billing_email or "")[:254],
            trial_ends_at=trial_end,
            current_period_start=now,
            current_period_end=trial_end,
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    switch_plan(session, tenant_id=tenant_id, plan=plan, at=now, reason="signup")


def account_key(tb: TenantBilling) -> str:
    """What tells this billing account apart from another with the same tenant id (a
    rebuilt database): the instant it was opened, in microseconds."""
    return str(int(tb.created_at.timestamp() * 1_000_000))


def _trial_end_for_stripe(tb: TenantBilling, now: datetime) -> datetime:
    target = tb.trial_ends_at if in_trial(tb) else tb.current_period_end
    return max(target or now, now + MIN_TRIAL_AHEAD)


def ensure_stripe_account(tenant_id: int, *, now: datetime | None = None) -> bool:
    """The tenant's Stripe customer (metadata tenant_id), the Stripe Plan of its plan's
    price and its subscription (trialing until the trial's end), whatever is missing.
    Idempotent and safe to run concurrently (under the account's lock; the customer is
    committed before the subscription is made). False when Stripe is not configured
    or cannot be reached, or there is no account: the beat's cycle retries."""
    at = now or utcnow()
    try:
        with platform_session() as s:
            tb = lock_account(s, tenant_id)
            tenant = s.get(Tenant, tenant_id)
            if tb is None or tenant is None:
                return False
            if not tb.stripe_customer_id:
                tb.stripe_customer_id = gateway.find_or_create_customer(
                    tenant_id=tenant_id,
                    account_key=account_key(tb),
                    email=tb.billing_email,
                    name=tenant.name,
                )
                tb.updated_at = at
                s.add(tb)
        with platform_session() as s:
            tb = lock_account(s, tenant_id)
            if tb is None:
                return False
            if tb.stripe_subscription_id:
                return True
            sub_row = open_subscription(s, tenant_id)
            plan = s.get(Plan, sub_row.plan_id) if sub_row is not None else None
            if sub_row is None or plan is None:
                return False
            stripe_plan = _ensure_plan(s, plan, sub_row.monthly_fen)
            sub = gateway.find_or_create_subscription(
                customer_id=tb.stripe_customer_id,
                plan_id=stripe_plan,
                trial_end=_trial_end_for_stripe(tb, at),
                tenant_id=tenant_id,
                account_key=account_key(tb),
            )
            tb.stripe_subscription_id, tb.stripe_plan_id = sub.id, stripe_plan
            tb.updated_at = at
            s.add(tb)
            record_platform(
                s,
                actor=None,
                actor_label="billing",
                action="billing.stripe_account_opened",
                target_type="tenant",
                target_id=tenant_id,
                subject_tenant_id=tenant_id,
                details={"customer": tb.stripe_customer_id, "subscription": sub.id},
            )
        return True
    except gateway.PaymentGatewayError as exc:
        log.warning("stripe account of tenant %s not ready: %s", tenant_id, exc)
        return False


def _ensure_plan(session: TenantSession, plan: Plan, monthly_fen: int) -> str:
    stripe_plan = gateway.ensure_plan(
        code=plan.code, name=f"{plan.name_zh} / {plan.name_en}", monthly_fen=monthly_fen
    )
    if monthly_fen == plan.monthly_fen and plan.stripe_plan_id != stripe_plan:
        plan.stripe_plan_id = stripe_plan
        session.add(plan)
    return stripe_plan


# --- the mirror of Stripe's invoices -------------------------------------------------------


def _lines_json(inv: gateway.InvoiceView) -> str:
    lines = list(inv.lines)
    if any(ln.kind == gateway.OFFSET_KIND for ln in lines):
        # localstripe's plan line on an invoice of items only, and the item that
        # offsets it (gateway docstring): neither was billed.
        lines = [ln for ln in lines if ln.kind not in (gateway.OFFSET_KIND, "subscription")]
    out = [
        {
            "description": ln.description,
            "amount_fen": ln.amount_fen,
            "quantity": ln.quantity,
            "kind": ln.kind,
        }
        for ln in lines
    ]
    text = json.dumps(out, ensure_ascii=False)
    return text if len(text) <= 20000 else json.dumps(out[:50], ensure_ascii=False)[:20000]


def mirror_invoice(
    session: TenantSession,
    inv: gateway.InvoiceView,
    *,
    tenant_id: int,
    now: datetime,
    billing_reason: str = "",
    period: tuple[datetime, datetime] | None = None,
    _retry: bool = True,
) -> BillingInvoice:
    """Write the invoice as Stripe has it into ``billing_invoice`` (insert or update).
    The period and reason are ours when we made the invoice (localstripe's period
    never moves) and are kept once set."""
    row = session.exec(
        select(BillingInvoice).where(BillingInvoice.stripe_invoice_id == inv.id)
    ).one_or_none()
    if row is not None and row.subject_tenant_id != tenant_id:
        raise DomainError("billing.invoice_mismatch")
    if row is None:
        row = BillingInvoice(
            stripe_invoice_id=inv.id,
            subject_tenant_id=tenant_id,
            stripe_created=inv.created,
            period_start=period[0] if period else inv.period_start,
            period_end=period[1] if period else inv.period_end,
            billing_reason=billing_reason,
        )
    elif billing_reason and not row.billing_reason:
        row.billing_reason = billing_reason
    row.number = inv.number[:60]
    row.status = inv.status[:20]
    row.currency = inv.currency[:3]
    row.subtotal_fen = inv.subtotal
    row.total_fen = inv.total
    row.amount_due_fen = inv.amount_due
    row.amount_paid_fen = inv.amount_paid
    row.paid_at = inv.paid_at if inv.status == "paid" else None
    if inv.status == "paid" and row.paid_at is None:
        row.paid_at = now
    row.lines_json = _lines_json(inv)
    row.updated_at = now
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        if not _retry:
            raise
        # Mirrored by a concurrent webhook meanwhile: update that row instead.
        return mirror_invoice(
            session,
            inv,
            tenant_id=tenant_id,
            now=now,
            billing_reason=billing_reason,
            period=period,
            _retry=False,
        )
    return row


def unpaid_invoices(session: TenantSession, tenant_id: int) -> int:
    """How many of the tenant's mirrored invoices are still to be paid."""
    return int(
        session.exec(
            select(func.count())
            .select_from(BillingInvoice)
            .where(
                BillingInvoice.subject_tenant_id == tenant_id,
                col(BillingInvoice.status).in_(UNPAID),
                col(BillingInvoice.amount_due_fen) > 0,
            )
        ).one()
    )


# --- the status machine ----------------------------------------------------------------------


def apply_tenant_status(
    session: TenantSession, *, tenant_id: int, now: datetime, reason: str = ""
) -> str:
    """Recompute the tenant's status from its billing facts and write it (audited,
    the tenant cache dropped after the commit) if it changed; returns the status.

    - an operator's suspension stays (``suspended``);
    - dunning (``past_due_since``) ends when no invoice is left unpaid; while it
      lasts the tenant is ``past_due``, and ``suspended`` (suspension ``billing``)
      once it has lasted the grace days (setting ``billing_grace_days``);
    - otherwise ``trial`` while the current period is the trial, else ``active``.

    Used by the webhooks, the cycle, a card update and the console's resume. The
    caller holds the account's lock (or is the only writer of it)."""
    tenant = session.get(Tenant, tenant_id)
    tb = account(session, tenant_id)
    if tenant is None:
        raise NotFound()
    if tb is None:
        return str(tenant.status)
    if tb.past_due_since is not None and unpaid_invoices(session, tenant_id) == 0:
        tb.past_due_since = None
        if tb.suspension == Suspension.BILLING:
            tb.suspension, tb.suspension_reason = Suspension.NONE, ""
        reason = reason or "paid"
    grace = timedelta(days=get_settings().billing_grace_days)
    if tb.suspension == Suspension.MANUAL:
        status = TenantStatus.SUSPENDED
    elif tb.past_due_since is not None:
        if tb.suspension == Suspension.BILLING or now - tb.past_due_since >= grace:
            if tb.suspension != Suspension.BILLING:
                tb.suspension = Suspension.BILLING
                tb.suspension_reason = "grace_ended"
                reason = reason or "grace_ended"
            status = TenantStatus.SUSPENDED
        else:
            status = TenantStatus.PAST_DUE
    elif in_trial(tb):
        status = TenantStatus.TRIAL
    else:
        status = TenantStatus.ACTIVE
    tb.updated_at = now
    session.add(tb)
    old = str(tenant.status)
    if old != status:
        tenant.status = status
        tenant.updated_at = now
        session.add(tenant)
        record_platform(
            session,
            actor=None,
            actor_label="billing",
            action="tenant.status_changed",
            target_type="tenant",
            target_id=tenant_id,
            subject_tenant_id=tenant_id,
            details={"from": old, "to": str(status), "reason": reason},
        )
        on_commit(session, invalidate_tenant_cache)
    session.flush()
    return str(status)


def start_dunning(tb: TenantBilling, now: datetime) -> None:
    """An invoice could not be paid: the tenant is past due from now (if not already)."""
    if tb.past_due_since is None:
        tb.past_due_since = now


# --- the cycle ----------------------------------------------------------------------------------


@dataclass
class CycleReport:
    """What one run of the cycle did."""

    retried: int = 0  # accounts whose Stripe side was (re)tried
    periods: int = 0  # periods closed (usage reported, invoice made)
    invoices_paid: int = 0
    invoices_unpaid: int = 0
    suspended: int = 0
    failed: list[int] = field(default_factory=list)  # tenants whose renewal failed

    def as_dict(self) -> dict[str, object]:
        """For the task's log line."""
        return {
            "retried": self.retried,
            "periods": self.periods,
            "paid": self.invoices_paid,
            "unpaid": self.invoices_unpaid,
            "suspended": self.suspended,
            "failed": self.failed,
        }


def _period_label(start: datetime, end: datetime) -> str:
    return f"{gateway.when(start)} – {gateway.when(end)}"


def _usage_row(
    session: TenantSession,
    tb: TenantBilling,
    plan: Plan,
    messages: int,
    *,
    free: bool,
    now: datetime,
) -> BillingUsagePeriod:
    """The period's usage row (made once: the unique (tenant, period start))."""
    assert tb.current_period_start is not None
    assert tb.current_period_end is not None
    assert plan.id is not None
    q = select(BillingUsagePeriod).where(
        BillingUsagePeriod.subject_tenant_id == tb.subject_tenant_id,
        BillingUsagePeriod.period_start == tb.current_period_start,
    )
    row = session.exec(q).one_or_none()
    if row is not None:
        return row
    over = max(0, messages - plan.messages_included)
    row = BillingUsagePeriod(
        subject_tenant_id=tb.subject_tenant_id,
        period_start=tb.current_period_start,
        period_end=tb.current_period_end,
        plan_id=plan.id,
        messages=messages,
        messages_included=plan.messages_included,
        overage_messages=over,
        overage_fen=0 if free else over * plan.message_overage_fen,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        existing = session.exec(q).one()
        return existing
    return row


def _count_messages(tenant_id: int, start: datetime, end: datetime) -> int:
    from prm_saas.billing import limits

    with tenant_session(tenant_id) as ts:
        return limits.messages_in_period(ts, tenant_id=tenant_id, start=start, end=end)


def _sync_subscription_plan(
    session: TenantSession, tb: TenantBilling, plan: Plan, fen: int
) -> None:
    """Keep the Stripe subscription on the plan and price the tenant is on (an
    operator's change in the console takes effect at the next renewal)."""
    stripe_plan = _ensure_plan(session, plan, fen)
    if stripe_plan != tb.stripe_plan_id:
        gateway.change_subscription_plan(
            subscription_id=tb.stripe_subscription_id, plan_id=stripe_plan
        )
        tb.stripe_plan_id = stripe_plan


def close_period(tenant_id: int, *, now: datetime, report: CycleReport | None = None) -> bool:
    """Close the account's current period if it has ended: report its usage, end a
    trial, bill and charge the next period (platform renewals), advance the period by
    a month and set the status. One transaction under the account's lock; False when
    there was nothing to do (not due, done by a concurrent cycle, manual suspension,
    no Stripe account yet)."""
    rep = report or CycleReport()
    with platform_session() as s:
        tb = account(s, tenant_id)
        if tb is None or tb.current_period_end is None or tb.current_period_start is None:
            return False
        if tb.current_period_end > now:
            return False
        start, end = tb.current_period_start, tb.current_period_end
    messages = _count_messages(tenant_id, start, end)

    with platform_session() as s:
        tb = lock_account(s, tenant_id)
        if tb is None or tb.current_period_start != start or tb.current_period_end != end:
            return False  # a concurrent cycle closed it
        if tb.suspension == Suspension.MANUAL:
            return False
        if not tb.stripe_customer_id or not tb.stripe_subscription_id:
            return False
        sub_row = open_subscription(s, tenant_id)
        plan = s.get(Plan, sub_row.plan_id) if sub_row is not None else None
        if sub_row is None or plan is None:
            log.warning("tenant %s has a billing account but no plan", tenant_id)
            return False
        locale = _locale(s, tenant_id)
        trial = in_trial(tb)
        next_end = end + relativedelta(months=1)
        usage = _usage_row(s, tb, plan, messages, free=trial, now=now)
        if usage.overage_fen > 0 and not usage.stripe_invoice_item_id:
            usage.stripe_invoice_item_id = gateway.add_invoice_item(
                customer_id=tb.stripe_customer_id,
                subscription_id=tb.stripe_subscription_id,
                amount_fen=usage.overage_fen,
                description=translate(
                    "billing.line.usage",
                    locale,
                    count=usage.overage_messages,
                    period=_period_label(start, end),
                ),
                kind="usage",
                key=f"usage-{tenant_id}-{int(start.timestamp())}",
            )
            s.add(usage)
        reason = ""
        renew = get_settings().billing_renewals == "platform"
        if tb.suspension == Suspension.BILLING:
            renew = False  # no new bills while locked out; paying the old ones lifts it
        elif trial:
            if tb.payment_method_id:
                gateway.end_trial(tb.stripe_subscription_id)
            else:
                reason = "trial_no_card"
        if renew:
            _sync_subscription_plan(s, tb, plan, sub_row.monthly_fen)
            inv = gateway.create_invoice(
                customer_id=tb.stripe_customer_id,
                subscription_id=tb.stripe_subscription_id,
                description=translate(
                    "billing.line.period",
                    locale,
                    plan=plan.name_zh if locale == "zh-CN" else plan.name_en,
                    period=_period_label(end, next_end),
                ),
            )
            if inv.unpaid and tb.payment_method_id:
                inv = gateway.pay_invoice(inv.id)
            mirror_invoice(
                s,
                inv,
                tenant_id=tenant_id,
                now=now,
                billing_reason="trial_end" if trial else "renewal",
                period=(end, next_end),
            )
            if inv.unpaid:
                rep.invoices_unpaid += 1
                reason = reason or "payment_failed"
                start_dunning(tb, now)
            else:
                rep.invoices_paid += 1
        elif reason:
            start_dunning(tb, now)
        tb.current_period_start, tb.current_period_end = end, next_end
        tb.updated_at = now
        s.add(tb)
        s.flush()
        apply_tenant_status(s, tenant_id=tenant_id, now=now, reason=reason)
        rep.periods += 1
        return True


def _due_tenants(now: datetime) -> list[int]:
    with platform_session() as s:
        rows = s.exec(
            select(TenantBilling.subject_tenant_id)
            .where(
                col(TenantBilling.current_period_end) <= now,
                TenantBilling.suspension != Suspension.MANUAL,
                TenantBilling.stripe_subscription_id != "",
            )
            .order_by(col(TenantBilling.subject_tenant_id))
        ).all()
    return list(rows)


def run_cycle(*, now: datetime | None = None) -> CycleReport:
    """One run of the beat's ``billing.cycle``: retry accounts without a Stripe side,
    close every ended period (catching up at most ``MAX_PERIODS_PER_RUN`` each), then
    move the tenants past due beyond the grace period to suspended. Each account in
    transactions of its own: one tenant's failure does not hold up the others."""
    at = now or utcnow()
    rep = CycleReport()
    deadline = time.monotonic() + CYCLE_BUDGET_S
    with platform_session() as s:
        missing = s.exec(
            select(TenantBilling.subject_tenant_id).where(
                (TenantBilling.stripe_customer_id == "")
                | (TenantBilling.stripe_subscription_id == "")
            )
        ).all()
    for tid in missing:
        if time.monotonic() > deadline:
            break
        rep.retried += 1
        ensure_stripe_account(tid, now=at)
    for tid in _due_tenants(at):
        if time.monotonic() > deadline:
            break
        try:
            for _ in range(MAX_PERIODS_PER_RUN):
                if not close_period(tid, now=at, report=rep):
                    break
        except Exception:
            log.exception("billing period of tenant %s failed", tid)
            rep.failed.append(tid)
    with platform_session() as s:
        dunning = s.exec(
            select(TenantBilling.subject_tenant_id).where(
                col(TenantBilling.past_due_since).is_not(None),
                TenantBilling.suspension == Suspension.NONE,
            )
        ).all()
    for tid in dunning:
        with platform_session() as s:
            if lock_account(s, tid) is None:
                continue
            if apply_tenant_status(s, tenant_id=tid, now=at) == TenantStatus.SUSPENDED:
                rep.suspended += 1
    return rep


# --- plan changes -------------------------------------------------------------------------------


def proration(
    *, old_fen: int, new_fen: int, start: datetime, end: datetime, now: datetime
) -> tuple[int, int]:
    """(credit for the old plan's unused time, charge for the new plan's) for a change
    at ``now`` in the period [start, end): ``round(fen × r)`` with r the part of the
    period left."""
    total = (end - start).total_seconds()
    left = min(max((end - now).total_seconds(), 0.0), total)
    r = left / total if total > 0 else 0.0
    return round(old_fen * r), round(new_fen * r)


@dataclass(frozen=True)
class PlanChange:
    """A plan change done: the amounts and the invoice paid for it (if any)."""

    from_plan_id: int
    to_plan_id: int
    credit_fen: int
    charge_fen: int
    net_fen: int  # > 0 paid now; < 0 credited on the next invoice; 0 in a trial
    in_trial: bool
    invoice_id: int | None


def change_plan(
    *, tenant_id: int, plan_id: int, actor: Principal, now: datetime, ip: str = ""
) -> PlanChange:
    """Move the tenant to ``plan_id`` with our proration (docs/design/billing.md): free
    in a trial; an upgrade's difference invoiced and paid at once (a refused charge
    changes nothing: the invoice is voided); a downgrade's credit left pending for the
    next invoice. The plan history gets its next row; audited on the platform. The
    caller (``services.change_plan``) checked the actor, the plan and the limits."""
    with platform_session() as s:
        tb = lock_account(s, tenant_id)
        if tb is None or tb.current_period_start is None or tb.current_period_end is None:
            raise DomainError("billing.no_account")
        plan = s.get(Plan, plan_id)
        if plan is None:
            raise NotFound()
        if not plan.active:
            raise FieldErrors.single("plan_id", "billing.plan_inactive")
        current = open_subscription(s, tenant_id)
        if current is None:
            raise DomainError("billing.no_account")
        old = s.get(Plan, current.plan_id)
        assert old is not None
        assert old.id is not None
        assert plan.id is not None
        if old.id == plan.id:
            raise FieldErrors.single("plan_id", "billing.same_plan", plan=plan.code)
        trial = in_trial(tb)
        credit, charge = proration(
            old_fen=current.monthly_fen,
            new_fen=plan.monthly_fen,
            start=tb.current_period_start,
            end=tb.current_period_end,
            now=now,
        )
        if trial:
            credit = charge = 0
        net = charge - credit
        stripe_ready = bool(tb.stripe_customer_id and tb.stripe_subscription_id)
        if net != 0 and not stripe_ready:
            raise DomainError("billing.stripe_unavailable")
        if net > 0 and not tb.payment_method_id:
            raise DomainError("billing.card_required")
        locale = _locale(s, tenant_id)
        invoice_row: BillingInvoice | None = None
        if net != 0:
            names = (
                (old.name_zh, plan.name_zh) if locale == "zh-CN" else (old.name_en, plan.name_en)
            )
            label = translate("billing.line.proration", locale, old=names[0], new=names[1])
            item = gateway.add_invoice_item(
                customer_id=tb.stripe_customer_id,
                subscription_id=tb.stripe_subscription_id,
                amount_fen=net,
                description=label,
                kind="proration",
                key=f"plan-{tenant_id}-{current.id}",
            )
            if net > 0:
                inv = gateway.create_invoice(
                    customer_id=tb.stripe_customer_id,
                    subscription_id=tb.stripe_subscription_id,
                    description=f"{label} #{current.id}",
                    items_only=True,
                    plan_fen=_stripe_plan_fen(tb, current),
                )
                if inv.unpaid:
                    inv = gateway.pay_invoice(inv.id)
                if inv.unpaid:
                    gateway.void_invoice(inv.id)
                    gateway.delete_invoice_item(item)
                    raise DomainError("billing.payment_failed")
                invoice_row = mirror_invoice(
                    s, inv, tenant_id=tenant_id, now=now, billing_reason="plan_change"
                )
        if stripe_ready:
            stripe_plan = _ensure_plan(s, plan, plan.monthly_fen)
            gateway.change_subscription_plan(
                subscription_id=tb.stripe_subscription_id, plan_id=stripe_plan
            )
            tb.stripe_plan_id = stripe_plan
        switch_plan(
            s,
            tenant_id=tenant_id,
            plan=plan,
            at=now,
            reason=f"{old.code} -> {plan.code} (tenant admin)",
        )
        tb.updated_at = now
        s.add(tb)
        record_platform(
            s,
            actor=actor,
            action="billing.plan_changed",
            target_type="tenant",
            target_id=tenant_id,
            ip=ip,
            subject_tenant_id=tenant_id,
            details={
                "from": old.code,
                "to": plan.code,
                "credit_fen": credit,
                "charge_fen": charge,
                "in_trial": trial,
            },
        )
        return PlanChange(
            from_plan_id=old.id,
            to_plan_id=plan.id,
            credit_fen=credit,
            charge_fen=charge,
            net_fen=net,
            in_trial=trial,
            invoice_id=invoice_row.id if invoice_row is not None else None,
        )


def _stripe_plan_fen(tb: TenantBilling, current: TenantSubscription) -> int:
    # The deterministic id ends "-<fen>-cny-month" (gateway.stripe_plan_id).
    parts = tb.stripe_plan_id.split("-")
    if len(parts) >= 4 and parts[-3].isdigit():
        return int(parts[-3])
    return current.monthly_fen


# --- the card on file -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CardSaved:
    """A card update: the card, the invoices it paid and those still unpaid."""

    brand: str
    last4: str
    exp: str
    paid: int
    unpaid: int
    status: str


def save_card(
    *, tenant_id: int, card_token: str, actor: Principal, now: datetime, ip: str = ""
) -> CardSaved:
    """Make the card of a Stripe.js token the tenant's card for its invoices, then pay
    every invoice left unpaid (past due or suspended for billing → active). A declined
    card raises ``gateway.CardDeclined`` (``billing.card_declined``) and changes
    nothing. The card is attached outside the lock; its record and the payments under it."""
    if not ensure_stripe_account(tenant_id, now=now):
        raise DomainError("billing.stripe_unavailable")
    with platform_session() as s:
        tb = account(s, tenant_id)
        customer = tb.stripe_customer_id if tb is not None else ""
    if not customer:
        raise DomainError("billing.stripe_unavailable")
    card = gateway.attach_card(customer_id=customer, card_token=card_token)
    with platform_session() as s:
        tb = lock_account(s, tenant_id)
        assert tb is not None
        tb.payment_method_id, tb.card_brand = card.id, card.brand
        tb.card_last4, tb.card_exp = card.last4, card.exp
        tb.updated_at = now
        s.add(tb)
        paid, unpaid = pay_unpaid(s, tb, now=now)
        status = apply_tenant_status(s, tenant_id=tenant_id, now=now, reason="card_updated")
        record_platform(
            s,
            actor=actor,
            action="billing.card_updated",
            target_type="tenant",
            target_id=tenant_id,
            ip=ip,
            subject_tenant_id=tenant_id,
            details={"brand": card.brand, "last4": card.last4, "paid": paid, "unpaid": unpaid},
        )
    return CardSaved(
        brand=card.brand, last4=card.last4, exp=card.exp, paid=paid, unpaid=unpaid, status=status
    )


def pay_unpaid(session: TenantSession, tb: TenantBilling, *, now: datetime) -> tuple[int, int]:
    """Charge every unpaid invoice of the account at Stripe to its card and mirror the
    outcome; (paid, still unpaid). The caller holds the account's lock."""
    paid = unpaid = 0
    for inv in gateway.list_invoices(tb.stripe_customer_id):
        if not inv.unpaid:
            continue
        after = gateway.pay_invoice(inv.id)
        mirror_invoice(session, after, tenant_id=tb.subject_tenant_id, now=now)
        if after.unpaid:
            unpaid += 1
        else:
            paid += 1
    return paid, unpaid
