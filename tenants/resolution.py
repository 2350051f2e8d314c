"""Tenant resolution, in one place: from the host or from a /t/<slug> prefix.

Precedence: a custom domain or a <slug>.<base domain> subdomain names the
tenant; on the platform's own host a path prefix /t/<slug> does (local use).
A host tenant with a path prefix naming another tenant resolves to nothing:
one origin never serves two tenants.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlmodel import col, select

from tenants.db import platform_session
from tenants.models import Tenant, TenantDomain, TenantStatus
from tenants.settings import load_kernel_settings

SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
SLUG_MIN, SLUG_MAX = 3, 40
# Subdomains and path segments the platform keeps for itself.
RESERVED_SLUGS = frozenset(
    {
        "www",
        "api",
        "app",
        "admin",
        "platform",
        "static",
        "assets",
        "mail",
        "smtp",
        "t",
        "auth",
        "login",
        "logout",
        "register",
        "help",
        "status",
        "billing",
        "webhooks",
    }
)
_PATH_PREFIX = re.compile(r"^/t/([^/?#]+)(?:[/?#]|$)")

# Tenants change rarely; a few seconds of staleness across processes is fine and
# spares a query on every Reflex event. Changes in this process invalidate at once.
_CACHE_TTL_S = 5.0


@dataclass(frozen=True)
class TenantInfo:
    """What pages and services need to know about the resolved tenant."""

    id: int
    slug: str
    name: str
    kind: str
    timezone: str
    default_locale: str
    currency: str
    status: str
    logo_url: str
    primary_color: str

    @property
    def read_only(self) -> bool:
        """Suspended tenants can be read but not changed."""
        return self.status == TenantStatus.SUSPENDED

    @classmethod
    def of(cls, t: Tenant) -> TenantInfo:
        """Snapshot a Tenant row."""
        assert t.id is not None
        return cls(
            id=t.id,
            slug=t.slug,
            name=t.name,
            kind=str(t.kind),
            timezone=t.timezone,
            default_locale=str(t.default_locale),
            currency=t.currency,
            status=str(t.status),
            logo_url=t.logo_url,
            primary_color=t.primary_color,
        )


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving a request.

    ``requested`` is False on the platform's own host with no /t/ prefix (the
    platform pages); ``tenant`` is None when a tenant was requested but does not
    exist (the caller shows a 404 page).
    """

    requested: bool
    tenant: TenantInfo | None
    base_path: str  # "/t/<slug>" when resolved from the path, "" from the host


_cache: dict[tuple[str, str], tuple[float, TenantInfo | None]] = {}
_cache_lock = threading.Lock()


def invalidate_tenant_cache() -> None:
    """Forget cached tenants (after a tenant is created or changed)."""
    with _cache_lock:
        _cache.clear()


def _load(kind: str, key: str) -> TenantInfo | None:
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get((kind, key))
        if hit and now - hit[0] < _CACHE_TTL_S:
            return hit[1]
    with platform_session() as s:
        if kind == "slug":
            row = s.exec(select(Tenant).where(Tenant.slug == key)).first()
        else:
            row = s.exec(
                select(Tenant)
                .join(TenantDomain, col(TenantDomain.serves_tenant_id) == col(Tenant.id))
                .where(TenantDomain.host == key)
            ).first()
        info = TenantInfo.of(row) if row else None
    with _cache_lock:
        _cache[(kind, key)] = (now, info)
    return info


def tenant_by_slug(slug: str) -> TenantInfo | None:
    """The tenant with this slug, or None."""
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        return None
    return _load("slug", slug)


def tenant_by_id(tenant_id: int) -> TenantInfo | None:
    """The tenant with this id, or None (uncached: used by tasks and operators)."""
    with platform_session() as s:
        row = s.get(Tenant, tenant_id)
        return TenantInfo.of(row) if row else None


def host_slug(host: str) -> tuple[str, str] | None:
    """Which lookup a host implies: ("domain", host) / ("slug", slug) / None (platform)."""
    try:
        hostname = (urlsplit("//" + host.strip()).hostname or "").rstrip(".")
    except ValueError:
        hostname = ""
    if not hostname:
        return None
    base = load_kernel_settings().base_domain
    if hostname == base or hostname in ("127.0.0.1", "0.0.0.0", "::1"):  # noqa: S104
        return None
    if hostname.endswith("." + base):
        sub = hostname[: -len(base) - 1]
        if "." not in sub and sub not in RESERVED_SLUGS:
            return ("slug", sub)
        return ("slug", "")  # www.<base> etc.: a tenant was asked for but none fits
    return ("domain", hostname)


def resolve(*, host: str, path: str) -> Resolution:
    """Resolve the tenant of a request from its Host header and URL path."""
    m = _PATH_PREFIX.match(path or "/")
    path_slug = m.group(1).lower() if m else None
    by_host = host_slug(host)
    if by_host is None:
        if path_slug is None:
            return Resolution(requested=False, tenant=None, base_path="")
        return Resolution(
            requested=True, tenant=tenant_by_slug(path_slug), base_path=f"/t/{path_slug}"
        )
    kind, key = by_host
    host_tenant = (tenant_by_slug(key) if key else None) if kind == "slug" else _load(kind, key)
    if path_slug is not None and (host_tenant is None or host_tenant.slug != path_slug):
        return Resolution(requested=True, tenant=None, base_path=f"/t/{path_slug}")
    base_path = f"/t/{path_slug}" if path_slug else ""
    return Resolution(requested=True, tenant=host_tenant, base_path=base_path)


def tenant_base_url(tenant: TenantInfo, *, public_url: str) -> str:
    """The URL that serves a tenant, for links in emails: its custom domain if it
    has one (https), else the platform's public URL with the /t/<slug> prefix."""
    with platform_session() as s:
        host = s.exec(
            select(TenantDomain.host)
            .where(TenantDomain.serves_tenant_id == tenant.id)
            .order_by(TenantDomain.id)  # type: ignore[arg-type]
        ).first()
    if host:
        return f"https://{host}"
    return f"{public_url.rstrip('/')}/t/{tenant.slug}"
