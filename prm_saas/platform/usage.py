"""Each tenant's daily usage (patients, messages sent, bookings confirmed) for the
platform: read inside the tenant, written at the platform level.

The tenant's tables can only be read in its own transaction (on PostgreSQL,
row-level security hides them from any other), and ``tenant_usage_day`` can only
be written at the platform level; so the numbers are computed in a tenant
session (``usage_rows``) and stored in a platform session (``store_usage``).
``refresh_usage`` does both; the KPI roll-up task calls it after each tenant.
Days are UTC days: the platform compares tenants in different zones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import col, func, select

from prm_saas.accounts.models import Patient
from prm_saas.booking.models import Booking
from prm_saas.dashboards.sqltime import local_date
from prm_saas.messaging.models import Message, MessageStatus
from prm_saas.platform.models import TenantUsageDay
from tenants.db import TenantSession, platform_session, tenant_session
from tenants.errors import NoTenantContext
from tenants.types import utcnow


@dataclass(frozen=True)
class UsageRow:
    """One tenant's usage on one UTC day."""

    day: date
    patients: int  # registered at the end of the day
    new_patients: int
    messages: int  # sent that day
    bookings: int  # confirmed that day


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def _per_day(session: TenantSession, stamp: Any, lo: datetime, hi: datetime, *where: Any) -> Any:
    """``{utc day: count}`` of the rows whose ``stamp`` falls in [lo, hi): one
    grouped aggregate."""
    day = local_date(stamp, "UTC")
    q = select(day, func.count()).where(stamp >= lo, stamp < hi, *where).group_by(day)
    return {_as_date(d): int(n) for d, n in session.exec(q).all()}


def _as_date(value: object) -> date:
    # SQLite returns the day as text, PostgreSQL as a date.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def usage_rows(session: TenantSession, *, days: Sequence[date]) -> list[UsageRow]:
    """The usage of the session's tenant on each of ``days`` (UTC), in day order.

    Runs in the tenant's own session: every statement is scoped to it by the ORM
    wall and, on PostgreSQL, by row-level security.
    """
    if session.tenant_id is None:
        raise NoTenantContext("usage_rows reads a tenant's tables: open a tenant session")
    wanted = sorted(set(days))
    if not wanted:
        return []
    lo, hi = _midnight(wanted[0]), _midnight(wanted[-1] + timedelta(days=1))
    before = session.exec(
        select(func.count()).select_from(Patient).where(col(Patient.created_at) < lo)
    ).one()
    new = _per_day(session, col(Patient.created_at), lo, hi)
    sent = _per_day(
        session, col(Message.sent_at), lo, hi, col(Message.status) == MessageStatus.SENT
    )
    confirmed = _per_day(session, col(Booking.confirmed_at), lo, hi)
    out: list[UsageRow] = []
    total = int(before)
    d = wanted[0]
    want = set(wanted)
    # Patients at the end of a day are those before the range plus the new ones
    # of every day up to it (days between the wanted ones count too).
    while d <= wanted[-1]:
        total += new.get(d, 0)
        if d in want:
            out.append(
                UsageRow(
                    day=d,
                    patients=total,
                    new_patients=new.get(d, 0),
                    messages=sent.get(d, 0),
                    bookings=confirmed.get(d, 0),
                )
            )
        d += timedelta(days=1)
    return out


def store_usage(
    session: TenantSession,
    *,
    tenant_id: int,
    rows: Sequence[UsageRow],
    now: datetime | None = None,
) -> int:
    """Write (insert or replace) a tenant's usage days at the platform level;
    returns how many rows were written."""
    if session.tenant_id is not None:
        raise NoTenantContext("tenant_usage_day is written at the platform level")
    if not rows:
        return 0
    at = now or utcnow()
    values = [
        {
            "subject_tenant_id": tenant_id,
            "day": r.day,
            "patients": r.patients,
            "new_patients": r.new_patients,
            "messages": r.messages,
            "bookings": r.bookings,
            "updated_at": at,
        }
        for r in rows
    ]
    table = TenantUsageDay.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["subject_tenant_id", "day"],
        set_={
            name: getattr(stmt.excluded, name)
            for name in ("patients", "new_patients", "messages", "bookings", "updated_at")
        },
    )
    session.execute(stmt, values)
    return len(values)


def refresh_usage(
    tenant_id: int, days: Sequence[date], now: datetime | None = None
) -> list[UsageRow]:
    """Recompute a tenant's usage on ``days`` and store it: read in the tenant's
    session, written in a platform session (two transactions; a rerun repeats
    both, so a failure between them leaves the old numbers until the next run)."""
    with tenant_session(tenant_id) as s:
        rows = usage_rows(s, days=days)
    with platform_session() as ps:
        store_usage(ps, tenant_id=tenant_id, rows=rows, now=now)
    return rows


# The name the dashboards contract gives the roll-up task.
record_usage = refresh_usage


def usage_of(session: TenantSession, *, tenant_id: int, start: date, end: date) -> list[UsageRow]:
    """The stored usage days of one tenant in [start, end] (platform level)."""
    q = (
        select(TenantUsageDay)
        .where(
            TenantUsageDay.subject_tenant_id == tenant_id,
            col(TenantUsageDay.day) >= start,
            col(TenantUsageDay.day) <= end,
        )
        .order_by(col(TenantUsageDay.day))
    )
    return [
        UsageRow(
            day=u.day,
            patients=u.patients,
            new_patients=u.new_patients,
            messages=u.messages,
            bookings=u.bookings,
        )
        for u in session.exec(q)
    ]
