"""The roll-up: finished local days' metrics written once, so a dashboard over a
year reads a few thousand small rows instead of aggregating a million.

Each run recomputes the trailing ``RESETTLE_DAYS`` (a no-show marked or a
booking cancelled a few days later still lands in its day) and anything never
rolled up; ``full=True`` recomputes every day from the tenant's first data.
Rows are replaced day by day in one transaction, so a reader sees the old
numbers or the new ones, never a mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, func, select

from prm_saas.booking.models import Booking, BookingStatus, Slot
from prm_saas.campaigns.models import Campaign, CampaignStatus
from prm_saas.dashboards.metrics import Window, compute
from prm_saas.dashboards.models import (
    KpiCampaign,
    KpiCohort,
    KpiDaily,
    KpiRollupState,
    PackageView,
)
from prm_saas.dashboards.periods import Granularity, Period, month_start
from prm_saas.dashboards.sqltime import local_date, local_month
from prm_saas.membership.models import PointsEntry
from prm_saas.orders.models import Order
from prm_saas.tracking.services import conversions, sent_summary
from tenants.db import TenantSession, hash_joins, insert_rows
from tenants.models import Tenant
from tenants.types import utcnow

RESETTLE_DAYS = 14
# A campaign's conversions can still come in until this long after the end of
# its attribution window (late payments of bookings made inside it).
CAMPAIGN_SETTLE_DAYS = 1


def tenant_zone(session: TenantSession) -> str:
    """The session tenant's time zone."""
    tenant = session.get(Tenant, session.tenant_id) if session.tenant_id else None
    return tenant.timezone if tenant and tenant.timezone else "Asia/Shanghai"


def local_today(now: datetime, tz: str) -> date:
    """Today's date in ``tz`` at ``now``."""
    return now.astimezone(ZoneInfo(tz)).date()


def window(tz: str, start: date, end: date) -> Window:
    """The statement window of the local days ``start``..``end``."""
    lo, hi = Period(start, end, Granularity.DAY).utc_bounds(tz)
    return Window(tz=tz, start=start, end=end, lo=lo, hi=hi)


@dataclass(frozen=True)
class RollupResult:
    """What a run wrote."""

    first_day: date | None
    rolled_through: date | None
    rows: int
    cohort_cells: int


def state(session: TenantSession) -> KpiRollupState | None:
    """The tenant's roll-up state, if it ever ran."""
    return session.exec(select(KpiRollupState)).first()


def _first_data_day(session: TenantSession, tz: str) -> date | None:
    """The earliest local day any metric could have data on."""
    firsts = [
        session.exec(select(func.min(local_date(col(Booking.created_at), tz)))).one(),
        session.exec(select(func.min(col(Slot.day)))).one(),
        session.exec(select(func.min(local_date(col(Order.created_at), tz)))).one(),
        session.exec(select(func.min(local_date(col(PointsEntry.created_at), tz)))).one(),
        session.exec(select(func.min(local_date(col(PackageView.viewed_at), tz)))).one(),
    ]
    days = [d if isinstance(d, date) else date.fromisoformat(str(d)) for d in firsts if d]
    return min(days) if days else None


def _roll_cohorts(session: TenantSession, tz: str, from_day: date, through: date) -> int:
    """Rewrite the retention cells of the activity months from ``from_day``'s month
    on: for each patient who visited then, the month of their first visit ever."""
    since = month_start(from_day)
    lo = window(tz, since, since).lo
    hi = window(tz, through, through).hi
    completed = col(Booking.status) == BookingStatus.COMPLETED
    recent = sa.select(col(Booking.patient_id)).where(
        completed, col(Booking.completed_at) >= lo, col(Booking.completed_at) < hi
    )
    firsts = (
        sa.select(
            col(Booking.patient_id).label("patient_id"),
            func.min(local_month(col(Booking.completed_at), tz)).label("cohort"),
        )
        .where(completed, col(Booking.patient_id).in_(recent))
        .group_by(col(Booking.patient_id))
        .subquery("firsts")
    )
    activity = local_month(col(Booking.completed_at), tz)
    # Right after a tenant's bookings arrive in bulk (an import, the demo) the
    # planner may still think the table nearly empty and nest the grouped
    # subquery inside a loop over every booking (minutes for 2,000 bookings).
    with hash_joins(session):
        cells = session.execute(
            sa.select(firsts.c.cohort, activity, func.count(sa.distinct(col(Booking.patient_id))))
            .join(firsts, firsts.c.patient_id == col(Booking.patient_id))
            .where(completed, col(Booking.completed_at) >= lo, col(Booking.completed_at) < hi)
            .group_by(firsts.c.cohort, activity)
        ).all()
    session.execute(sa.delete(KpiCohort).where(col(KpiCohort.activity_month) >= since))
    rows = [
        {
            "cohort_month": _as_date(c),
            "activity_month": _as_date(a),
            "patients": int(n),
        }
        for c, a, n in cells
    ]
    insert_rows(session, KpiCohort, rows)
    return len(rows)


def _roll_campaigns(session: TenantSession, now: datetime) -> int:
    """Refresh the numbers of every campaign still able to convert (and of any
    not computed yet); a campaign whose attribution window closed before its
    last computation is left as it is."""
    campaigns = session.exec(
        select(Campaign).where(col(Campaign.status) != CampaignStatus.DRAFT)
    ).all()
    rows = {r.campaign_id: r for r in session.exec(select(KpiCampaign)).all()}
    refreshed = 0
    for c in campaigns:
        assert c.id is not None
        prefix = f"campaign:{c.id}:"
        sent, last = sent_summary(session, source_prefix=prefix)
        row = rows.get(c.id)
        settled_at = (
            last + timedelta(days=c.attribution_days + CAMPAIGN_SETTLE_DAYS) if last else None
        )
        if row is not None and settled_at is not None and row.computed_at > settled_at:
            continue
        conv = conversions(session, source_prefix=prefix, window_days=c.attribution_days)
        row = row or KpiCampaign(campaign_id=c.id)
        row.sent, row.converted, row.revenue_fen = sent, conv.patients, conv.revenue_fen
        row.computed_at = now
        session.add(row)
        refreshed += 1
    session.flush()
    return refreshed


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def roll_up(
    session: TenantSession, *, now: datetime | None = None, full: bool = False
) -> RollupResult:
    """Recompute the session tenant's finished days that may have changed."""
    now = now or utcnow()
    tz = tenant_zone(session)
    through = local_today(now, tz) - timedelta(days=1)
    # One run per tenant at a time: the state row is the lock (made first if new).
    insert_rows(
        session,
        KpiRollupState,
        [{"rolled_through": None, "rolled_at": now}],
        on_conflict_do_nothing=("tenant_id",),
    )
    current = session.exec(select(KpiRollupState).with_for_update()).one()
    if full or current.rolled_through is None:
        first = _first_data_day(session, tz)
    else:
        first = min(
            current.rolled_through + timedelta(days=1),
            through - timedelta(days=RESETTLE_DAYS - 1),
        )
    written = cells = 0
    if first is not None and first <= through:
        rows = compute(session, window(tz, first, through))
        session.execute(
            sa.delete(KpiDaily).where(col(KpiDaily.day) >= first, col(KpiDaily.day) <= through)
        )
        insert_rows(
            session,
            KpiDaily,
            [{"day": d, "location_id": loc, "metric": m, "value": v} for d, loc, m, v in rows],
        )
        written = len(rows)
        cells = _roll_cohorts(session, tz, first, through)
    _roll_campaigns(session, now)
    current.rolled_through = through if first is not None else current.rolled_through
    current.rolled_at = now.astimezone(UTC)
    session.add(current)
    session.flush()
    return RollupResult(first, current.rolled_through, written, cells)
