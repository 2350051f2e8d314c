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
from tenants.errors import FieldErrors
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


@dataclass(frozen=True)
class NewTenant:
    """The checked fields of a tenant about to be created and of its first admin."""

    slug: str
    name: str
    kind: str
    timezone: str
    default_locale: str
    admin_email: str
    admin_name: str
    admin_password: str


def _text(value: object) -> str:
    # Public handlers can be sent anything: a number or a list is no text.
    return value if isinstance(value, str) else ""


def check_new_tenant(
    session: TenantSession,
    c: Checker,
    *,
    slug: object,
    name: object,
    kind: object,
    timezone: object,
    default_locale: object,
    admin_email: object,
    admin_name: object,
    admin_password: object,
    password_required: bool,
    slug_taken_key: str = "field.slug_taken",
) -> NewTenant:
    """Check a new tenant's fields into ``c`` (every problem at once); the clean
    values. Shared by operator onboarding and self-serve sign-up."""
    clean_slug = c.slug("slug", _text(slug))
    clean_name = c.text("name", _text(name), max_len=120)
    clean_kind = c.choice("kind", _text(kind), [k.value for k in TenantKind])
    clean_tz = c.timezone("timezone", _text(timezone))
    clean_locale = c.locale("default_locale", _text(default_locale))
    clean_email = c.email("admin_email", _text(admin_email))
    clean_admin = c.text("admin_name", _text(admin_name), max_len=80)
    password = _text(admin_password)
    if password or password_required:
        c.password("admin_password", password, personal=(clean_email,))
    if (
        "slug" not in c.errors
        and session.exec(select(Tenant.id).where(Tenant.slug == clean_slug)).first()
    ):
        c.fail("slug", slug_taken_key, slug=clean_slug)
    return NewTenant(
        slug=clean_slug,
        name=clean_name,
        kind=clean_kind,
        timezone=clean_tz,
        default_locale=clean_locale,
        admin_email=clean_email or "",
        admin_name=clean_admin,
        admin_password=password,
    )


def insert_tenant(
    session: TenantSession,
    new: NewTenant,
    *,
    now: datetime,
    slug_taken_key: str = "field.slug_taken",
) -> Tenant:
    """Insert the tenant (in trial) at the platform level; a slug taken meanwhile
    is the same field error as one taken before."""
    tenant = Tenant(
        slug=new.slug,
        name=new.name,
        kind=TenantKind(new.kind),
        timezone=new.timezone,
        default_locale=Locale(new.default_locale),
        status=TenantStatus.TRIAL,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(tenant)
            session.flush()
    except IntegrityError:
        raise FieldErrors.single("slug", slug_taken_key, slug=new.slug) from None
    on_commit(session, invalidate_tenant_cache)
    return tenant


def insert_first_admin(
    session: TenantSession, new: NewTenant, *, tenant_id: int, now: datetime, inviter: str
) -> StaffMember:
    """Move the session into the new tenant and create its first admin: active
    with the password when there is one, else invited by email."""
    bind_tenant(session, tenant_id)
    if new.admin_password:
        admin = StaffMember(
            email=new.admin_email,
            name=new.admin_name,
            role=StaffRole.TENANT_ADMIN,
            status=AccountStatus.ACTIVE,
            password_hash=hash_password(new.admin_password),
            created_at=now,
            updated_at=now,
        )
        session.add(admin)
        session.flush()
        return admin
    return create_invitation(
        session,
        email=new.admin_email,
        name=new.admin_name,
        role=StaffRole.TENANT_ADMIN,
        inviter=inviter,
    )


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
    new = check_new_tenant(
        session,
        c,
        slug=slug,
        name=name,
        kind=kind,
        timezone=timezone,
        default_locale=default_locale,
        admin_email=admin_email,
        admin_name=admin_name,
        admin_password=admin_password,
        password_required=False,
    )
    c.raise_if_any()

    now = utcnow()
    tenant = insert_tenant(session, new, now=now)
    assert tenant.id is not None
    record_platform(
        session,
        actor=actor,
        action="tenant.created",
        target_type="tenant",
        target_id=tenant.id,
        ip=ip,
        subject_tenant_id=tenant.id,
        details={"slug": new.slug, "admin": new.admin_email},
    )
    admin = insert_first_admin(session, new, tenant_id=tenant.id, now=now, inviter=actor.name)
    assert admin.id is not None
    record(
        session,
        actor=None,
        actor_label=f"operator:{actor.label}",
        action="tenant.created",
        target_type="tenant",
        target_id=tenant.id,
        ip=ip,
        details={"admin": new.admin_email, "by_operator": actor.id},
    )
    return Onboarded(tenant=_row(tenant), admin_id=admin.id, admin_invited=not new.admin_password)


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
