"""Daily metrics: each one SQL aggregate grouped by (local day, location).

The roll-up writes these rows for finished days and the dashboard runs the very
same statements live for the days after the roll-up, so a number means the
same thing wherever it comes from. Every statement selects ORM entities, so
the tenant criteria of tenants.db scope it (and RLS on PostgreSQL).

A day is the tenant's local calendar day of the event: a booking counts on the
day it was confirmed, money on the day it was paid or refunded, a visit on the
day it was completed, an appointment (for the no-show and cancellation rates
and slot utilisation) on its slot's day. Location 0 stands for "not by
location" (package views, points) and for orders without a booking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, func

from prm_saas.booking.models import Booking, BookingStatus, Slot
from prm_saas.dashboards.models import PackageView
from prm_saas.dashboards.sqltime import local_date
from prm_saas.membership.models import EntryKind, PointsEntry
from prm_saas.orders.models import Order, Refund
from prm_saas.orders.services import COUNTED_REFUNDS
from tenants.db import TenantSession

Rows = list[tuple[date, int, str, int]]  # (day, location, metric, value)


@dataclass(frozen=True)
class Window:
    """The days a statement covers: local dates and the matching UTC instants."""

    tz: str
    start: date
    end: date
    lo: datetime
    hi: datetime


@dataclass(frozen=True)
class DailyMetric:
    """One statement yielding ``names`` per (day, location)."""

    names: tuple[str, ...]
    by_location: bool
    build: Callable[[Window], Any]


def _count_where(condition: Any) -> Any:
    return func.coalesce(func.sum(sa.case((condition, 1), else_=0)), 0)


def _bookings(w: Window) -> Any:
    day = local_date(Booking.confirmed_at, w.tz)
    return (
        sa.select(day, col(Booking.location_id), func.count())
        .where(col(Booking.confirmed_at) >= w.lo, col(Booking.confirmed_at) < w.hi)
        .group_by(day, col(Booking.location_id))
    )


def _appointments(w: Window) -> Any:
    # Every booking that was ever confirmed for a slot of the day (a lapsed
    # hold never was); cancelled and no-show ones by their status now.
    return (
        sa.select(
            col(Slot.day),
            col(Slot.location_id),
            func.count(),
            _count_where(col(Booking.status) == BookingStatus.CANCELLED),
            _count_where(col(Booking.status) == BookingStatus.NO_SHOW),
        )
        .join(Slot, col(Slot.id) == col(Booking.slot_id))
        .where(
            col(Slot.day) >= w.start,
            col(Slot.day) <= w.end,
            col(Booking.confirmed_at).is_not(None),
        )
        .group_by(col(Slot.day), col(Slot.location_id))
    )


def _slots(w: Window) -> Any:
    return (
        sa.select(
            col(Slot.day),
            col(Slot.location_id),
            func.coalesce(func.sum(Slot.capacity), 0),
            func.coalesce(func.sum(Slot.booked), 0),
        )
        .where(col(Slot.day) >= w.start, col(Slot.day) <= w.end)
        .group_by(col(Slot.day), col(Slot.location_id))
    )


def _order_location() -> Any:
    """The location of the order's booking (0: none), looked up by primary key
    per order: a few days of orders must not make PostgreSQL hash every booking
    of the tenant, as a join was planned (716 ms against 63 ms for 14 days)."""
    return func.coalesce(
        sa.select(col(Booking.location_id))
        .where(col(Booking.id) == col(Order.booking_id))
        .scalar_subquery(),
        0,
    )


def _per_order(rows: Any, values: Callable[[Any], tuple[Any, ...]]) -> Any:
    """Group per-order rows (day, loc, ...) by day and location: grouping by the
    subquery's columns keeps SELECT and GROUP BY the same expression."""
    sub = rows.subquery("per_order")
    return sa.select(sub.c.day, sub.c.loc, *values(sub)).group_by(sub.c.day, sub.c.loc)


def _orders_created(w: Window) -> Any:
    rows = sa.select(
        local_date(Order.created_at, w.tz).label("day"), _order_location().label("loc")
    ).where(col(Order.created_at) >= w.lo, col(Order.created_at) < w.hi)
    return _per_order(rows, lambda sub: (func.count(),))


def _orders_paid(w: Window) -> Any:
    rows = sa.select(
        local_date(Order.paid_at, w.tz).label("day"),
        _order_location().label("loc"),
        col(Order.paid_fen).label("fen"),
    ).where(col(Order.paid_at) >= w.lo, col(Order.paid_at) < w.hi)
    return _per_order(rows, lambda sub: (func.count(), func.coalesce(func.sum(sub.c.fen), 0)))


def _refunds(w: Window) -> Any:
    rows = (
        sa.select(
            local_date(Refund.created_at, w.tz).label("day"),
            _order_location().label("loc"),
            col(Refund.amount_fen).label("fen"),
        )
        .join(Order, col(Order.id) == col(Refund.order_id))
        .where(
            col(Refund.created_at) >= w.lo,
            col(Refund.created_at) < w.hi,
            col(Refund.status).in_(COUNTED_REFUNDS),
        )
    )
    return _per_order(rows, lambda sub: (func.coalesce(func.sum(sub.c.fen), 0),))


def _visits(w: Window) -> Any:
    earlier = aliased(Booking)
    first = ~(
        sa.select(col(earlier.id))
        .where(
            col(earlier.patient_id) == col(Booking.patient_id),
            col(earlier.status) == BookingStatus.COMPLETED,
            col(earlier.completed_at) < col(Booking.completed_at),
        )
        .exists()
    )
    day = local_date(Booking.completed_at, w.tz)
    return (
        sa.select(day, col(Booking.location_id), func.count(), _count_where(first))
        .where(
            col(Booking.completed_at) >= w.lo,
            col(Booking.completed_at) < w.hi,
            col(Booking.status) == BookingStatus.COMPLETED,
        )
        .group_by(day, col(Booking.location_id))
    )


def _views(w: Window) -> Any:
    day = local_date(PackageView.viewed_at, w.tz)
    return (
        sa.select(day, sa.literal(0), func.count())
        .where(col(PackageView.viewed_at) >= w.lo, col(PackageView.viewed_at) < w.hi)
        .group_by(day)
    )


def _points(w: Window) -> Any:
    day = local_date(PointsEntry.created_at, w.tz)
    points = col(PointsEntry.points)
    kind = col(PointsEntry.kind)
    return (
        sa.select(
            day,
            sa.literal(0),
            func.coalesce(func.sum(sa.case((points > 0, points), else_=0)), 0),
            -func.coalesce(func.sum(sa.case((kind == EntryKind.REDEEM, points), else_=0)), 0),
            -func.coalesce(func.sum(sa.case((kind == EntryKind.EXPIRE, points), else_=0)), 0),
            func.coalesce(func.sum(points), 0),
        )
        .where(col(PointsEntry.created_at) >= w.lo, col(PointsEntry.created_at) < w.hi)
        .group_by(day)
    )


METRICS: tuple[DailyMetric, ...] = (
    DailyMetric(("bookings",), True, _bookings),
    DailyMetric(("appointments", "cancelled", "no_show"), True, _appointments),
    DailyMetric(("slot_capacity", "slot_booked"), True, _slots),
    DailyMetric(("orders_created",), True, _orders_created),
    DailyMetric(("orders_paid", "paid_fen"), True, _orders_paid),
    DailyMetric(("refunded_fen",), True, _refunds),
    DailyMetric(("visits", "visits_new"), True, _visits),
    DailyMetric(("package_views",), False, _views),
    DailyMetric(
        ("points_issued", "points_redeemed", "points_expired", "points_net"), False, _points
    ),
)
NAMES: frozenset[str] = frozenset(n for m in METRICS for n in m.names)
NOT_BY_LOCATION: frozenset[str] = frozenset(
    n for m in METRICS if not m.by_location for n in m.names
)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def compute(session: TenantSession, window: Window, names: frozenset[str] | None = None) -> Rows:
    """The metrics (all, or those in ``names``) of the window's days, non-zero
    values only, one aggregate statement per metric group."""
    rows: Rows = []
    for metric in METRICS:
        if names is not None and not names.intersection(metric.names):
            continue
        for day, location, *values in session.execute(metric.build(window)).all():
            for name, value in zip(metric.names, values, strict=True):
                if value and (names is None or name in names):
                    rows.append((_as_date(day), int(location or 0), name, int(value)))
    return rows
