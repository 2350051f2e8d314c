"""Automations (journeys), their immutable step versions and the enrollments.

- ``Automation``: name, trigger (+ params, JSON), active flag, the current
  ``version`` and, for a built-in journey, its ``builtin`` key (unique per
  tenant; NULL for the manager's own).
- ``AutomationVersion``: the steps (JSON) of one version. Versions are never
  changed: saving new steps makes a new version (with its own content rows), so
  an enrollment keeps walking the steps it entered with. That is how an edit
  never corrupts a running enrollment: its ``step_index`` always points into its
  own version's steps, and the wording it sends is its version's.
- ``AutomationEnrollment``: one patient walking one automation for one trigger
  occurrence, unique per (automation, patient, occurrence) so a hook firing
  twice enrolls once. ``next_at`` is when the engine looks at it again.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from tenants.models import TenantScoped, ts_field


class Trigger(enum.StrEnum):
    """What enrolls a patient."""

    TAG_ADDED = "tag_added"  # params: tag_id
    PATIENT_JOINED = "patient_joined"
    BOOKING_COMPLETED = "booking_completed"
    DAYS_AFTER_CHECKUP = "days_after_checkup"  # params: days
    BIRTHDAY = "birthday"
    POINTS_EXPIRING = "points_expiring"  # params: days_before
    NO_VISIT = "no_visit"  # params: days (default 365)


class StepKind(enum.StrEnum):
    """What a step does."""

    WAIT = "wait"  # days, hours
    MESSAGE = "message"  # channel, content_id
    BRANCH = "branch"  # expr and/or conditions, when_match continue / exit


class EnrollmentStatus(enum.StrEnum):
    """Where an enrollment is."""

    ACTIVE = "active"  # waiting for next_at
    COMPLETED = "completed"  # walked every step
    EXITED = "exited"  # left early: a branch, consent withdrawn, no address


class Automation(TenantScoped, table=True):
    """A journey of this tenant."""

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "builtin", name="uq_automation_builtin"),
        sa.Index("ix_automation_trigger", "tenant_id", "trigger", "active"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    trigger: Trigger = Field(sa_type=sa.String(24))
    trigger_params: str = Field(default="{}", max_length=1000)  # JSON
    active: bool = False
    version: int = 1
    builtin: str | None = Field(default=None, max_length=24)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class AutomationVersion(TenantScoped, table=True):
    """The steps of one version of an automation (never changed once written)."""

    __tablename__ = "automation_version"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "automation_id", "version", name="uq_automation_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    automation_id: int = Field(foreign_key="automation.id")
    version: int
    steps: str = Field(default="[]", max_length=20000)  # JSON list of steps
    created_at: datetime = ts_field()


class AutomationEnrollment(TenantScoped, table=True):
    """One patient in one automation for one trigger occurrence."""

    __tablename__ = "automation_enrollment"
    __table_args__ = (
        sa.UniqueConstraint(
            "tenant_id", "automation_id", "patient_id", "occurrence", name="uq_enrollment"
        ),
        # The engine's query: a tenant's due active enrollments.
        sa.Index("ix_enrollment_due", "tenant_id", "status", "next_at"),
        sa.Index("ix_enrollment_automation", "tenant_id", "automation_id", "version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    automation_id: int = Field(foreign_key="automation.id")
    version: int
    patient_id: int = Field(foreign_key="patient.id")
    occurrence: str = Field(max_length=80)
    status: EnrollmentStatus = Field(default=EnrollmentStatus.ACTIVE, sa_type=sa.String(10))
    step_index: int = 0
    next_at: datetime = ts_field()
    exit_reason: str = Field(default="", max_length=40)
    entered_at: datetime = ts_field()
    finished_at: datetime | None = ts_field(nullable=True, default_now=False)
    updated_at: datetime = ts_field()
