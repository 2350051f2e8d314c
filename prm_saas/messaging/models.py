"""The messaging engine's tables: the outbox, templates, consent, settings,
the in-app inbox, provider events and usage counters."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tenants.models import TenantScoped, ts_field


class Channel(enum.StrEnum):
    """How a message reaches a person."""

    EMAIL = "email"
    SMS = "sms"
    INAPP = "inapp"


class Category(enum.StrEnum):
    """Transactional messages (a booking confirmation) bypass marketing consent and caps."""

    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


class MessageStatus(enum.StrEnum):
    """The life of an outbox row.

    scheduled -> queued -> sending -> sent; or suppressed / expired / failed.
    ``sending`` is a lease: a worker holds the row until ``lease_until``; a row
    whose lease ran out (the worker died) is queued again.
    """

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    EXPIRED = "expired"


FINAL_STATUSES = frozenset(
    {MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.SUPPRESSED, MessageStatus.EXPIRED}
)


class Message(TenantScoped, table=True):
    """One message to one person on one channel: a row before it is ever sent."""

    __tablename__ = "message"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "dedupe_key", name="uq_message_tenant_dedupe"),
        # The dispatcher's query: a tenant's due rows in due order.
        sa.Index("ix_message_tenant_status_due", "tenant_id", "status", "due_at"),
        # The delivery log: newest first per tenant.
        sa.Index("ix_message_tenant_created", "tenant_id", "created_at"),
        sa.Index("ix_message_provider_id", "provider_message_id"),
        # Campaign and journey reports: a source prefix ("campaign:7:") per tenant.
        sa.Index(
            "ix_message_tenant_source",
            "tenant_id",
            "source",
            postgresql_ops={"source": "varchar_pattern_ops"},
        ),
        # Attribution: a patient's marketing messages before a booking or payment.
        sa.Index("ix_message_tenant_patient_sent", "tenant_id", "patient_id", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    to_address: str = Field(max_length=254)
    channel: Channel = Field(sa_type=sa.String(8))
    category: Category = Field(default=Category.TRANSACTIONAL, sa_type=sa.String(16))
    urgent: bool = False  # urgent messages ignore quiet hours
    template_key: str = Field(max_length=80)
    locale: str = Field(default="zh-CN", max_length=8)
    recipient_tz: str = Field(default="", max_length=64)  # "" = the tenant's zone
    variables: str = Field(default="{}", max_length=8000)  # JSON
    dedupe_key: str = Field(max_length=200)
    source: str = Field(default="", max_length=80)  # e.g. "booking:42", "campaign:7"
    status: MessageStatus = Field(default=MessageStatus.SCHEDULED, sa_type=sa.String(12))
    due_at: datetime = ts_field()
    expires_at: datetime | None = ts_field(nullable=True, default_now=False)
    attempts: int = 0
    lease_until: datetime | None = ts_field(nullable=True, default_now=False)
    subject: str = Field(default="", max_length=300)
    body: str = Field(default="", max_length=8000)
    provider_message_id: str = Field(default="", max_length=120)
    delivery_status: str = Field(default="", max_length=20)  # from receipts: delivered, ...
    error: str = Field(default="", max_length=1000)
    suppressed_reason: str = Field(default="", max_length=40)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()
    sent_at: datetime | None = ts_field(nullable=True, default_now=False)


class MessageTemplate(TenantScoped, table=True):
    """A tenant's wording of one template, for one channel and one language.

    Without a row the built-in default of the template's spec is used.
    """

    __tablename__ = "message_template"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "key", "channel", "locale", name="uq_template"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80)
    channel: Channel = Field(sa_type=sa.String(8))
    locale: str = Field(max_length=8)
    subject: str = Field(default="", max_length=300)
    body: str = Field(max_length=8000)
    updated_at: datetime = ts_field()


class ContactPreference(TenantScoped, table=True):
    """A patient's consent for one channel.

    ``marketing`` is the opt-in for campaigns and tips; ``blocked`` stops every
    message on the channel (an SMS STOP reply does that, as carriers require).
    """

    __tablename__ = "contact_preference"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "patient_id", "channel", name="uq_contact_pref"),
    )
    # An opt-out (STOP reply, unsubscribe link) is the patient's right, whatever the
    # tenant's billing: it is recorded even while the tenant is suspended.
    writable_when_suspended: ClassVar[bool] = True

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    channel: Channel = Field(sa_type=sa.String(8))
    marketing: bool = True
    blocked: bool = False
    source: str = Field(default="patient", max_length=20)  # patient, staff, stop_reply, link
    updated_at: datetime = ts_field()


class MessagingSettings(TenantScoped, table=True):
    """A tenant's channels, quiet hours and caps (defaults when there is no row)."""

    __tablename__ = "messaging_settings"
    __table_args__ = (sa.UniqueConstraint("tenant_id", name="uq_messaging_settings"),)

    id: int | None = Field(default=None, primary_key=True)
    email_enabled: bool = True
    email_from_name: str = Field(default="", max_length=80)
    sms_enabled: bool = False
    sms_provider_url: str = Field(default="", max_length=500)
    sms_api_key_enc: str = Field(default="", max_length=1000)
    sms_sender: str = Field(default="", max_length=40)
    sms_webhook_secret_enc: str = Field(default="", max_length=1000)
    quiet_start: str = Field(default="21:00", max_length=5)  # local time, HH:MM
    quiet_end: str = Field(default="08:00", max_length=5)
    daily_cap: int = 3  # marketing messages per patient per local day; 0 = none
    marketing_default: bool = True  # consent when a patient has said nothing
    updated_at: datetime = ts_field()


class InboxItem(TenantScoped, table=True):
    """A message in the patient's in-app inbox."""

    __tablename__ = "inbox_item"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "message_id", name="uq_inbox_message"),
        sa.Index("ix_inbox_patient_created", "tenant_id", "patient_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    message_id: int = Field(foreign_key="message.id")
    title: str = Field(max_length=300)
    body: str = Field(max_length=8000)
    created_at: datetime = ts_field()
    read_at: datetime | None = ts_field(nullable=True, default_now=False)


class ProviderEvent(TenantScoped, table=True):
    """A delivery receipt or an inbound reply, as the provider sent it (kept once per id)."""

    __tablename__ = "provider_event"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "channel", "event_id", name="uq_provider_event"),
    )
    append_only: ClassVar[bool] = True
    writable_when_suspended: ClassVar[bool] = True  # a STOP reply is kept then too

    id: int | None = Field(default=None, primary_key=True)
    channel: Channel = Field(sa_type=sa.String(8))
    event_id: str = Field(max_length=120)
    kind: str = Field(max_length=20)  # receipt, inbound
    payload: str = Field(max_length=4000)  # JSON
    received_at: datetime = ts_field()


class UsageCounter(TenantScoped, table=True):
    """Messages sent per tenant, channel and calendar month (UTC); billing reads these."""

    __tablename__ = "usage_counter"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "channel", "month", name="uq_usage_counter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: Channel = Field(sa_type=sa.String(8))
    month: str = Field(max_length=7)  # YYYY-MM
    count: int = 0


class MessagingSettingsView(SQLModel):
    """Settings as pages show them (secrets never leave the server)."""

    email_enabled: bool
    email_from_name: str
    sms_enabled: bool
    sms_provider_url: str
    sms_sender: str
    sms_has_api_key: bool
    quiet_start: str
    quiet_end: str
    daily_cap: int
    marketing_default: bool
