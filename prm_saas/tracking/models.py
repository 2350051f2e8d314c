"""Tracked links and the append-only record of opens and clicks.

A ``tracked_link`` is one URL of one marketing message, behind a short random
code (``/api/t/c/<tenant id>-<code>``); the redirect only ever goes to the URL
stored here, so the endpoint cannot be used as an open redirect. A
``tracking_event`` is one open (the email's pixel was fetched) or one click.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field

from tenants.models import TenantScoped, ts_field

URL_MAX = 2000
CODE_LENGTH = 8


class TrackingKind(enum.StrEnum):
    """What a tracking event records."""

    OPEN = "open"
    CLICK = "click"


class TrackedLink(TenantScoped, table=True):
    """One URL of one message, behind a code unique in the tenant."""

    __tablename__ = "tracked_link"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code", name="uq_tracked_link_code"),
        sa.Index("ix_tracked_link_message", "tenant_id", "message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16)
    message_id: int = Field(foreign_key="message.id")
    patient_id: int | None = Field(default=None, foreign_key="patient.id")
    url: str = Field(max_length=URL_MAX)
    created_at: datetime = ts_field()


class TrackingEvent(TenantScoped, table=True):
    """One open or click of a message (append-only)."""

    __tablename__ = "tracking_event"
    __table_args__ = (sa.Index("ix_tracking_event_message", "tenant_id", "message_id", "kind"),)
    append_only: ClassVar[bool] = True
    # The message went out while the tenant was active; what the patient does with
    # it afterwards is recorded like a delivery receipt, also while suspended.
    writable_when_suspended: ClassVar[bool] = True

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id")
    patient_id: int | None = Field(default=None, foreign_key="patient.id")
    kind: TrackingKind = Field(sa_type=sa.String(8))
    link_id: int | None = Field(default=None, foreign_key="tracked_link.id")
    url: str = Field(default="", max_length=URL_MAX)
    at: datetime = ts_field()
