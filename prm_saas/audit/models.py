"""Audit events. Rows are only ever inserted (checked in the ORM and, on
PostgreSQL, by granting the app role INSERT and SELECT only)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlmodel import Field, SQLModel

from tenants.models import TenantScoped, ts_field


class AuditFields(SQLModel):
    """What every audit event records."""

    # Checked by the session factory: rows are inserted, never updated or deleted.
    append_only: ClassVar[bool] = True

    at: datetime = ts_field(index=True)
    actor_kind: str = Field(max_length=12)  # operator / staff / patient / system / anonymous
    actor_id: int | None = None
    actor_label: str = Field(default="", max_length=254)
    action: str = Field(max_length=60, index=True)
    target_type: str = Field(default="", max_length=40)
    target_id: str = Field(default="", max_length=64)
    ip: str = Field(default="", max_length=64)
    details: str = Field(default="{}", max_length=4000)  # JSON


class AuditEvent(AuditFields, TenantScoped, table=True):
    """Something that happened inside one tenant."""

    __tablename__ = "audit_event"
    writable_when_suspended: ClassVar[bool] = True

    id: int | None = Field(default=None, primary_key=True)


class PlatformAuditEvent(AuditFields, table=True):
    """Something that happened at platform level (operators, tenant lifecycle)."""

    __tablename__ = "platform_audit_event"

    id: int | None = Field(default=None, primary_key=True)
    # Which tenant the event concerns, if any. Not named tenant_id on purpose:
    # this table is the platform's, not the tenant's.
    subject_tenant_id: int | None = Field(default=None, foreign_key="tenant.id", index=True)
