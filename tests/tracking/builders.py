"""Builders of the tracking tests: marketing and transactional messages through
the real outbox, and rows written directly (sent messages at a given time,
bookings, orders) so attribution windows can be set to the second."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlmodel import col, select

from prm_saas.booking.models import Booking, BookingStatus
from prm_saas.messaging.models import Category, Channel, Message, MessageStatus
from prm_saas.messaging.outbox import enqueue
from prm_saas.orders.models import Order, OrderStatus
from prm_saas.tracking.models import TrackedLink, TrackingEvent
from tenants.db import tenant_session
from tenants.resolution import TenantInfo
from tests.tags import builders as tb

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
_seq = itertools.count(1)


def enqueue_tip(
    tenant: TenantInfo,
    patient_id: int,
    tip: str,
    *,
    channel: Channel = Channel.EMAIL,
    source: str = "campaign:1:A:1",
) -> int:
    """An urgent marketing message (the health tip) carrying ``tip``."""
    with tenant_session(tenant.id) as s:
        msg = enqueue(
            s,
            template_key="marketing.health_tip",
            channel=channel,
            patient_id=patient_id,
            variables={"tip": tip},
            dedupe_key=f"tip-{next(_seq)}",
            urgent=True,
            source=source,
        )
        assert msg.id is not None
        return msg.id


def enqueue_reminder(tenant: TenantInfo, patient_id: int, note: str) -> int:
    """An urgent transactional email (a care reminder) whose note is ``note``."""
    with tenant_session(tenant.id) as s:
        msg = enqueue(
            s,
            template_key="care.reminder",
            channel=Channel.EMAIL,
            patient_id=patient_id,
            variables={"title": "复诊", "when": "明天 9:00", "note": note},
            dedupe_key=f"reminder-{next(_seq)}",
            urgent=True,
        )
        assert msg.id is not None
        return msg.id


def links(tenant: TenantInfo, message_id: int | None = None) -> list[TrackedLink]:
    """The tenant's tracked links (of one message), oldest first."""
    with tenant_session(tenant.id) as s:
        q = select(TrackedLink).order_by(col(TrackedLink.id))
        if message_id is not None:
            q = q.where(TrackedLink.message_id == message_id)
        return list(s.exec(q).all())


def events(tenant: TenantInfo) -> list[TrackingEvent]:
    """The tenant's tracking events, oldest first."""
    with tenant_session(tenant.id) as s:
        return list(s.exec(select(TrackingEvent).order_by(col(TrackingEvent.id))).all())


def sent_message(
    tenant: TenantInfo,
    patient_id: int,
    *,
    source: str,
    sent_at: datetime | None = NOW,
    channel: Channel = Channel.EMAIL,
    status: MessageStatus = MessageStatus.SENT,
    category: Category = Category.MARKETING,
    suppressed_reason: str = "",
    delivery_status: str = "",
) -> int:
    """A message row as the engine leaves it (written directly, times to the second)."""
    n = next(_seq)
    with tenant_session(tenant.id) as s:
        m = Message(
            patient_id=patient_id,
            to_address=f"p{n}@x.test",
            channel=channel,
            category=category,
            template_key="marketing.health_tip",
            dedupe_key=f"m{n}",
            source=source,
            status=status,
            sent_at=sent_at if status == MessageStatus.SENT else None,
            suppressed_reason=suppressed_reason,
            delivery_status=delivery_status,
        )
        s.add(m)
        s.flush()
        return int(m.id or 0)


def booking_at(
    tenant: TenantInfo,
    patient_id: int,
    at: datetime,
    status: BookingStatus = BookingStatus.CONFIRMED,
) -> int:
    """A booking made at ``at``."""
    booking_id = tb.booking(tenant, patient_id, at.date(), status)
    with tenant_session(tenant.id) as s:
        b = s.exec(select(Booking).where(Booking.id == booking_id)).one()
        b.created_at = at
        s.add(b)
    return booking_id


def order_paid_at(
    tenant: TenantInfo,
    patient_id: int,
    at: datetime | None,
    *,
    paid_fen: int = 10_000,
    refunded_fen: int = 0,
    status: OrderStatus = OrderStatus.PAID,
) -> int:
    """An order paid at ``at`` (``None``: never paid)."""
    n = next(_seq)
    with tenant_session(tenant.id) as s:
        o = Order(
            number=f"T{n}",
            patient_id=patient_id,
            status=status,
            total_fen=paid_fen or 10_000,
            paid_fen=paid_fen,
            refunded_fen=refunded_fen,
            idempotency_key=f"t{n}",
            created_at=at or NOW,
            paid_at=at,
        )
        s.add(o)
        s.flush()
        return int(o.id or 0)
