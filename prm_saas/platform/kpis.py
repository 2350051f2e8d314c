"""The platform dashboard: tenants by status, sign-ups, MRR, churn, usage and the
busiest tenants, for platform operators.

Every chart is one SQL aggregate over platform tables (``tenant``,
``tenant_subscription``, ``tenant_usage_day``); time buckets are joined in as a
small table of UTC windows, so a bucket with nothing in it still has its row.
Days are UTC days. Usage comes from the hourly roll-up (``platform.usage``);
everything else is live, and the dashboard says how fresh the usage is.

Definitions (docs/design/dashboards.md):
- a subscription is *open at* an instant t when it started before t and had not
  ended before t (the state just before t);
- MRR of a month: the monthly price of the subscriptions open at the month's end
  (for the current month: now; for a range ending mid-month: the range's end);
- a *churn* is a subscription that ended with no successor of the same tenant
  starting at that instant (a plan change closes one row and opens the next at
  the same instant); churn rate of a month: the tenants open at the month's start
  (clipped to the range) that churned within it, as a percent of those open at
  the start; MRR lost: the monthly price of every churn in the month.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select

from prm_saas.accounts.authz import Principal, require_operator
from prm_saas.billing.models import TenantBilling
from prm_saas.dashboards.charts import Chart, Kind, Series, Unit, Value, rate
from prm_saas.dashboards.periods import Period, month_start, next_month, parse_period
from prm_saas.dashboards.tenant import Freshness
from prm_saas.platform.models import TenantSubscription, TenantUsageDay
from tenants.db import TenantSession
from tenants.errors import NotFound
from tenants.models import Tenant, TenantStatus
from tenants.types import UTCDateTime, utcnow

CHART_KEYS = ("tenants_by_status", "signups", "mrr", "churn", "usage", "top_tenants")
TOP_TENANTS = 10


@dataclass(frozen=True)
class PlatformDashboard:
    """What the operator's dashboard shows."""

    period: Period
    compare: bool
    charts: list[Chart]
    freshness: Freshness  # rolled_through / rolled_at: the usage roll-up; the rest is live


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def _windows(rows: Sequence[tuple[str, datetime, datetime]]) -> Any:
    """A derived table ``w(k, lo, hi)`` of labelled UTC windows (a UNION ALL of
    literal rows; VALUES lists are spelled differently by each database)."""
    parts = [
        sa.select(
            sa.literal(k, sa.String()).label("k"),
            sa.literal(lo, UTCDateTime()).label("lo"),
            sa.literal(hi, UTCDateTime()).label("hi"),
        )
        for k, lo, hi in rows
    ]
    union: Any = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    return union.subquery("w")


def _bucket_windows(period: Period) -> list[tuple[str, datetime, datetime]]:
    starts = period.buckets()
    ends = [*starts[1:], period.end + timedelta(days=1)]
    return [(b.isoformat(), _midnight(b), _midnight(e)) for b, e in zip(starts, ends, strict=True)]


def _month_windows(period: Period, now: datetime) -> list[tuple[str, datetime, datetime]]:
    """Each month the range touches: [its first instant in the range, its last
    instant in the range or now)."""
    out = []
    range_lo, range_hi = _midnight(period.start), min(_midnight(period.end + timedelta(1)), now)
    m = month_start(period.start)
    while m <= period.end:
        lo = max(_midnight(m), range_lo)
        hi = max(min(_midnight(next_month(m)), range_hi), lo)
        out.append((m.strftime("%Y-%m"), lo, hi))
        m = next_month(m)
    return out


def _aligned(values: list[Value], n: int) -> list[Value]:
    """``values`` cut or padded with gaps to ``n`` items (a previous period can
    have one bucket more or less than the current)."""
    return (values + [None] * n)[:n]


# --- one statement per chart --------------------------------------------------------------


def _status_counts(session: TenantSession) -> dict[str, int]:
    q = select(Tenant.status, func.count()).group_by(Tenant.status)
    return {str(s): int(n) for s, n in session.exec(q).all()}


def _signups(session: TenantSession, period: Period) -> tuple[list[str], list[Value]]:
    w = _windows(_bucket_windows(period))
    q = (
        select(w.c.k, func.count(col(Tenant.id)))
        .select_from(w)
        .outerjoin(
            Tenant, sa.and_(col(Tenant.created_at) >= w.c.lo, col(Tenant.created_at) < w.c.hi)
        )
        .group_by(w.c.k)
        .order_by(w.c.k)
    )
    rows = session.exec(q).all()
    return [str(k) for k, _n in rows], [int(n) for _k, n in rows]


def _open_at(sub: Any, at: Any) -> Any:
    """The subscription was open just before ``at``."""
    return sa.and_(sub.started_at < at, sa.or_(sub.ended_at.is_(None), sub.ended_at >= at))


def _mrr(session: TenantSession, period: Period, now: datetime) -> tuple[list[str], list[Value]]:
    """The monthly price of every subscription open at each month's end, except
    those of tenants still in their trial then (a trial pays nothing yet)."""
    w = _windows(_month_windows(period, now))
    s: Any = aliased(TenantSubscription)
    in_trial = sa.exists().where(
        col(TenantBilling.subject_tenant_id) == s.subject_tenant_id,
        col(TenantBilling.trial_ends_at) >= w.c.hi,
    )
    q = (
        select(w.c.k, func.coalesce(func.sum(s.monthly_fen), 0))
        .select_from(w)
        .outerjoin(s, sa.and_(_open_at(s, w.c.hi), ~in_trial))
        .group_by(w.c.k)
        .order_by(w.c.k)
    )
    rows = session.exec(q).all()
    return [str(k) for k, _v in rows], [int(v) for _k, v in rows]


@dataclass(frozen=True)
class _ChurnMonth:
    month: str
    open_at_start: int
    churned_from_start: int
    churned: int
    mrr_lost: int


def _range_window(period: Period, now: datetime) -> list[tuple[str, datetime, datetime]]:
    """The whole range as one window (up to now)."""
    lo = _midnight(period.start)
    return [("all", lo, max(min(_midnight(period.end + timedelta(1)), now), lo))]


def _churn(
    session: TenantSession, windows: list[tuple[str, datetime, datetime]]
) -> list[_ChurnMonth]:
    """Per window: tenants open at its start, those of them that churned in it,
    every tenant that churned in it and the monthly price of those churns."""
    w = _windows(windows)
    opened: Any = aliased(TenantSubscription)
    ended: Any = aliased(TenantSubscription)
    successor: Any = aliased(TenantSubscription)
    earlier: Any = aliased(TenantSubscription)
    churn_event = sa.and_(
        ended.ended_at >= w.c.lo,
        ended.ended_at < w.c.hi,
        ~sa.exists().where(
            successor.subject_tenant_id == ended.subject_tenant_id,
            successor.started_at == ended.ended_at,
        ),
    )
    open_at_start = (
        select(func.count(sa.distinct(opened.subject_tenant_id)))
        .where(_open_at(opened, w.c.lo))
        .scalar_subquery()
    )
    churned_from_start = (
        select(func.count(sa.distinct(ended.subject_tenant_id)))
        .where(
            churn_event,
            sa.exists().where(
                earlier.subject_tenant_id == ended.subject_tenant_id, _open_at(earlier, w.c.lo)
            ),
        )
        .scalar_subquery()
    )
    churned = (
        select(func.count(sa.distinct(ended.subject_tenant_id))).where(churn_event)
    ).scalar_subquery()
    lost = (
        select(func.coalesce(func.sum(ended.monthly_fen), 0)).where(churn_event)
    ).scalar_subquery()
    q = sa.select(w.c.k, open_at_start, churned_from_start, churned, lost).order_by(w.c.k)
    return [
        _ChurnMonth(str(k), int(o), int(cs), int(c), int(m))
        for k, o, cs, c, m in session.execute(q).all()
    ]


@dataclass(frozen=True)
class _TenantUsage:
    name: str
    slug: str
    patients: int
    messages: int
    bookings: int


def _usage(session: TenantSession, period: Period) -> list[_TenantUsage]:
    """Per tenant with usage rows in the range: patients on its last day in the
    range, messages and bookings summed over the range."""
    u: Any = aliased(TenantUsageDay)
    last_row: Any = aliased(TenantUsageDay)
    in_range = sa.and_(u.day >= period.start, u.day <= period.end)
    sums = (
        select(
            u.subject_tenant_id.label("tid"),
            func.max(u.day).label("last_day"),
            func.sum(u.messages).label("messages"),
            func.sum(u.bookings).label("bookings"),
        )
        .where(in_range)
        .group_by(u.subject_tenant_id)
        .subquery("sums")
    )
    q = (
        sa.select(
            col(Tenant.name), col(Tenant.slug), last_row.patients, sums.c.messages, sums.c.bookings
        )
        .select_from(sums)
        .join(
            last_row,
            sa.and_(last_row.subject_tenant_id == sums.c.tid, last_row.day == sums.c.last_day),
        )
        .join(Tenant, col(Tenant.id) == sums.c.tid)
        .order_by(last_row.patients.desc(), col(Tenant.name), col(Tenant.id))
    )
    return [
        _TenantUsage(str(n), str(s), int(p), int(m or 0), int(b or 0))
        for n, s, p, m, b in session.execute(q).all()
    ]


def _top_tenants(session: TenantSession, period: Period) -> list[tuple[str, str, int]]:
    total = func.sum(TenantUsageDay.bookings)
    q = (
        select(Tenant.name, Tenant.slug, total)
        .join(Tenant, col(Tenant.id) == col(TenantUsageDay.subject_tenant_id))
        .where(col(TenantUsageDay.day) >= period.start, col(TenantUsageDay.day) <= period.end)
        .group_by(col(Tenant.id), col(Tenant.name), col(Tenant.slug))
        .having(total > 0)
        .order_by(total.desc(), col(Tenant.name), col(Tenant.id))
        .limit(TOP_TENANTS)
    )
    return [(str(n), str(s), int(b)) for n, s, b in session.exec(q).all()]


def _freshness(session: TenantSession, now: datetime) -> Freshness:
    through, at = session.exec(
        select(func.max(TenantUsageDay.day), func.max(TenantUsageDay.updated_at))
    ).one()
    if isinstance(through, str):  # SQLite returns an aggregate's date as text
        through = date.fromisoformat(through)
    if isinstance(at, str):
        at = datetime.fromisoformat(at).replace(tzinfo=UTC)
    elif isinstance(at, datetime) and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return Freshness(rolled_through=through, rolled_at=at, live_from=None, computed_at=now)


def _names(rows: Sequence[tuple[str, str]]) -> list[str]:
    """Tenant names for an axis; a name two tenants share gets its slug."""
    seen: dict[str, int] = {}
    for name, _slug in rows:
        seen[name] = seen.get(name, 0) + 1
    return [name if seen[name] == 1 else f"{name} ({slug})" for name, slug in rows]


# --- the charts -------------------------------------------------------------------------------


def _chart_tenants_by_status(session: TenantSession, **_: Any) -> Chart:
    counts = _status_counts(session)
    # Only the statuses some tenant has: a pie draws a zero slice as clutter.
    statuses = [s.value for s in TenantStatus if counts.get(s.value, 0) > 0]
    values: list[Value] = [counts[s] for s in statuses]
    return Chart(
        key="tenants_by_status",
        kind=Kind.PIE,
        unit=Unit.COUNT,
        x=[f"tenant_status.{s}" for s in statuses],
        series=[Series("dashboard.series.tenants", values)],
        totals={"current": sum(counts.values())},
        x_keys=True,
        by_location=False,
    )


def _chart_signups(session: TenantSession, period: Period, compare: bool, **_: Any) -> Chart:
    x, values = _signups(session, period)
    previous: list[Series] = []
    totals: dict[str, Value] = {"current": sum(int(v or 0) for v in values)}
    if compare:
        _px, pvalues = _signups(session, period.previous())
        previous = [Series("dashboard.series.signups", _aligned(pvalues, len(x)))]
        totals["previous"] = sum(int(v or 0) for v in pvalues)
    return Chart(
        key="signups",
        kind=Kind.BAR,
        unit=Unit.COUNT,
        x=x,
        series=[Series("dashboard.series.signups", values)],
        previous=previous,
        totals=totals,
        by_location=False,
    )


def _chart_mrr(
    session: TenantSession, period: Period, compare: bool, now: datetime, **_: Any
) -> Chart:
    x, values = _mrr(session, period, now)
    lost = [m.mrr_lost for m in _churn(session, _month_windows(period, now))]
    totals: dict[str, Value] = {"current": values[-1] if values else 0}
    previous: list[Series] = []
    if compare:
        prev = period.previous()
        _px, pvalues = _mrr(session, prev, now)
        previous = [Series("dashboard.series.mrr", _aligned(pvalues, len(x)))]
        totals["previous"] = pvalues[-1] if pvalues else 0
    totals["mrr_lost"] = sum(lost)
    return Chart(
        key="mrr",
        kind=Kind.LINE,
        unit=Unit.FEN,
        x=x,
        series=[
            Series("dashboard.series.mrr", values),
            Series("dashboard.series.mrr_lost", list(lost)),
        ],
        previous=previous,
        totals=totals,
        by_location=False,
    )


def _chart_churn(
    session: TenantSession, period: Period, compare: bool, now: datetime, **_: Any
) -> Chart:
    months = _churn(session, _month_windows(period, now))
    (whole,) = _churn(session, _range_window(period, now))
    rates: list[Value] = [rate(m.churned_from_start, m.open_at_start) for m in months]
    totals: dict[str, Value] = {"current": rate(whole.churned_from_start, whole.open_at_start)}
    previous: list[Series] = []
    if compare:
        prev_period = period.previous()
        prev = _churn(session, _month_windows(prev_period, now))
        (prev_whole,) = _churn(session, _range_window(prev_period, now))
        previous = [
            Series(
                "dashboard.series.churn_rate",
                _aligned([rate(m.churned_from_start, m.open_at_start) for m in prev], len(months)),
            )
        ]
        totals["previous"] = rate(prev_whole.churned_from_start, prev_whole.open_at_start)
    return Chart(
        key="churn",
        kind=Kind.BAR,
        unit=Unit.PERCENT,
        x=[m.month for m in months],
        series=[Series("dashboard.series.churn_rate", rates)],
        previous=previous,
        totals=totals,
        by_location=False,
    )


def _chart_usage(session: TenantSession, period: Period, **_: Any) -> Chart:
    rows = _usage(session, period)
    return Chart(
        key="usage",
        kind=Kind.BAR,
        unit=Unit.COUNT,
        x=_names([(r.name, r.slug) for r in rows]),
        series=[
            Series("dashboard.series.platform_patients", [r.patients for r in rows]),
            Series("dashboard.series.platform_messages", [r.messages for r in rows]),
            Series("dashboard.series.bookings", [r.bookings for r in rows]),
        ],
        totals={
            "platform_patients": sum(r.patients for r in rows),
            "platform_messages": sum(r.messages for r in rows),
            "platform_bookings": sum(r.bookings for r in rows),
        },
        by_location=False,
    )


def _chart_top_tenants(session: TenantSession, period: Period, **_: Any) -> Chart:
    rows = _top_tenants(session, period)
    return Chart(
        key="top_tenants",
        kind=Kind.BAR,
        unit=Unit.COUNT,
        x=_names([(n, s) for n, s, _b in rows]),
        series=[Series("dashboard.series.bookings", [b for _n, _s, b in rows])],
        totals={"current": sum(b for _n, _s, b in rows)},
        by_location=False,
    )


_CHARTS: dict[str, Callable[..., Chart]] = {
    "tenants_by_status": _chart_tenants_by_status,
    "signups": _chart_signups,
    "mrr": _chart_mrr,
    "churn": _chart_churn,
    "usage": _chart_usage,
    "top_tenants": _chart_top_tenants,
}


def _prepare(
    actor: Principal,
    start: date | str | None,
    end: date | str | None,
    granularity: str | None,
    now: datetime | None,
) -> tuple[Period, datetime]:
    require_operator(actor)
    at = now or utcnow()
    period = parse_period(
        start=start, end=end, granularity=granularity, today=at.astimezone(UTC).date()
    )
    return period, at


def platform_dashboard(
    *,
    session: TenantSession,
    actor: Principal,
    start: date | str | None = None,
    end: date | str | None = None,
    granularity: str | None = None,
    compare: bool = False,
    now: datetime | None = None,
) -> PlatformDashboard:
    """Every platform chart for the range (default: the last 30 UTC days)."""
    period, at = _prepare(actor, start, end, granularity, now)
    want = bool(compare)
    charts = [
        _CHARTS[key](session=session, period=period, compare=want, now=at) for key in CHART_KEYS
    ]
    return PlatformDashboard(
        period=period, compare=want, charts=charts, freshness=_freshness(session, at)
    )


def platform_chart(
    *,
    session: TenantSession,
    actor: Principal,
    key: str,
    start: date | str | None = None,
    end: date | str | None = None,
    granularity: str | None = None,
    compare: bool = False,
    now: datetime | None = None,
) -> Chart:
    """One chart of the platform dashboard (e.g. for its CSV); an unknown key is NotFound."""
    period, at = _prepare(actor, start, end, granularity, now)
    if not isinstance(key, str) or key not in _CHARTS:
        raise NotFound()
    return _CHARTS[key](session=session, period=period, compare=bool(compare), now=at)
