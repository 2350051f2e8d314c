"""Tenants, their domains, and the TenantScoped mixin every tenant table uses."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tenants.types import UTCDateTime, utcnow


def ts_field(**kw: object) -> datetime:
    """A UTC timestamp column defaulting to now."""
    nullable = bool(kw.pop("nullable", False))
    default_now = bool(kw.pop("default_now", True))
    if default_now:
        kw["default_factory"] = utcnow
    elif nullable:
        kw["default"] = None
    return Field(sa_type=UTCDateTime, nullable=nullable, **kw)  # type: ignore[call-overload]


class TenantKind(enum.StrEnum):
    """What kind of organisation a tenant is."""

    CLINIC = "clinic"
    CHECKUP_CENTER = "checkup_center"


class TenantStatus(enum.StrEnum):
    """Billing / lifecycle status; suspended tenants are read-only."""

    TRIAL = "trial"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    SUSPENDED = "suspended"


class Locale(enum.StrEnum):
    """Languages the UI speaks."""

    ZH_CN = "zh-CN"
    EN = "en"


class TenantBase(SQLModel):
    """Fields a platform operator sets when onboarding a tenant."""

    slug: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=120)
    kind: TenantKind = Field(default=TenantKind.CLINIC, sa_type=sa.String(20))
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    default_locale: Locale = Field(default=Locale.ZH_CN, sa_type=sa.String(8))
    currency: str = Field(default="CNY", max_length=3)


class Tenant(TenantBase, table=True):
    """A clinic or health-check center. Platform-level: not tenant-scoped."""

    id: int | None = Field(default=None, primary_key=True)
    status: TenantStatus = Field(default=TenantStatus.TRIAL, sa_type=sa.String(12))
    logo_url: str = Field(default="", max_length=500)
    primary_color: str = Field(default="#0f766e", max_length=7)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()

    @property
    def read_only(self) -> bool:
        """Suspended tenants keep their data visible but accept no changes."""
        return self.status == TenantStatus.SUSPENDED


class TenantDomain(SQLModel, table=True):
    """A custom host name (e.g. prm.sunshine-clinic.cn) that serves one tenant."""

    __tablename__ = "tenant_domain"

    id: int | None = Field(default=None, primary_key=True)
    host: str = Field(max_length=253, unique=True, index=True)
    # Not "tenant_id": host routing is platform data, read before any tenant is known.
    serves_tenant_id: int = Field(foreign_key="tenant.id", index=True)
    created_at: datetime = ts_field()


class TenantScoped(SQLModel):
    """Mixin for every tenant-owned table.

    The session factory in tenants.db filters every ORM query on these tables to
    the current tenant and stamps/verifies ``tenant_id`` on every write; on
    PostgreSQL row-level security enforces the same wall below the ORM.
    """

    # Tables whose rows may still be written while the tenant is suspended
    # (sign-ins, sign-outs and the audit trail must keep working).
    writable_when_suspended: ClassVar[bool] = False

    tenant_id: int = Field(default=None, foreign_key="tenant.id", index=True)


class _CriteriaColumn:
    """Lets ``with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == t)`` work.

    SQLAlchemy analyses that lambda once with the mixin itself, so
    ``TenantScoped.tenant_id`` must be a column expression; pydantic keeps field
    defaults off the class. Mapped subclasses have their own instrumented
    ``tenant_id`` and never reach this descriptor, and declarative scanning
    ignores it, so the real column (FK, index, NOT NULL) is unaffected.
    """

    def __get__(self, obj: object, owner: type) -> object:
        if owner is TenantScoped:
            return sa.column("tenant_id", sa.Integer)
        raise AttributeError("tenant_id")


type.__setattr__(TenantScoped, "tenant_id", _CriteriaColumn())
