"""Onboarding tenants and managing their lifecycle; for platform operators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from prm_saas.accounts.authz import Principal, require_operator
from prm_saas.accounts.credentials import hash_password
from prm_saas.accounts.models import AccountStatus, Operator, StaffMember, StaffRole
from prm_saas.accounts.staff import create_invitation
from prm_saas.audit.services import record, record_platform
from prm_saas.validation import Checker, normalize_email
from tenants.db import TenantSession, bind_tenant, on_commit
from tenants.errors import FieldErrors, NotFound
from tenants.models import Locale, Tenant, TenantKind, TenantStatus
from tenants.resolution import invalidate_tenant_cache
from tenants.types import utcnow


@dataclass(frozen=True)
class TenantRow:
    """A tenant in the operator's console."""

    id: int
    slug: str
    name: str
    kind: str
    status: str
    timezone: str
    default_locale: str
    created_at: datetime


def _row(t: Tenant) -> TenantRow:
    assert t.id is not None
    return TenantRow(
        id=t.id,
        slug=t.slug,
        name=t.name,
        kind=str(t.kind),
        status=str(t.status),
        timezone=t.timezone,
        default_locale=str(t.default_locale),
        created_at=t.created_at,
    )


def list_tenants(*, session: TenantSession, actor: Principal, query: str = "") -> list[TenantRow]:
    """All tenants, newest first, optionally filtered by name or slug."""
    require_operator(actor)
    q = select(Tenant).order_by(col(Tenant.created_at).desc(), col(Tenant.id).desc())
    text = query.strip()
    if text:
        # autoescape: "%" and "_" typed into the search box are plain characters.
        q = q.where(
            col(Tenant.name).icontains(text, autoescape=True)
            | col(Tenant.slug).icontains(text, autoescape=True)
        )
    return [_row(t) for t in session.exec(q)]


@dataclass(frozen=True)
class Onboarded:
    """A new tenant and its first admin."""

    tenant: TenantRow
    admin_id: int
    admin_invited: bool


def onboard_tenant(
    *,
    session: TenantSession,
    actor: Principal,
    slug: str,
    name: str,
    kind: str,
    timezone: str = "Asia/Shanghai",
    default_locale: str = "zh-CN",
    admin_email: str,
    admin_name: str,
    admin_password: str = "",
    ip: str = "",
) -> Onboarded:
    """Create a tenant and its first admin in one transaction.

    With a password the admin can sign in at once; without one the admin gets
    an invitation email. ``session`` must be a platform session opened with
    ``allow_tenant_switch=True``.
    """
    require_operator(actor)
    c = Checker()
    clean_slug = c.slug("slug", slug)
    clean_name = c.text("name", name, max_len=120)
    clean_kind = c.choice("kind", kind, [k.value for k in TenantKind])
    clean_tz = c.timezone("timezone", timezone)
    clean_locale = c.locale("default_locale", default_locale)
    clean_email = c.email("admin_email", admin_email)
    clean_admin = c.text("admin_name", admin_name, max_len=80)
    if admin_password:
        c.password("admin_password", admin_password, personal=(clean_email,))
    if clean_slug and session.exec(select(Tenant.id).where(Tenant.slug == clean_slug)).first():
        c.fail("slug", "field.slug_taken")
    c.raise_if_any()
    assert clean_email is not None

    now = utcnow()
    tenant = Tenant(
        slug=clean_slug,
        name=clean_name,
        kind=TenantKind(clean_kind),
        timezone=clean_tz,
        default_locale=Locale(clean_locale),
        status=TenantStatus.TRIAL,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(tenant)
            session.flush()
    except IntegrityError:
        raise FieldErrors.single("slug", "field.slug_taken") from None
    assert tenant.id is not None
    record_platform(
        session,
        actor=actor,
        action="tenant.created",
        target_type="tenant",
        target_id=tenant.id,
        ip=ip,
        subject_tenant_id=tenant.id,
        details={"slug": clean_slug, "admin": clean_email},
    )

    bind_tenant(session, tenant.id)
    if admin_password:
        admin = StaffMember(
            email=clean_email,
            name=clean_admin,
            role=StaffRole.TENANT_ADMIN,
            status=AccountStatus.ACTIVE,
            password_hash=hash_password(admin_password),
            created_at=now,
            updated_at=now,
        )
        session.add(admin)
        session.flush()
    else:
        admin = create_invitation(
            session,
            email=clean_email,
            name=clean_admin,
            role=StaffRole.TENANT_ADMIN,
            inviter=actor.name,
        )
    assert admin.id is not None
    record(
        session,
        actor=None,
        actor_label=f"operator:{actor.label}",
        action="tenant.created",
        target_type="tenant",
        target_id=tenant.id,
        ip=ip,
        details={"admin": clean_email, "by_operator": actor.id},
    )
    on_commit(session, invalidate_tenant_cache)
    return Onboarded(tenant=_row(tenant), admin_id=admin.id, admin_invited=not admin_password)


def set_tenant_status(
    *, session: TenantSession, actor: Principal, tenant_id: int, status: str, ip: str = ""
) -> TenantRow:
    """Move a tenant to trial / active / past_due / suspended."""
    require_operator(actor)
    c = Checker()
    new_status = c.choice("status", status, [s.value for s in TenantStatus])
    c.raise_if_any()
    # bool is an int too: a client sending `true` must not reach tenant 1.
    valid_id = isinstance(tenant_id, int) and not isinstance(tenant_id, bool)
    tenant = session.get(Tenant, tenant_id) if valid_id else None
    if tenant is None:
        raise NotFound()
    old = str(tenant.status)
    if old != new_status:
        tenant.status = TenantStatus(new_status)
        tenant.updated_at = utcnow()
        session.add(tenant)
        record_platform(
            session,
            actor=actor,
            action="tenant.status_changed",
            target_type="tenant",
            target_id=tenant.id,
            ip=ip,
            subject_tenant_id=tenant.id,
            details={"from": old, "to": new_status},
        )
        on_commit(session, invalidate_tenant_cache)
    return _row(tenant)


def create_operator(*, session: TenantSession, email: str, name: str, password: str) -> int:
    """Create a platform operator (used by the CLI and the demo loader)."""
    c = Checker()
    clean_email = c.email("email", email)
    clean_name = c.text("name", name, max_len=80)
    c.password("password", password, personal=(clean_email,))
    if (
        clean_email
        and session.exec(
            select(Operator.id).where(Operator.email == normalize_email(clean_email))
        ).first()
    ):
        c.fail("email", "field.email_taken")
    c.raise_if_any()
    assert clean_email is not None
    op = Operator(email=clean_email, name=clean_name, password_hash=hash_password(password))
    session.add(op)
    session.flush()
    assert op.id is not None
    record_platform(
        session,
        actor=None,
        actor_label="cli",
        action="operator.created",
        target_type="operator",
        target_id=op.id,
    )
    return op.id
