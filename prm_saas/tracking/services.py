"""What became of the marketing messages of one source: counts by status, opens,
clicks (``message_stats``) and the bookings and paid orders they led to
(``conversions``).

Both work on any marketing message through its ``source`` prefix
(``campaign:<id>:<variant>:<run>``, ``automation:<id>:<step>``), never on the
campaign tables: the campaign report calls them with e.g. ``"campaign:7:"``
(end the prefix with ``:`` so campaign 7 does not take in campaign 70) or
``"campaign:7:A:"`` for one variant, and optionally one channel. They are
internal (no actor): the caller has checked who asks. Each is a few set-based
queries inside the tenant session, on SQLite and PostgreSQL alike.

Attribution is last touch: a booking or a paid order belongs to the latest
marketing message *sent* to that patient at or before it, whatever its source
and channel; it counts for ``source_prefix`` when that message has the prefix
and the booking or payment came at most ``window_days`` after it was sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select

from prm_saas.booking.models import Booking, BookingStatus
from prm_saas.messaging.models import Category, Channel, Message, MessageStatus
from prm_saas.orders.models import Order, OrderStatus
from prm_saas.tracking.models import TrackingEvent, TrackingKind
from tenants.db import TenantSession

# Bookings that were made and stand (held ones wait for payment; cancelled and
# expired ones did not happen).
COUNTED_BOOKINGS = (
    BookingStatus.CONFIRMED,
    BookingStatus.CHECKED_IN,
    BookingStatus.COMPLETED,
    BookingStatus.NO_SHOW,
)
# Paid orders not refunded in full; the revenue is what was paid less what was refunded.
COUNTED_ORDERS = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED)
MAX_WINDOW_DAYS = 365


@dataclass(frozen=True)
class MessageStats:
    """The messages of one source prefix (and channel), by outcome."""

    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)  # scheduled, queued, ..., sent
    sent: int = 0
    # Receipts said delivered (SMS), or the message is in the patient's in-app inbox.
    # Email has no receipts: its sent messages are not counted here.
    delivered: int = 0
    failed: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)  # by reason: opted_out, ...
    unique_opens: int = 0  # messages opened at least once (email pixel)
    unique_clicks: int = 0  # messages with at least one tracked link clicked
    clicks: int = 0  # every click

    @property
    def pending(self) -> int:
        """Messages not yet decided: scheduled, queued or being sent."""
        return sum(
            self.by_status.get(str(s), 0)
            for s in (MessageStatus.SCHEDULED, MessageStatus.QUEUED, MessageStatus.SENDING)
        )

    @property
    def suppressed_total(self) -> int:
        """Messages suppressed for any reason."""
        return sum(self.suppressed.values())


@dataclass(frozen=True)
class ConversionStats:
    """Bookings and paid orders attributed to one source prefix (last touch)."""

    bookings: int = 0
    orders: int = 0
    revenue_fen: int = 0  # paid less refunded, of the counted orders
    patients: int = 0  # distinct patients with a counted booking or order


def _source(prefix: str, channel: Channel | None, m: Any = Message) -> list[Any]:
    """Where-clauses: ``m.source`` starts with ``prefix`` (LIKE for the index, and an
    exact comparison because SQLite's LIKE ignores case), and the channel."""
    source = col(m.source)
    out = [
        source.startswith(prefix, autoescape=True),
        func.substr(source, 1, len(prefix)) == prefix,
    ]
    if channel is not None:
        out.append(col(m.channel) == channel)
    return out


def message_stats(
    session: TenantSession, *, source_prefix: str, channel: Channel | None = None
) -> MessageStats:
    """Counts of the tenant's messages whose source starts with ``source_prefix``."""
    if not source_prefix:
        raise ValueError("source_prefix is required")
    in_inbox = (col(Message.channel) == Channel.INAPP) & (col(Message.status) == MessageStatus.SENT)
    delivered = sa.case(((col(Message.delivery_status) == "delivered") | in_inbox, 1), else_=0)
    rows = session.exec(
        select(Message.status, Message.suppressed_reason, func.count(), func.sum(delivered))
        .where(*_source(source_prefix, channel))
        .group_by(Message.status, Message.suppressed_reason)
    ).all()
    by_status: dict[str, int] = {}
    suppressed: dict[str, int] = {}
    n_delivered = 0
    for status, reason, n, d in rows:
        by_status[str(status)] = by_status.get(str(status), 0) + n
        if status == MessageStatus.SUPPRESSED:
            suppressed[reason or "other"] = suppressed.get(reason or "other", 0) + n
        n_delivered += int(d or 0)
    events = session.exec(
        select(
            TrackingEvent.kind,
            func.count(sa.distinct(col(TrackingEvent.message_id))),
            func.count(),
        )
        .join(Message, col(Message.id) == col(TrackingEvent.message_id))
        .where(*_source(source_prefix, channel))
        .group_by(TrackingEvent.kind)
    ).all()
    unique = {str(kind): (u, n) for kind, u, n in events}
    return MessageStats(
        total=sum(by_status.values()),
        by_status=by_status,
        sent=by_status.get(str(MessageStatus.SENT), 0),
        delivered=n_delivered,
        failed=by_status.get(str(MessageStatus.FAILED), 0),
        suppressed=suppressed,
        unique_opens=unique.get(str(TrackingKind.OPEN), (0, 0))[0],
        unique_clicks=unique.get(str(TrackingKind.CLICK), (0, 0))[0],
        clicks=unique.get(str(TrackingKind.CLICK), (0, 0))[1],
    )


def sent_summary(session: TenantSession, *, source_prefix: str) -> tuple[int, datetime | None]:
    """How many messages of ``source_prefix`` went out, and when the last one did
    (one indexed aggregate)."""
    if not source_prefix:
        raise ValueError("source_prefix is required")
    n, last = session.exec(
        select(func.count(), func.max(Message.sent_at)).where(
            *_source(source_prefix, None), col(Message.status) == MessageStatus.SENT
        )
    ).one()
    return int(n or 0), last


# --- conversions ------------------------------------------------------------------------------


class _SecondsBetween(sa.sql.functions.FunctionElement[float]):
    """Seconds from the second timestamp to the first (PostgreSQL and SQLite)."""

    type = sa.Float()
    inherit_cache = True


@compiles(_SecondsBetween, "postgresql")
def _seconds_pg(element: _SecondsBetween, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)}))"
    )


@compiles(_SecondsBetween, "sqlite")
def _seconds_sqlite(element: _SecondsBetween, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"((julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)})) * 86400.0)"
    )


def _last_touch(patient_id: Any, at: Any) -> Any:
    """The id of the latest marketing message sent to ``patient_id`` at or before
    ``at`` (any source, any channel): a correlated scalar subquery."""
    m = aliased(Message)
    return (
        select(m.id)
        .where(
            col(m.patient_id) == patient_id,
            col(m.category) == Category.MARKETING,
            col(m.status) == MessageStatus.SENT,
            col(m.sent_at) <= at,
        )
        .order_by(col(m.sent_at).desc(), col(m.id).desc())
        .limit(1)
        .scalar_subquery()
    )


def conversions(
    session: TenantSession,
    *,
    source_prefix: str,
    window_days: int,
    channel: Channel | None = None,
) -> ConversionStats:
    """Bookings made and orders paid within ``window_days`` after a sent message of
    ``source_prefix`` (and ``channel``), each attributed once, to its last touch.

    A booking counts when it stands (confirmed, checked in, completed, no-show) at
    its creation time; an order when it is paid and not refunded in full, at its
    payment time, for what was paid less what was refunded."""
    if not source_prefix:
        raise ValueError("source_prefix is required")
    if not 0 <= window_days <= MAX_WINDOW_DAYS:
        raise ValueError(f"window_days must be 0..{MAX_WINDOW_DAYS}")
    # Only patients this source reached, after its first message, can convert for it.
    sent_here = (
        *_source(source_prefix, channel),
        col(Message.status) == MessageStatus.SENT,
        col(Message.category) == Category.MARKETING,
    )
    reached = select(Message.patient_id).where(*sent_here).distinct()
    first_sent, last_sent = session.exec(
        select(func.min(Message.sent_at), func.max(Message.sent_at)).where(*sent_here)
    ).one()
    if first_sent is None or last_sent is None:
        return ConversionStats()
    # Nothing after the last message's window can count: without this bound every
    # later booking and order of every reached patient was looked at.
    until = last_sent + timedelta(days=window_days, seconds=1)
    bookings = sa.select(
        sa.literal("booking").label("kind"),
        col(Booking.patient_id).label("patient_id"),
        col(Booking.created_at).label("at"),
        sa.literal(0).label("revenue"),
        _last_touch(Booking.patient_id, Booking.created_at).label("message_id"),
    ).where(
        col(Booking.status).in_(COUNTED_BOOKINGS),
        col(Booking.patient_id).in_(reached),
        col(Booking.created_at) >= first_sent,
        col(Booking.created_at) <= until,
    )
    orders = sa.select(
        sa.literal("order").label("kind"),
        col(Order.patient_id).label("patient_id"),
        col(Order.paid_at).label("at"),
        (col(Order.paid_fen) - col(Order.refunded_fen)).label("revenue"),
        _last_touch(Order.patient_id, Order.paid_at).label("message_id"),
    ).where(
        col(Order.status).in_(COUNTED_ORDERS),
        col(Order.paid_at).is_not(None),
        col(Order.patient_id).in_(reached),
        col(Order.paid_at) >= first_sent,
        col(Order.paid_at) <= until,
    )
    touched = sa.union_all(bookings, orders).subquery("touched")
    # Inclusive at exactly N days; the millisecond absorbs SQLite's julianday rounding.
    within = _SecondsBetween(touched.c.at, Message.sent_at) <= window_days * 86400 + 0.001
    row = session.exec(
        select(
            func.sum(sa.case((touched.c.kind == "booking", 1), else_=0)),
            func.sum(sa.case((touched.c.kind == "order", 1), else_=0)),
            func.sum(touched.c.revenue),
            func.count(sa.distinct(touched.c.patient_id)),
        )
        .select_from(touched)
        .join(Message, col(Message.id) == touched.c.message_id)
        .where(*_source(source_prefix, channel), within)
    ).one()
    n_bookings, n_orders, revenue, patients = row
    return ConversionStats(
        bookings=int(n_bookings or 0),
        orders=int(n_orders or 0),
        revenue_fen=int(revenue or 0),
        patients=int(patients or 0),
    )
