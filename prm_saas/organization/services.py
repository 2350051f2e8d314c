"""Tenant settings, edited by the tenant's admins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.credentials import decrypt_secret, encrypt_secret
from prm_saas.accounts.models import TenantSsoConfig
from prm_saas.audit.services import record
from prm_saas.validation import Checker
from tenants.db import TenantSession, on_commit
from tenants.errors import TenantReadOnly
from tenants.models import Locale, Tenant
from tenants.resolution import invalidate_tenant_cache
from tenants.types import utcnow


@dataclass(frozen=True)
class TenantSettingsView:
    """Everything the settings page shows. The SSO secret is never included."""

    slug: str
    kind: str
    status: str
    name: str
    logo_url: str
    primary_color: str
    timezone: str
    default_locale: str
    sso_enabled: bool
    sso_issuer: str
    sso_client_id: str
    sso_has_secret: bool


def _tenant(session: TenantSession) -> Tenant:
    t = session.get(Tenant, session.tenant_id)
    assert t is not None
    return t


def _writable_tenant(session: TenantSession) -> Tenant:
    # The tenant row is platform data, so the session factory's read-only check
    # (which covers tenant-owned rows) does not guard it: a suspended tenant
    # could otherwise still rename and rebrand itself.
    t = _tenant(session)
    if t.read_only:
        raise TenantReadOnly()
    return t


def sso_config(session: TenantSession) -> TenantSsoConfig | None:
    """The tenant's SSO settings row, if any."""
    return session.exec(select(TenantSsoConfig)).first()


def get_tenant_settings(*, session: TenantSession, actor: Principal) -> TenantSettingsView:
    """The settings of the actor's tenant."""
    require_staff(session, actor, Permission.SETTINGS_MANAGE)
    t = _tenant(session)
    sso = sso_config(session)
    return TenantSettingsView(
        slug=t.slug,
        kind=str(t.kind),
        status=str(t.status),
        name=t.name,
        logo_url=t.logo_url,
        primary_color=t.primary_color,
        timezone=t.timezone,
        default_locale=str(t.default_locale),
        sso_enabled=bool(sso and sso.enabled),
        sso_issuer=sso.issuer if sso else "",
        sso_client_id=sso.client_id if sso else "",
        sso_has_secret=bool(sso and sso.client_secret_enc),
    )


def _apply(
    session: TenantSession,
    actor: Principal,
    obj: Any,
    changes: dict[str, Any],
    action: str,
    ip: str,
    secret_fields: frozenset[str] = frozenset(),
) -> None:
    diff = {}
    for k, v in changes.items():
        old = getattr(obj, k)
        if old != v:
            diff[k] = {
                "from": "***" if k in secret_fields else old,
                "to": "***" if k in secret_fields else v,
            }
            setattr(obj, k, v)
    if not diff:
        return
    obj.updated_at = utcnow()
    session.add(obj)
    record(
        session,
        actor=actor,
        action=action,
        target_type="tenant",
        target_id=session.tenant_id,
        ip=ip,
        details=diff,
    )
    on_commit(session, invalidate_tenant_cache)


def update_branding(
    *,
    session: TenantSession,
    actor: Principal,
    name: str,
    logo_url: str,
    primary_color: str,
    ip: str = "",
) -> None:
    """Change the tenant's display name, logo and primary color."""
    require_staff(session, actor, Permission.SETTINGS_MANAGE)
    tenant = _writable_tenant(session)
    c = Checker()
    clean = {
        "name": c.text("name", name, max_len=120),
        "logo_url": c.url("logo_url", logo_url, required=False),
        "primary_color": c.color("primary_color", primary_color),
    }
    c.raise_if_any()
    _apply(session, actor, tenant, clean, "tenant.branding_changed", ip)


def update_regional(
    *,
    session: TenantSession,
    actor: Principal,
    timezone: str,
    default_locale: str,
    ip: str = "",
) -> None:
    """Change the tenant's time zone and default language."""
    require_staff(session, actor, Permission.SETTINGS_MANAGE)
    tenant = _writable_tenant(session)
    c = Checker()
    clean = {
        "timezone": c.timezone("timezone", timezone),
        "default_locale": c.locale("default_locale", default_locale),
    }
    c.raise_if_any()
    clean["default_locale"] = Locale(clean["default_locale"])
    _apply(session, actor, tenant, clean, "tenant.regional_changed", ip)


def update_sso(
    *,
    session: TenantSession,
    actor: Principal,
    enabled: bool,
    issuer: str,
    client_id: str,
    client_secret: str = "",
    ip: str = "",
) -> None:
    """Set the tenant's OpenID Connect provider. An empty secret keeps the stored one."""
    require_staff(session, actor, Permission.SETTINGS_MANAGE)
    _writable_tenant(session)
    c = Checker()
    required = bool(enabled)
    clean_issuer = c.url("sso_issuer", issuer, required=required, allow_http_localhost=True)
    clean_client = c.text("sso_client_id", client_id, max_len=255, required=required)
    row = sso_config(session) or TenantSsoConfig()
    if enabled and not client_secret and not row.client_secret_enc:
        c.fail("sso_client_secret", "field.required")
    if len(client_secret) > 500:
        c.fail("sso_client_secret", "field.too_long", max=500)
    c.raise_if_any()
    changes: dict[str, Any] = {
        "enabled": bool(enabled),
        "issuer": clean_issuer.rstrip("/"),
        "client_id": clean_client,
    }
    # Encryption is randomized, so the same secret sent again (the form keeps it)
    # must be compared in clear, or every save would log a secret change.
    if client_secret and client_secret != decrypt_secret(row.client_secret_enc):
        changes["client_secret_enc"] = encrypt_secret(client_secret)
    if row.id is None:
        session.add(row)
    _apply(
        session,
        actor,
        row,
        changes,
        "tenant.sso_changed",
        ip,
        secret_fields=frozenset({"client_secret_enc"}),
    )


def sso_available(*, session: TenantSession) -> bool:
    """Whether the staff sign-in page should offer single sign-on (public information)."""
    row = sso_config(session)
    return bool(row and row.enabled and row.issuer and row.client_id)


@dataclass(frozen=True)
class TenantOverview:
    """The numbers on the admin home page."""

    patients: int
    staff_active: int
    staff_invited: int
    timezone: str


def tenant_overview(*, session: TenantSession, actor: Principal) -> TenantOverview:
    """Head counts of the actor's tenant (any staff member may see them)."""
    from sqlmodel import func

    from prm_saas.accounts.models import AccountStatus, Patient, StaffMember

    require_staff(session, actor)
    patients = session.exec(select(func.count()).select_from(Patient)).one()
    by_status = dict(
        session.exec(select(StaffMember.status, func.count()).group_by(StaffMember.status)).all()
    )
    return TenantOverview(
        patients=patients,
        staff_active=int(by_status.get(AccountStatus.ACTIVE, 0)),
        staff_invited=int(by_status.get(AccountStatus.INVITED, 0)),
        timezone=_tenant(session).timezone,
    )
