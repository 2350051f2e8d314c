"""Self-serve sign-up: a clinic or health-check center creates its tenant, its
admin account and a trial on a plan, and lands in a provisioned clinic.

Public (nobody is signed in), so every field is checked here, all problems at
once, and nothing is written unless everything succeeds: the tenant, its billing
account (``engine.open_account``: the trial and the first subscription row), the
admin (active, with the password: they sign in at once) and the starting setup
(``provisioning.provision_defaults``) are one transaction. The Stripe customer
and subscription come after the commit (``sign_up_and_bill``); if Stripe is
unreachable then, the billing cycle creates them later.

Sign-ups are throttled per IP address in the login throttle table (a platform
table; one row per address and hour): at most ``MAX_PER_WINDOW`` tenants an
hour from one address. Only sign-ups that succeeded count, since a failed one
writes nothing (a typo in the slug is not abuse; creating tenants in bulk is).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlmodel import select

from prm_saas.accounts.auth import locked_throttle_row, staff_principal
from prm_saas.accounts.models import LoginThrottle
from prm_saas.audit.services import record, record_platform
from prm_saas.billing.provisioning import provision_defaults
from prm_saas.platform.billing import valid_id
from prm_saas.platform.models import Plan
from prm_saas.platform.services import check_new_tenant, insert_first_admin, insert_tenant
from prm_saas.validation import Checker, strip_controls
from tenants.db import TenantSession, platform_session
from tenants.errors import CrossTenantWrite, DomainError
from tenants.types import utcnow

log = logging.getLogger(__name__)

MAX_PER_WINDOW = 5
WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class SignUpResult:
    """A new tenant in trial, its signed-up admin and what it was given."""

    tenant_id: int
    slug: str
    admin_id: int
    admin_email: str
    plan_id: int
    plan_code: str
    trial_ends_at: datetime
    location_id: int
    package_ids: list[int]
    stripe_ready: bool = False  # set by sign_up_and_bill once Stripe has the customer


def _throttle_key(ip: str) -> str:
    return f"signup:{strip_controls(ip or '').strip()[:64] or '-'}"


def _throttled_minutes(session: TenantSession, key: str, now: datetime) -> int:
    row = session.exec(select(LoginThrottle).where(LoginThrottle.key == key)).first()
    if row is None or now - row.last_failure_at >= WINDOW or row.failures < MAX_PER_WINDOW:
        return 0
    left = row.last_failure_at + WINDOW - now
    return max(1, int(left.total_seconds() // 60) + 1)


def _count_sign_up(session: TenantSession, key: str, now: datetime) -> None:
    """One more sign-up from this address in its window (the row's
    ``last_failure_at`` is the window's start, ``failures`` the sign-ups in it)."""
    row = locked_throttle_row(session, key, now)
    if now - row.last_failure_at >= WINDOW:
        row.failures, row.last_failure_at = 0, now
    row.failures += 1
    session.add(row)


def _plan(session: TenantSession, c: Checker, plan_id: object) -> Plan | None:
    plan = session.get(Plan, plan_id) if valid_id(plan_id) else None
    if plan is None or not plan.active:
        c.fail("plan_id", "signup.plan_unavailable")
        return None
    return plan


def sign_up(
    *,
    session: TenantSession,
    name: str,
    slug: str,
    kind: str,
    admin_email: str,
    admin_name: str,
    admin_password: str,
    plan_id: int,
    locale: str,
    timezone: str = "Asia/Shanghai",
    ip: str = "",
    now: datetime | None = None,
) -> SignUpResult:
    """Create a tenant in trial on ``plan_id`` with its admin and starting setup.

    ``session`` is a platform session opened with ``allow_tenant_switch=True``;
    the caller commits (and then runs ``engine.ensure_stripe_account``; see
    ``sign_up_and_bill``). Bad input raises FieldErrors naming every field;
    too many sign-ups from ``ip`` raise ``signup.throttled``.
    """
    if session.tenant_id is not None:
        raise CrossTenantWrite("sign-up runs in a platform session")
    at = now or utcnow()
    key = _throttle_key(ip)
    minutes = _throttled_minutes(session, key, at)
    if minutes:
        raise DomainError("signup.throttled", minutes=minutes)
    c = Checker()
    new = check_new_tenant(
        session,
        c,
        slug=slug,
        name=name,
        kind=kind,
        timezone=timezone,
        default_locale=locale,
        admin_email=admin_email,
        admin_name=admin_name,
        admin_password=admin_password,
        password_required=True,
        slug_taken_key="signup.slug_taken",
    )
    plan = _plan(session, c, plan_id)
    c.raise_if_any()
    assert plan is not None
    assert plan.id is not None

    # Platform rows first: once the session is in the tenant, row-level security
    # hides the platform tables from it (PostgreSQL).
    tenant = insert_tenant(session, new, now=at, slug_taken_key="signup.slug_taken")
    assert tenant.id is not None
    from prm_saas.billing import engine

    engine.open_account(
        session, tenant_id=tenant.id, plan_id=plan.id, billing_email=new.admin_email, now=at
    )
    _count_sign_up(session, key, at)
    record_platform(
        session,
        actor=None,
        actor_label=f"signup:{new.admin_email}",
        action="tenant.signed_up",
        target_type="tenant",
        target_id=tenant.id,
        ip=ip,
        subject_tenant_id=tenant.id,
        details={"slug": new.slug, "admin": new.admin_email, "plan": plan.code},
    )

    admin = insert_first_admin(session, new, tenant_id=tenant.id, now=at, inviter="")
    assert admin.id is not None
    actor = staff_principal(admin)
    record(
        session,
        actor=actor,
        action="tenant.signed_up",
        target_type="tenant",
        target_id=tenant.id,
        ip=ip,
        details={"plan": plan.code, "trial_days": plan.trial_days},
    )
    setup = provision_defaults(session, tenant, actor=actor)
    return SignUpResult(
        tenant_id=tenant.id,
        slug=new.slug,
        admin_id=admin.id,
        admin_email=new.admin_email,
        plan_id=plan.id,
        plan_code=plan.code,
        trial_ends_at=at + timedelta(days=plan.trial_days),
        location_id=setup.location_id,
        package_ids=setup.package_ids,
    )


def sign_up_and_bill(
    *,
    name: str,
    slug: str,
    kind: str,
    admin_email: str,
    admin_name: str,
    admin_password: str,
    plan_id: int,
    locale: str,
    timezone: str = "Asia/Shanghai",
    ip: str = "",
) -> SignUpResult:
    """Sign up (its own transaction, committed) and then create the Stripe customer
    and subscription. Stripe being down does not undo the sign-up: the trial runs,
    and the billing cycle retries the Stripe side."""
    with platform_session(allow_tenant_switch=True) as session:
        result = sign_up(
            session=session,
            name=name,
            slug=slug,
            kind=kind,
            admin_email=admin_email,
            admin_name=admin_name,
            admin_password=admin_password,
            plan_id=plan_id,
            locale=locale,
            timezone=timezone,
            ip=ip,
        )
    from prm_saas.billing import engine

    try:
        ready = bool(engine.ensure_stripe_account(result.tenant_id))
    except Exception:
        log.exception("Stripe account of new tenant %s; the billing cycle retries", result.slug)
        ready = False
    return replace(result, stripe_ready=ready)
