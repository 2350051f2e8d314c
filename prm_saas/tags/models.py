"""Tags on patients, the rules that set auto tags, and the tag history.

A ``manual`` tag is added and removed by staff; an ``auto`` tag is owned by its
rule (``TagRule``): only rule evaluation adds or removes it. ``patient_tag``
holds the current state (one row per patient and tag), ``tag_event`` the
append-only history: one row per add or remove, by a staff member or a rule.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field

from tenants.models import TenantScoped, ts_field


class TagKind(enum.StrEnum):
    """Who may set a tag."""

    MANUAL = "manual"  # staff add and remove it by hand
    AUTO = "auto"  # owned by a rule


class TagSource(enum.StrEnum):
    """How a patient got a tag."""

    MANUAL = "manual"
    RULE = "rule"


class TagAction(enum.StrEnum):
    """What a history row records."""

    ADDED = "added"
    REMOVED = "removed"


class Tag(TenantScoped, table=True):
    """A tag, e.g. 高血压 / VIP / 流失; name unique per tenant."""

    __table_args__ = (sa.UniqueConstraint("tenant_id", "name", name="uq_tag_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40)
    color: str = Field(default="#64748b", max_length=7)
    description: str = Field(default="", max_length=200)
    kind: TagKind = Field(default=TagKind.MANUAL, sa_type=sa.String(10))
    created_at: datetime = ts_field()


class PatientTag(TenantScoped, table=True):
    """A tag a patient has now."""

    __tablename__ = "patient_tag"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "patient_id", "tag_id", name="uq_patient_tag"),
        sa.Index("ix_patient_tag_tag", "tenant_id", "tag_id", "patient_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    tag_id: int = Field(foreign_key="tag.id")
    source: TagSource = Field(default=TagSource.MANUAL, sa_type=sa.String(10))
    rule_id: int | None = Field(default=None, foreign_key="tag_rule.id")
    added_at: datetime = ts_field()
    added_by_staff_id: int | None = Field(default=None, foreign_key="staff_member.id")


class TagEvent(TenantScoped, table=True):
    """Append-only history: a tag added to or removed from a patient."""

    __tablename__ = "tag_event"
    append_only: ClassVar[bool] = True
    __table_args__ = (
        sa.Index("ix_tag_event_patient", "tenant_id", "patient_id", "id"),
        sa.Index("ix_tag_event_tag", "tenant_id", "tag_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    tag_id: int = Field(foreign_key="tag.id")
    action: TagAction = Field(sa_type=sa.String(10))
    staff_id: int | None = Field(default=None, foreign_key="staff_member.id")
    rule_id: int | None = Field(default=None, foreign_key="tag_rule.id")
    at: datetime = ts_field()
    reason: str = Field(default="", max_length=200)


class TagRule(TenantScoped, table=True):
    """Sets its auto tag on every patient matching all its conditions.

    ``conditions`` is JSON: a list of ``{"key": ..., "params": {...}}``
    (keys from ``prm_saas.tags.conditions.REGISTRY``).
    """

    __tablename__ = "tag_rule"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "tag_id", name="uq_tag_rule_tag"),)

    id: int | None = Field(default=None, primary_key=True)
    tag_id: int = Field(foreign_key="tag.id")
    conditions: str = Field(default="[]", max_length=4000)
    active: bool = True
    evaluated_at: datetime | None = ts_field(nullable=True, default_now=False)
    matched: int = 0  # holders at the last full evaluation (evaluated_at); hooks do not recount
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()
