"""Campaigns, their content per variant and channel, runs and the recipients of a run.

A ``Campaign`` says who (an audience), how (channels, content per variant), when
(now, at a time, or recurring) and how fast (throttle, daily cap, quiet hours).
Each occurrence of a send is a ``CampaignRun``; when it starts, the audience is
snapshotted into ``CampaignRecipient`` rows (one per patient and channel, with
the A/B variant fixed there), which the release then moves from ``pending`` to
``released`` (a message in the outbox) or ``cancelled`` (the run was stopped).
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from tenants.models import TenantScoped, ts_field


class CampaignStatus(enum.StrEnum):
    """Where a campaign is in its life."""

    DRAFT = "draft"  # being written; nothing scheduled
    SCHEDULED = "scheduled"  # waiting for next_run_at
    RUNNING = "running"  # a run is releasing messages
    PAUSED = "paused"  # a run is held; resume continues it
    STOPPED = "stopped"  # stopped by a manager; pending recipients cancelled
    DONE = "done"  # every run finished (one-off campaigns)


class ScheduleMode(enum.StrEnum):
    """When a campaign sends."""

    NOW = "now"
    AT = "at"
    RECURRING = "recurring"


class Recurrence(enum.StrEnum):
    """How a recurring campaign repeats (at a tenant-local HH:MM)."""

    DAILY = "daily"
    WEEKLY = "weekly"  # on ``weekday`` (0 = Monday)
    MONTHLY = "monthly"  # on ``month_day`` (the month's last day when shorter)


class Variant(enum.StrEnum):
    """A/B variants of a campaign's content."""

    A = "A"
    B = "B"


class RunStatus(enum.StrEnum):
    """The life of one occurrence."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    DONE = "done"


class RecipientStatus(enum.StrEnum):
    """The life of one recipient of a run."""

    PENDING = "pending"
    RELEASED = "released"
    CANCELLED = "cancelled"


class Campaign(TenantScoped, table=True):
    """A campaign (营销活动). ``channels`` is a JSON list of channel names."""

    __table_args__ = (sa.Index("ix_campaign_due", "tenant_id", "status", "next_run_at"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    audience_id: int = Field(foreign_key="audience.id")
    channels: str = Field(default="[]", max_length=100)  # JSON list
    link: str = Field(default="", max_length=500)  # the {link} variable
    mode: ScheduleMode = Field(default=ScheduleMode.NOW, sa_type=sa.String(10))
    send_at: datetime | None = ts_field(nullable=True, default_now=False)  # mode "at"
    recurrence: str = Field(default="", max_length=10)  # Recurrence or ""
    weekday: int = 0  # weekly: 0 = Monday
    month_day: int = 1  # monthly: 1..31
    at_time: str = Field(default="09:00", max_length=5)  # recurring: local HH:MM
    next_run_at: datetime | None = ts_field(nullable=True, default_now=False)
    per_minute: int = 60  # throttle: messages released per minute
    daily_cap: int = 0  # messages per tenant-local day; 0 = no cap
    quiet_start: str = Field(default="", max_length=5)  # "" = the tenant's quiet hours
    quiet_end: str = Field(default="", max_length=5)
    ab_split: int = 50  # % of recipients on variant A when a variant B exists
    attribution_days: int = 7
    status: CampaignStatus = Field(default=CampaignStatus.DRAFT, sa_type=sa.String(10))
    occurrences: int = 0  # runs started so far
    created_by_staff_id: int | None = Field(default=None, foreign_key="staff_member.id")
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class CampaignVariant(TenantScoped, table=True):
    """The content (a ``message_content`` row) of one variant on one channel."""

    __tablename__ = "campaign_variant"
    __table_args__ = (
        sa.UniqueConstraint(
            "tenant_id", "campaign_id", "variant", "channel", name="uq_campaign_variant"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    variant: Variant = Field(sa_type=sa.String(1))
    channel: str = Field(max_length=8)
    content_id: int = Field(foreign_key="message_content.id")


class CampaignRun(TenantScoped, table=True):
    """One occurrence of a campaign's send."""

    __tablename__ = "campaign_run"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "campaign_id", "occurrence", name="uq_campaign_run"),
        sa.Index("ix_campaign_run_status", "tenant_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    occurrence: int  # 1, 2, ... per campaign
    status: RunStatus = Field(default=RunStatus.RUNNING, sa_type=sa.String(10))
    scheduled_for: datetime = ts_field()
    started_at: datetime = ts_field()
    finished_at: datetime | None = ts_field(nullable=True, default_now=False)
    recipients: int = 0  # snapshot size


class CampaignRecipient(TenantScoped, table=True):
    """One patient on one channel in a run's snapshot."""

    __tablename__ = "campaign_recipient"
    __table_args__ = (
        sa.UniqueConstraint(
            "tenant_id", "run_id", "patient_id", "channel", name="uq_campaign_recipient"
        ),
        # The release: a run's pending rows in order.
        sa.Index("ix_campaign_recipient_run", "tenant_id", "run_id", "status", "id"),
        # Throttle and cap: a campaign's releases by time.
        sa.Index("ix_campaign_recipient_released", "tenant_id", "campaign_id", "released_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    run_id: int = Field(foreign_key="campaign_run.id")
    patient_id: int = Field(foreign_key="patient.id")
    channel: str = Field(max_length=8)
    variant: Variant = Field(default=Variant.A, sa_type=sa.String(1))
    status: RecipientStatus = Field(default=RecipientStatus.PENDING, sa_type=sa.String(10))
    message_id: int | None = Field(default=None, foreign_key="message.id")
    released_at: datetime | None = ts_field(nullable=True, default_now=False)
