"""The plan catalog and which plan each tenant is on, for platform operators.

A tenant's subscriptions are a history: changing the plan closes the open row
and opens the next one at the same instant, ending it without a successor is a
churn. MRR and churn on the platform dashboard (``platform.kpis``) read these
rows. Issue 8 puts Stripe behind them; until then an operator sets the plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from prm_saas.accounts.authz import Principal, require_operator
from prm_saas.audit.services import record_platform
from prm_saas.mall.money import check_yuan, fen_to_yuan_text
from prm_saas.platform.models import Plan, TenantSubscription
from prm_saas.validation import Checker
from tenants.db import TenantSession
from tenants.errors import DomainError, FieldErrors, NotFound
from tenants.models import Tenant
from tenants.types import utcnow

# Lowercase letters, digits, "-" and "_", starting with a letter: codes end up in
# URLs, Stripe metadata and CSV files.
CODE_RE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
NAME_MAX = 60
REASON_MAX = 300
SORT_MAX = 9999


@dataclass(frozen=True)
class PlanRow:
    """A plan in the catalog."""

    id: int
    code: str
    name_zh: str
    name_en: str
    monthly_fen: int
    monthly_yuan: str
    active: bool
    sort_order: int
    # Limits (None = unlimited); messages per billing period.
    max_staff: int | None = None
    max_locations: int | None = None
    max_active_patients: int | None = None
    messages_included: int = 0
    message_overage_fen: int = 0
    message_overage_yuan: str = "0.00"
    messages_cap: int | None = None
    trial_days: int = 14


def _plan_row(p: Plan) -> PlanRow:
    assert p.id is not None
    return PlanRow(
        id=p.id,
        code=p.code,
        name_zh=p.name_zh,
        name_en=p.name_en,
        monthly_fen=p.monthly_fen,
        monthly_yuan=fen_to_yuan_text(p.monthly_fen),
        active=p.active,
        sort_order=p.sort_order,
        max_staff=p.max_staff,
        max_locations=p.max_locations,
        max_active_patients=p.max_active_patients,
        messages_included=p.messages_included,
        message_overage_fen=p.message_overage_fen,
        message_overage_yuan=fen_to_yuan_text(p.message_overage_fen),
        messages_cap=p.messages_cap,
        trial_days=p.trial_days,
    )


@dataclass(frozen=True)
class SubscriptionRow:
    """One stretch of a tenant on a plan."""

    id: int
    tenant_id: int
    plan_id: int
    plan_code: str
    monthly_fen: int
    started_at: datetime
    ended_at: datetime | None
    reason: str
    end_reason: str


def _sub_row(s: TenantSubscription, plan_code: str) -> SubscriptionRow:
    assert s.id is not None
    return SubscriptionRow(
        id=s.id,
        tenant_id=s.subject_tenant_id,
        plan_id=s.plan_id,
        plan_code=plan_code,
        monthly_fen=s.monthly_fen,
        started_at=s.started_at,
        ended_at=s.ended_at,
        reason=s.reason,
        end_reason=s.end_reason,
    )


@dataclass(frozen=True)
class CurrentPlan:
    """The plan a tenant is on now and what it pays a month (its MRR)."""

    tenant_id: int
    plan_id: int
    plan_code: str
    name_zh: str
    name_en: str
    monthly_fen: int
    started_at: datetime


def valid_id(value: object) -> bool:
    """Whether a client-sent id can name a row: a positive int (bool is an int
    too: a client sending `true` must not reach row 1)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# --- the catalog ---------------------------------------------------------------------


def list_plans(
    *, session: TenantSession, actor: Principal, include_inactive: bool = True
) -> list[PlanRow]:
    """The plans in catalog order (sort order, then price)."""
    require_operator(actor)
    q = select(Plan).order_by(col(Plan.sort_order), col(Plan.monthly_fen), col(Plan.id))
    if not include_inactive:
        q = q.where(col(Plan.active).is_(True))
    return [_plan_row(p) for p in session.exec(q)]


def _sort_order(c: Checker, value: object) -> int:
    if isinstance(value, bool):
        c.fail("sort_order", "plans.sort_invalid", max=SORT_MAX)
        return 0
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and value.strip() == "":
        return 0
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 6:
        n = int(value.strip())
    else:
        c.fail("sort_order", "plans.sort_invalid", max=SORT_MAX)
        return 0
    if not 0 <= n <= SORT_MAX:
        c.fail("sort_order", "plans.sort_invalid", max=SORT_MAX)
        return 0
    return n


# Largest number a limit field takes (staff, locations, patients, messages).
LIMIT_MAX = 10_000_000
TRIAL_DAYS_MAX = 90
TRIAL_DAYS_DEFAULT = 14


def _whole(value: object) -> int | None:
    """A whole number typed in a form (or given as int), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = value.strip().replace(",", "") if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return None


def _limit(c: Checker, field: str, value: object, current: int | None) -> int | None:
    """A limit: empty = unlimited (None), else a whole number 0..LIMIT_MAX.
    ``value`` None (not given) keeps ``current``."""
    if value is None:
        return current
    if isinstance(value, str) and not value.strip():
        return None
    n = _whole(value)
    if n is None or not 0 <= n <= LIMIT_MAX:
        c.fail(field, "limits.number_invalid", max=LIMIT_MAX)
        return current
    return n


def _count(c: Checker, field: str, value: object, current: int, *, empty: int, maximum: int) -> int:
    """A count that cannot be unlimited: empty = ``empty``; None keeps ``current``."""
    if value is None:
        return current
    if isinstance(value, str) and not value.strip():
        return empty
    n = _whole(value)
    if n is None or not 0 <= n <= maximum:
        c.fail(field, "limits.count_invalid", max=maximum)
        return current
    return n


_PLAN_FIELDS = (
    "code",
    "name_zh",
    "name_en",
    "monthly_fen",
    "active",
    "sort_order",
    "max_staff",
    "max_locations",
    "max_active_patients",
    "messages_included",
    "message_overage_fen",
    "messages_cap",
    "trial_days",
)


def save_plan(
    *,
    session: TenantSession,
    actor: Principal,
    plan_id: int | None = None,
    code: str,
    name_zh: str,
    name_en: str,
    monthly_yuan: str,
    active: bool = True,
    sort_order: int | str = 0,
    max_staff: int | str | None = None,
    max_locations: int | str | None = None,
    max_active_patients: int | str | None = None,
    messages_included: int | str | None = None,
    message_overage_yuan: str | None = None,
    messages_cap: int | str | None = None,
    trial_days: int | str | None = None,
    ip: str = "",
) -> PlanRow:
    """Create a plan (``plan_id`` None) or change one. Prices are typed in yuan.

    Limits: an empty field is unlimited (staff, locations, active patients, the
    message cap) or zero (messages included, overage price); the trial defaults
    to 14 days. A limit not given at all (None) keeps the plan's value. The
    overage is the price of each message beyond the included ones, in yuan
    (e.g. "0.05"). A changed price applies to subscriptions opened from now on:
    the open ones keep the price they were sold at.
    """
    require_operator(actor)
    plan: Plan | None = None
    if plan_id is not None:
        plan = session.get(Plan, plan_id) if valid_id(plan_id) else None
        if plan is None:
            raise NotFound()
    c = Checker()
    raw_code = code.strip().lower() if isinstance(code, str) else ""
    if not raw_code:
        c.fail("code", "field.required")
    elif not CODE_RE.match(raw_code):
        c.fail("code", "plans.code_invalid")
    clean_zh = c.text("name_zh", name_zh if isinstance(name_zh, str) else "", max_len=NAME_MAX)
    clean_en = c.text("name_en", name_en if isinstance(name_en, str) else "", max_len=NAME_MAX)
    fen = check_yuan(c, "monthly_yuan", monthly_yuan)
    order = _sort_order(c, sort_order)
    base = plan or Plan(code="", name_zh="", name_en="", monthly_fen=0)
    lim_staff = _limit(c, "max_staff", max_staff, base.max_staff)
    lim_locations = _limit(c, "max_locations", max_locations, base.max_locations)
    lim_patients = _limit(c, "max_active_patients", max_active_patients, base.max_active_patients)
    included = _count(
        c,
        "messages_included",
        messages_included,
        base.messages_included,
        empty=0,
        maximum=LIMIT_MAX,
    )
    overage = (
        base.message_overage_fen
        if message_overage_yuan is None
        else check_yuan(c, "message_overage_yuan", message_overage_yuan, required=False)
    )
    cap = _limit(c, "messages_cap", messages_cap, base.messages_cap)
    if cap is not None and "messages_cap" not in c.errors and cap < included:
        c.fail("messages_cap", "limits.cap_below_included")
    trial = _count(
        c,
        "trial_days",
        trial_days,
        base.trial_days,
        empty=TRIAL_DAYS_DEFAULT,
        maximum=TRIAL_DAYS_MAX,
    )
    if "code" not in c.errors:
        taken = session.exec(
            select(Plan.id).where(Plan.code == raw_code, col(Plan.id) != (plan_id or -1))
        ).first()
        if taken is not None:
            c.fail("code", "plans.code_taken")
    c.raise_if_any()

    before = None if plan is None else _plan_row(plan)
    if plan is None:
        plan = Plan(code=raw_code, name_zh=clean_zh, name_en=clean_en, monthly_fen=fen)
    plan.code, plan.name_zh, plan.name_en, plan.monthly_fen = raw_code, clean_zh, clean_en, fen
    plan.active, plan.sort_order = bool(active), order
    plan.max_staff, plan.max_locations, plan.max_active_patients = (
        lim_staff,
        lim_locations,
        lim_patients,
    )
    plan.messages_included, plan.message_overage_fen, plan.messages_cap = included, overage, cap
    plan.trial_days = trial
    try:
        with session.begin_nested():
            session.add(plan)
            session.flush()
    except IntegrityError:
        # Another operator took the code between the check and the write.
        raise FieldErrors.single("code", "plans.code_taken") from None
    row = _plan_row(plan)
    details: dict[str, object] = {"code": row.code, "monthly_fen": row.monthly_fen}
    if before is not None:
        details["changed"] = sorted(
            k for k in _PLAN_FIELDS if getattr(before, k) != getattr(row, k)
        )
    record_platform(
        session,
        actor=actor,
        action="plan.created" if before is None else "plan.updated",
        target_type="plan",
        target_id=row.id,
        ip=ip,
        details=details,
    )
    return row


# --- tenants' subscriptions ------------------------------------------------------------


def required_reason(reason: object) -> str:
    """The reason an operator gave for a change to a tenant (required, at most
    ``REASON_MAX`` characters), or FieldErrors."""
    c = Checker()
    clean = c.text("reason", reason if isinstance(reason, str) else "", max_len=REASON_MAX)
    c.raise_if_any()
    return clean


def locked_tenant(session: TenantSession, tenant_id: object) -> Tenant:
    """The tenant, its row locked for the rest of the transaction (PostgreSQL):
    two plan changes of one tenant run one after the other, so the second sees
    the row the first opened instead of opening a second one."""
    if not valid_id(tenant_id):
        raise NotFound()
    tenant = session.exec(
        select(Tenant).where(Tenant.id == tenant_id).with_for_update()
    ).one_or_none()
    if tenant is None:
        raise NotFound()
    return tenant


def _open_subscription(session: TenantSession, tenant_id: int) -> TenantSubscription | None:
    return session.exec(
        select(TenantSubscription).where(
            TenantSubscription.subject_tenant_id == tenant_id,
            col(TenantSubscription.ended_at).is_(None),
        )
    ).one_or_none()


def _plan_code(session: TenantSession, plan_id: int) -> str:
    plan = session.get(Plan, plan_id)
    return plan.code if plan is not None else ""


def switch_plan(
    session: TenantSession,
    *,
    tenant_id: int,
    plan: Plan,
    at: datetime,
    reason: str,
    operator_id: int | None = None,
) -> tuple[TenantSubscription, str]:
    """The plan history's step, for every plan change (an operator's here, a tenant
    admin's in ``prm_saas.billing``): the open subscription (if any) ends at ``at``
    and one on ``plan`` starts at the same instant, at the plan's current price.
    Returns the new row and the old plan's code ("" if there was none). The caller
    has checked the plan and holds the tenant's lock (a lost race still fails on the
    partial unique index: ``subscription.changed_meanwhile``)."""
    assert plan.id is not None
    current = _open_subscription(session, tenant_id)
    if current is not None and current.plan_id == plan.id:
        raise FieldErrors.single("plan_id", "subscription.same_plan", plan=plan.code)
    old_code = ""
    if current is not None:
        if at < current.started_at:
            raise ValueError("a plan change cannot end a subscription before it started")
        old_code = _plan_code(session, current.plan_id)
        current.ended_at = at
        current.end_reason = reason
        session.add(current)
        session.flush()  # the partial unique index: the old row is closed first
    sub = TenantSubscription(
        subject_tenant_id=tenant_id,
        plan_id=plan.id,
        monthly_fen=plan.monthly_fen,
        started_at=at,
        reason=reason,
        created_by_operator_id=operator_id,
    )
    try:
        with session.begin_nested():
            session.add(sub)
            session.flush()
    except IntegrityError:
        # Another plan change of this tenant won the race (SQLite has no row lock).
        raise DomainError("subscription.changed_meanwhile") from None
    return sub, old_code


def set_tenant_plan(
    *,
    session: TenantSession,
    actor: Principal,
    tenant_id: int,
    plan_id: int,
    reason: str,
    ip: str = "",
    now: datetime | None = None,
) -> SubscriptionRow:
    """Put a tenant on a plan: the open subscription (if any) ends now and the new
    one starts at the same instant, at the plan's current price."""
    require_operator(actor)
    clean_reason = required_reason(reason)
    tenant = locked_tenant(session, tenant_id)
    plan = session.get(Plan, plan_id) if valid_id(plan_id) else None
    if plan is None:
        raise NotFound()
    if not plan.active:
        raise FieldErrors.single("plan_id", "subscription.plan_inactive")
    assert tenant.id is not None
    sub, old_code = switch_plan(
        session,
        tenant_id=tenant.id,
        plan=plan,
        at=now or utcnow(),
        reason=clean_reason,
        operator_id=actor.id,
    )
    record_platform(
        session,
        actor=actor,
        action="tenant.plan_changed",
        target_type="tenant",
        target_id=tenant.id,
        ip=ip,
        subject_tenant_id=tenant.id,
        details={
            "from": old_code,
            "to": plan.code,
            "monthly_fen": plan.monthly_fen,
            "reason": clean_reason,
        },
    )
    return _sub_row(sub, plan.code)


def end_subscription(
    *,
    session: TenantSession,
    actor: Principal,
    tenant_id: int,
    reason: str,
    ip: str = "",
    now: datetime | None = None,
) -> SubscriptionRow:
    """The tenant stops paying (a churn): its open subscription ends now."""
    require_operator(actor)
    clean_reason = required_reason(reason)
    tenant = locked_tenant(session, tenant_id)
    assert tenant.id is not None
    current = _open_subscription(session, tenant.id)
    if current is None:
        raise DomainError("subscription.none_open")
    at = now or utcnow()
    if at < current.started_at:
        raise ValueError("a subscription cannot end before it started")
    current.ended_at = at
    current.end_reason = clean_reason
    session.add(current)
    session.flush()
    code = _plan_code(session, current.plan_id)
    record_platform(
        session,
        actor=actor,
        action="tenant.subscription_ended",
        target_type="tenant",
        target_id=tenant.id,
        ip=ip,
        subject_tenant_id=tenant.id,
        details={"plan": code, "monthly_fen": current.monthly_fen, "reason": clean_reason},
    )
    return _sub_row(current, code)


def current_plans(*, session: TenantSession, actor: Principal) -> dict[int, CurrentPlan]:
    """Each tenant's open subscription and its plan (tenants without one are absent)."""
    require_operator(actor)
    rows = session.exec(
        select(TenantSubscription, Plan)
        .join(Plan, col(Plan.id) == col(TenantSubscription.plan_id))
        .where(col(TenantSubscription.ended_at).is_(None))
    ).all()
    out: dict[int, CurrentPlan] = {}
    for sub, plan in rows:
        assert plan.id is not None
        out[sub.subject_tenant_id] = CurrentPlan(
            tenant_id=sub.subject_tenant_id,
            plan_id=plan.id,
            plan_code=plan.code,
            name_zh=plan.name_zh,
            name_en=plan.name_en,
            monthly_fen=sub.monthly_fen,
            started_at=sub.started_at,
        )
    return out


def subscription_history(
    *, session: TenantSession, actor: Principal, tenant_id: int
) -> list[SubscriptionRow]:
    """A tenant's subscriptions, newest first."""
    require_operator(actor)
    tenant = session.get(Tenant, tenant_id) if valid_id(tenant_id) else None
    if tenant is None:
        raise NotFound()
    rows = session.exec(
        select(TenantSubscription, Plan.code)
        .join(Plan, col(Plan.id) == col(TenantSubscription.plan_id))
        .where(TenantSubscription.subject_tenant_id == tenant_id)
        .order_by(col(TenantSubscription.started_at).desc(), col(TenantSubscription.id).desc())
    ).all()
    return [_sub_row(sub, code) for sub, code in rows]
