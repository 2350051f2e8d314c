"""The tenant dashboard: a clinic's KPIs for a range of its local days.

Finished days come from the roll-up, the days after it from the same SQL run
live (prm_saas/dashboards/metrics.py), so any range reads at most a year of
small daily rows plus today's aggregates. Sets that are not sums of days
(retention cohorts, challenges, campaigns, demographics) are their own SQL
aggregates. Staff with DASHBOARD_VIEW see the operational charts; DASHBOARD_FULL
adds money, the funnel, points, campaigns and cohorts. Everything is scoped to
the session's tenant: there is no way to ask for another one's numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.models import Patient, Sex
from prm_saas.booking.models import Location
from prm_saas.campaigns.models import Campaign, CampaignStatus
from prm_saas.challenges.models import Challenge, ChallengeParticipant, ChallengeStatus
from prm_saas.dashboards.charts import Chart, Kind, Series, Unit, Value, rate
from prm_saas.dashboards.metrics import NOT_BY_LOCATION, compute
from prm_saas.dashboards.models import KpiCampaign, KpiCohort, KpiDaily, KpiRollupState
from prm_saas.dashboards.periods import Period, month_start, parse_period
from prm_saas.dashboards.rollup import local_today, state, tenant_zone, window
from prm_saas.tracking.services import conversions, sent_summary
from tenants.db import TenantSession
from tenants.errors import NotFound
from tenants.types import utcnow

MAX_COHORTS = 13
MAX_CAMPAIGNS = 8
MAX_CHALLENGES = 10
AGE_BANDS: tuple[tuple[str, int | None, int | None], ...] = (
    ("dashboard.age.under_18", None, 18),
    ("dashboard.age.18_29", 18, 30),
    ("dashboard.age.30_39", 30, 40),
    ("dashboard.age.40_49", 40, 50),
    ("dashboard.age.50_59", 50, 60),
    ("dashboard.age.60_plus", 60, None),
)


@dataclass(frozen=True)
class Freshness:
    """Where the numbers come from and how old they are."""

    rolled_through: date | None
    rolled_at: datetime | None
    live_from: date | None
    computed_at: datetime


@dataclass(frozen=True)
class TenantDashboard:
    """The charts the actor may see, for the checked range."""

    period: Period
    location_id: int | None
    compare: bool
    charts: list[Chart]
    freshness: Freshness
    locations: list[tuple[int, str, str]] = field(default_factory=list)


# --- reading daily metrics ------------------------------------------------------------------


@dataclass
class _Ctx:
    session: TenantSession
    tz: str
    today: date
    period: Period
    compare: bool
    location: int | None
    locale: str
    rollup: KpiRollupState | None
    metrics: frozenset[str]  # the daily metrics the requested charts read
    cache: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    @property
    def rolled_through(self) -> date | None:
        return self.rollup.rolled_through if self.rollup else None

    def _live_from(self, period: Period) -> date | None:
        """The first day of ``period`` the roll-up does not hold (None: it holds all)."""
        rt = self.rolled_through
        first = period.start if rt is None else max(period.start, rt + timedelta(days=1))
        return first if first <= period.end else None

    def _keep(self, metric: str, location: int, wanted: int | None) -> bool:
        return wanted is None or location == wanted or metric in NOT_BY_LOCATION

    def daily(self, period: Period, located: bool = True) -> dict[str, dict[date, int]]:
        """Every daily metric of ``period`` per day, summed over the locations (or
        of the location filtered): one query of the roll-up, then the live
        statements for the days after it. Shared by every chart of a request."""
        location = self.location if located else None
        key = ("daily", period.start, period.end, location)
        if key in self.cache:
            return self.cache[key]
        out: dict[str, dict[date, int]] = defaultdict(dict)
        rt = self.rolled_through
        if rt is not None and period.start <= rt:
            q = select(col(KpiDaily.metric), col(KpiDaily.day), func.sum(KpiDaily.value)).where(
                col(KpiDaily.day) >= period.start,
                col(KpiDaily.day) <= min(period.end, rt),
                col(KpiDaily.metric).in_(sorted(self.metrics)),
            )
            if location is not None:
                q = q.where(
                    (col(KpiDaily.location_id) == location)
                    | col(KpiDaily.metric).in_(sorted(NOT_BY_LOCATION))
                )
            for m, d, v in self.session.exec(q.group_by(col(KpiDaily.metric), col(KpiDaily.day))):
                out[m][d] = int(v or 0)
        live_from = self._live_from(period)
        if live_from is not None:
            live = window(self.tz, live_from, period.end)
            for d, loc, m, v in compute(self.session, live, self.metrics):
                if self._keep(m, loc, location):
                    out[m][d] = out[m].get(d, 0) + v
        self.cache[key] = out
        return out

    def _bucket_index(self, period: Period) -> dict[date, int]:
        key = ("buckets", period.start, period.end, period.granularity)
        if key not in self.cache:
            index = {b: i for i, b in enumerate(period.buckets())}
            days = (period.start + timedelta(days=i) for i in range(period.days))
            self.cache[key] = {d: index[period.bucket_of(d)] for d in days}
        return self.cache[key]

    def per_bucket(
        self, period: Period, names: Iterable[str], located: bool = True
    ) -> dict[str, list[int]]:
        """Each metric summed into the period's buckets."""
        names = list(names)
        assert set(names) <= self.metrics, f"{names} not declared in CHART_METRICS"
        daily = self.daily(period, located)
        index = self._bucket_index(period)
        n = len(period.buckets())
        out: dict[str, list[int]] = {}
        for name in names:
            sums = [0] * n
            for d, v in daily.get(name, {}).items():
                sums[index[d]] += v
            out[name] = sums
        return out

    def totals(self, period: Period, names: Iterable[str], located: bool = True) -> dict[str, int]:
        names = list(names)
        assert set(names) <= self.metrics, f"{names} not declared in CHART_METRICS"
        daily = self.daily(period, located)
        return {name: sum(daily.get(name, {}).values()) for name in names}

    def per_location(self, period: Period, names: Iterable[str]) -> dict[str, dict[int, int]]:
        """Each metric summed over the period per location."""
        wanted = sorted(names)
        out: dict[str, dict[int, int]] = {n: defaultdict(int) for n in wanted}
        rt = self.rolled_through
        if rt is not None and period.start <= rt:
            q = (
                select(col(KpiDaily.metric), col(KpiDaily.location_id), func.sum(KpiDaily.value))
                .where(
                    col(KpiDaily.day) >= period.start,
                    col(KpiDaily.day) <= min(period.end, rt),
                    col(KpiDaily.metric).in_(wanted),
                )
                .group_by(col(KpiDaily.metric), col(KpiDaily.location_id))
            )
            for m, loc, v in self.session.exec(q):
                out[m][loc] += int(v or 0)
        live_from = self._live_from(period)
        if live_from is not None:
            window_ = window(self.tz, live_from, period.end)
            for _d, loc, m, v in compute(self.session, window_, frozenset(wanted)):
                out[m][loc] += v
        return out

    def name(self, zh: str, en: str) -> str:
        return en if self.locale == "en" and en else zh


def _x(period: Period) -> list[str]:
    return [b.isoformat() for b in period.buckets()]


def _aligned(values: list[Value], n: int) -> list[Value]:
    """A previous period's buckets, aligned by position with the current ones."""
    return (values + [None] * n)[:n]


def _time_series(
    ctx: _Ctx,
    key: str,
    unit: Unit,
    series: list[tuple[str, Callable[[dict[str, list[int]], int], Value]]],
    names: frozenset[str],
    kind: Kind = Kind.LINE,
    total: Callable[[dict[str, int]], Value] | None = None,
    located: bool = True,
) -> Chart:
    """A chart of per-bucket values, each computed from the bucket's metric sums."""

    def build(period: Period) -> tuple[list[Series], Value]:
        sums = ctx.per_bucket(period, names, located)
        n = len(period.buckets())
        out = [Series(label, [fn(sums, i) for i in range(n)]) for label, fn in series]
        flat = {m: sum(vs) for m, vs in sums.items()}
        head = total(flat) if total else None
        return out, head

    current, head = build(ctx.period)
    totals: dict[str, Value] = {"current": head}
    previous: list[Series] = []
    if ctx.compare:
        before, head_before = build(ctx.period.previous())
        n = len(ctx.period.buckets())
        previous = [Series(s.label, _aligned(s.values, n)) for s in before]
        totals["previous"] = head_before
    return Chart(
        key=key,
        kind=kind,
        unit=unit,
        x=_x(ctx.period),
        series=current,
        previous=previous,
        totals=totals,
        by_location=located and not names <= NOT_BY_LOCATION,
    )


def _get(name: str) -> Callable[[dict[str, list[int]], int], Value]:
    return lambda sums, i: sums[name][i]


# --- the charts ------------------------------------------------------------------------------


def _bookings(ctx: _Ctx) -> Chart:
    return _time_series(
        ctx,
        "bookings",
        Unit.COUNT,
        [("dashboard.series.bookings", _get("bookings"))],
        frozenset({"bookings"}),
        total=lambda t: t["bookings"],
    )


def _revenue(ctx: _Ctx) -> Chart:
    return _time_series(
        ctx,
        "revenue",
        Unit.FEN,
        [
            ("dashboard.series.paid", _get("paid_fen")),
            ("dashboard.series.refunded", _get("refunded_fen")),
            ("dashboard.series.net", lambda s, i: s["paid_fen"][i] - s["refunded_fen"][i]),
        ],
        frozenset({"paid_fen", "refunded_fen"}),
        total=lambda t: t["paid_fen"] - t["refunded_fen"],
    )


FUNNEL_STEPS = (
    ("dashboard.funnel.views", "package_views"),
    ("dashboard.funnel.orders", "orders_created"),
    ("dashboard.funnel.paid", "orders_paid"),
    ("dashboard.funnel.completed", "visits"),
)


def _funnel(ctx: _Ctx) -> Chart:
    names = frozenset(m for _k, m in FUNNEL_STEPS)

    def steps(period: Period) -> list[Value]:
        t = ctx.totals(period, names, located=False)
        return [t[m] for _k, m in FUNNEL_STEPS]

    current = steps(ctx.period)
    previous = (
        [Series("dashboard.series.count", steps(ctx.period.previous()))] if ctx.compare else []
    )
    return Chart(
        key="funnel",
        kind=Kind.FUNNEL,
        unit=Unit.COUNT,
        x=[k for k, _m in FUNNEL_STEPS],
        series=[Series("dashboard.series.count", current)],
        previous=previous,
        # Headlines are in the chart's unit: here, the checkups completed.
        totals={"current": current[3]},
        x_keys=True,
        by_location=False,
    )


def _rates(ctx: _Ctx) -> Chart:
    def no_show(s: dict[str, list[int]], i: int) -> Value:
        return rate(s["no_show"][i], s["appointments"][i] - s["cancelled"][i])

    def cancelled(s: dict[str, list[int]], i: int) -> Value:
        return rate(s["cancelled"][i], s["appointments"][i])

    return _time_series(
        ctx,
        "rates",
        Unit.PERCENT,
        [
            ("dashboard.series.no_show_rate", no_show),
            (
                "dashboard.series.cancel_rate",
                lambda s, i: rate(s["cancelled"][i], s["appointments"][i]),
            ),
        ],
        frozenset({"appointments", "cancelled", "no_show"}),
        total=lambda t: rate(t["no_show"], t["appointments"] - t["cancelled"]),
    )


def _locations(ctx: _Ctx) -> list[tuple[int, str, str]]:
    rows = ctx.session.exec(
        select(Location.id, Location.name_zh, Location.name_en).order_by(col(Location.id))
    ).all()
    return [(int(i or 0), zh, en) for i, zh, en in rows]


def _utilisation(ctx: _Ctx) -> Chart:
    names = frozenset({"slot_capacity", "slot_booked"})
    locations = [loc for loc in _locations(ctx) if ctx.location is None or loc[0] == ctx.location]

    def values(period: Period) -> list[Value]:
        per = ctx.per_location(period, names)
        return [rate(per["slot_booked"][i], per["slot_capacity"][i]) for i, _zh, _en in locations]

    current = values(ctx.period)
    booked = ctx.totals(ctx.period, names)
    return Chart(
        key="utilisation",
        kind=Kind.BAR,
        unit=Unit.PERCENT,
        x=[ctx.name(zh, en) for _i, zh, en in locations],
        series=[Series("dashboard.series.utilisation", current)],
        previous=(
            [Series("dashboard.series.utilisation", values(ctx.period.previous()))]
            if ctx.compare
            else []
        ),
        totals={"current": rate(booked["slot_booked"], booked["slot_capacity"])},
    )


def _patients(ctx: _Ctx) -> Chart:
    return _time_series(
        ctx,
        "patients",
        Unit.COUNT,
        [
            ("dashboard.series.new_visits", _get("visits_new")),
            (
                "dashboard.series.returning_visits",
                lambda s, i: s["visits"][i] - s["visits_new"][i],
            ),
        ],
        frozenset({"visits", "visits_new"}),
        kind=Kind.STACKED,
        total=lambda t: t["visits"],
    )


def _points(ctx: _Ctx) -> Chart:
    chart = _time_series(
        ctx,
        "points",
        Unit.POINTS,
        [
            ("dashboard.series.issued", _get("points_issued")),
            ("dashboard.series.redeemed", _get("points_redeemed")),
            ("dashboard.series.expired", _get("points_expired")),
        ],
        frozenset({"points_issued", "points_redeemed", "points_expired"}),
        kind=Kind.BAR,
        total=lambda t: t["points_issued"],
    )
    return Chart(**{**chart.__dict__, "totals": {**chart.totals, "liability": _liability(ctx)}})


def _liability(ctx: _Ctx) -> int:
    """Points not yet redeemed or expired at the end of the range: every entry up
    to that day (the roll-up's sums, then live)."""
    end, rt = ctx.period.end, ctx.rolled_through
    total = 0
    if rt is not None:
        total = int(
            ctx.session.exec(
                select(func.coalesce(func.sum(KpiDaily.value), 0)).where(
                    col(KpiDaily.metric) == "points_net", col(KpiDaily.day) <= min(end, rt)
                )
            ).one()
        )
    live_from = date(2000, 1, 1) if rt is None else rt + timedelta(days=1)
    if live_from <= end:
        rows = compute(ctx.session, window(ctx.tz, live_from, end), frozenset({"points_net"}))
        total += sum(v for _d, _loc, _m, v in rows)
    return total


def _cohorts(ctx: _Ctx) -> Chart:
    """Retention needs a longer view than most ranges: the cohorts of the twelve
    months up to the range's end (or from its start, if earlier)."""
    first = month_start(min(ctx.period.start, ctx.period.end - timedelta(days=334)))
    cells = ctx.session.exec(
        select(col(KpiCohort.cohort_month), col(KpiCohort.activity_month), col(KpiCohort.patients))
        .where(col(KpiCohort.cohort_month) >= first, col(KpiCohort.cohort_month) <= ctx.period.end)
        .order_by(col(KpiCohort.cohort_month), col(KpiCohort.activity_month))
    ).all()
    grid: dict[date, dict[int, int]] = defaultdict(dict)
    for cohort, activity, n in cells:
        offset = (activity.year - cohort.year) * 12 + activity.month - cohort.month
        grid[cohort][offset] = n
    cohorts = sorted(grid)[-MAX_COHORTS:]
    rolled = ctx.rolled_through or ctx.today
    # Only finished months: a month of one day would read as everyone leaving.
    last = rolled if (rolled + timedelta(days=1)).day == 1 else month_start(rolled) - timedelta(1)
    cohorts = [c for c in cohorts if c <= last]
    width = 0
    for c in cohorts:
        width = max(width, (last.year - c.year) * 12 + last.month - c.month + 1)
    series = []
    for c in cohorts:
        size = grid[c].get(0, 0)
        span = (last.year - c.year) * 12 + last.month - c.month + 1
        values: list[Value] = [
            rate(grid[c].get(k, 0), size) if k < span else None for k in range(width)
        ]
        series.append(Series(f"{c:%Y-%m} ({size})", values, literal=True))
    return Chart(
        key="cohorts",
        kind=Kind.HEATMAP,
        unit=Unit.PERCENT,
        x=[f"M+{k}" for k in range(width)],
        series=series,
        totals={"current": _month_one_retention(grid, cohorts, last)},
        by_location=False,
    )


def _month_one_retention(
    grid: dict[date, dict[int, int]], cohorts: list[date], last: date
) -> Value:
    """The share of the patients of every cohort old enough that came back the
    month after their first visit (the headline of the cohort chart)."""
    base = back = 0
    for c in cohorts:
        if (last.year - c.year) * 12 + last.month - c.month >= 1:
            base += grid[c].get(0, 0)
            back += grid[c].get(1, 0)
    return rate(back, base)


def _challenges(ctx: _Ctx) -> Chart:
    rows = ctx.session.exec(
        select(
            Challenge.title_zh,
            Challenge.title_en,
            func.count(col(ChallengeParticipant.id)),
            func.count(col(ChallengeParticipant.completed_at)),
        )
        .outerjoin(
            ChallengeParticipant, col(ChallengeParticipant.challenge_id) == col(Challenge.id)
        )
        .where(
            col(Challenge.status) != ChallengeStatus.DRAFT,
            col(Challenge.starts_on) <= ctx.period.end,
            col(Challenge.ends_on) >= ctx.period.start,
        )
        .group_by(col(Challenge.id), col(Challenge.title_zh), col(Challenge.title_en))
        .order_by(col(Challenge.starts_on).desc(), col(Challenge.id).desc())
        .limit(MAX_CHALLENGES)
    ).all()
    joined = [int(j) for _zh, _en, j, _c in rows]
    done = [int(c) for _zh, _en, _j, c in rows]
    return Chart(
        key="challenges",
        kind=Kind.BAR,
        unit=Unit.COUNT,
        x=[ctx.name(zh, en) for zh, en, _j, _c in rows],
        series=[
            Series("dashboard.series.joined", list(joined)),
            Series("dashboard.series.completed", list(done)),
        ],
        totals={"current": sum(joined)},
        by_location=False,
    )


def _campaigns(ctx: _Ctx) -> Chart:
    """Campaigns sending during the range, each with its whole run's numbers."""
    lo, hi = ctx.period.utc_bounds(ctx.tz)
    campaigns = ctx.session.exec(
        select(Campaign)
        .where(
            col(Campaign.status) != CampaignStatus.DRAFT,
            col(Campaign.created_at) < hi,
            col(Campaign.updated_at) >= lo,
        )
        .order_by(col(Campaign.created_at).desc(), col(Campaign.id).desc())
        .limit(MAX_CAMPAIGNS)
    ).all()
    ids = [c.id for c in campaigns]
    kept = {
        r.campaign_id: r
        for r in ctx.session.exec(
            select(KpiCampaign).where(col(KpiCampaign.campaign_id).in_(ids))
        ).all()
    }
    sent: list[Value] = []
    converted: list[Value] = []
    revenue = 0
    for c in campaigns:
        row = kept.get(c.id or 0)
        if row is None:  # started since the last roll-up: computed now
            prefix = f"campaign:{c.id}:"
            conv = conversions(ctx.session, source_prefix=prefix, window_days=c.attribution_days)
            row = KpiCampaign(
                campaign_id=c.id or 0,
                sent=sent_summary(ctx.session, source_prefix=prefix)[0],
                converted=conv.patients,
                revenue_fen=conv.revenue_fen,
            )
        sent.append(row.sent)
        converted.append(row.converted)
        revenue += row.revenue_fen
    return Chart(
        key="campaigns",
        kind=Kind.BAR,
        unit=Unit.COUNT,
        x=[c.name for c in campaigns],
        series=[
            Series("dashboard.series.sent", sent),
            Series("dashboard.series.converted", converted),
        ],
        totals={
            "current": sum(v or 0 for v in sent),
            "revenue_fen": revenue,
        },
        by_location=False,
    )


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _demographics(ctx: _Ctx) -> Chart:
    """Registered patients by age band (at the end of the range) and sex."""
    born = col(Patient.birth_date)
    whens = []
    for key, lo, hi in AGE_BANDS:
        # age >= lo: born on or before (end - lo years); age < hi: born after (end - hi years)
        cond = []
        if lo is not None:
            cond.append(born <= _years_ago(ctx.period.end, lo))
        if hi is not None:
            cond.append(born > _years_ago(ctx.period.end, hi))
        whens.append((sa.and_(*cond), key))
    band = sa.case(*whens, else_="dashboard.age.unknown")
    rows = ctx.session.execute(
        sa.select(band, col(Patient.sex), func.count())
        .where(col(Patient.created_at) < ctx.period.utc_bounds(ctx.tz)[1])
        .group_by(band, col(Patient.sex))
    ).all()
    keys = [k for k, _lo, _hi in AGE_BANDS] + ["dashboard.age.unknown"]
    by: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for b, sex, n in rows:
        by[str(sex)][str(b)] += int(n)
    sexes = (
        (Sex.FEMALE, "dashboard.series.female"),
        (Sex.MALE, "dashboard.series.male"),
        (Sex.UNKNOWN, "dashboard.series.unknown_sex"),
    )
    return Chart(
        key="demographics",
        kind=Kind.STACKED,
        unit=Unit.COUNT,
        x=keys,
        series=[Series(label, [by[str(s)][k] for k in keys]) for s, label in sexes],
        totals={"current": sum(int(n) for _b, _s, n in rows)},
        x_keys=True,
        by_location=False,
    )


# Display order; the permission each needs.
CHARTS: dict[str, tuple[Permission, Callable[[_Ctx], Chart]]] = {
    "bookings": (Permission.DASHBOARD_VIEW, _bookings),
    "revenue": (Permission.DASHBOARD_FULL, _revenue),
    "funnel": (Permission.DASHBOARD_FULL, _funnel),
    "rates": (Permission.DASHBOARD_VIEW, _rates),
    "utilisation": (Permission.DASHBOARD_VIEW, _utilisation),
    "patients": (Permission.DASHBOARD_VIEW, _patients),
    "cohorts": (Permission.DASHBOARD_FULL, _cohorts),
    "points": (Permission.DASHBOARD_FULL, _points),
    "challenges": (Permission.DASHBOARD_VIEW, _challenges),
    "campaigns": (Permission.DASHBOARD_FULL, _campaigns),
    "demographics": (Permission.DASHBOARD_VIEW, _demographics),
}


# The daily metrics each chart reads (a request fetches only those of its charts).
CHART_METRICS: dict[str, frozenset[str]] = {
    "bookings": frozenset({"bookings"}),
    "revenue": frozenset({"paid_fen", "refunded_fen"}),
    "funnel": frozenset(m for _k, m in FUNNEL_STEPS),
    "rates": frozenset({"appointments", "cancelled", "no_show"}),
    "utilisation": frozenset({"slot_capacity", "slot_booked"}),
    "patients": frozenset({"visits", "visits_new"}),
    "cohorts": frozenset(),
    "points": frozenset({"points_issued", "points_redeemed", "points_expired"}),
    "challenges": frozenset(),
    "campaigns": frozenset(),
    "demographics": frozenset(),
}


def _location_id(session: TenantSession, value: int | str | None) -> int | None:
    if value is None or value == "" or value == 0 or value == "0":
        return None
    try:
        lid = int(value)
    except (TypeError, ValueError):
        raise NotFound("dashboard.location_not_found") from None
    if session.get(Location, lid) is None:  # missing or another tenant's: the same
        raise NotFound("dashboard.location_not_found")
    return lid


@dataclass(frozen=True)
class _View:
    """What the caller asked for, unchecked (any client may send anything)."""

    start: date | str | None
    end: date | str | None
    granularity: str | None
    location_id: int | str | None
    compare: bool


def _context(
    session: TenantSession, actor: Principal, *, view: _View, now: datetime, keys: list[str]
) -> _Ctx:
    tz = tenant_zone(session)
    today = local_today(now, tz)
    period = parse_period(start=view.start, end=view.end, granularity=view.granularity, today=today)
    return _Ctx(
        session=session,
        tz=tz,
        today=today,
        period=period,
        compare=bool(view.compare),
        location=_location_id(session, view.location_id),
        locale=actor.locale or "zh-CN",
        rollup=state(session),
        metrics=frozenset(m for k in keys for m in CHART_METRICS[k]),
    )


def _freshness(ctx: _Ctx, now: datetime) -> Freshness:
    rt = ctx.rolled_through
    live_from = ctx.period.start if rt is None else max(ctx.period.start, rt + timedelta(days=1))
    return Freshness(
        rolled_through=rt,
        rolled_at=ctx.rollup.rolled_at if ctx.rollup and rt else None,
        live_from=live_from if live_from <= ctx.period.end else None,
        computed_at=now,
    )


def visible_charts(actor: Principal) -> list[str]:
    """The chart keys ``actor`` may see, in display order."""
    return [k for k, (perm, _fn) in CHARTS.items() if actor.can(perm)]


def tenant_dashboard(
    *,
    session: TenantSession,
    actor: Principal | None,
    start: date | str | None = None,
    end: date | str | None = None,
    granularity: str | None = None,
    location_id: int | str | None = None,
    compare: bool = False,
    now: datetime | None = None,
) -> TenantDashboard:
    """Every chart the actor may see for the range (the last 30 days by default)."""
    actor = require_staff(session, actor, Permission.DASHBOARD_VIEW)
    now = now or utcnow()
    keys = visible_charts(actor)
    ctx = _context(
        session,
        actor,
        view=_View(start, end, granularity, location_id, compare),
        now=now,
        keys=keys,
    )
    charts = [CHARTS[k][1](ctx) for k in keys]
    return TenantDashboard(
        period=ctx.period,
        location_id=ctx.location,
        compare=ctx.compare,
        charts=charts,
        freshness=_freshness(ctx, now),
        locations=_locations(ctx),
    )


def tenant_chart(
    *,
    session: TenantSession,
    actor: Principal | None,
    key: str,
    start: date | str | None = None,
    end: date | str | None = None,
    granularity: str | None = None,
    location_id: int | str | None = None,
    compare: bool = False,
    now: datetime | None = None,
) -> Chart:
    """One chart (its CSV, a benchmark); a key the actor may not see is not found."""
    actor = require_staff(session, actor, Permission.DASHBOARD_VIEW)
    if key not in CHARTS or not actor.can(CHARTS[key][0]):
        raise NotFound()
    view = _View(start, end, granularity, location_id, compare)
    ctx = _context(session, actor, view=view, now=now or utcnow(), keys=[key])
    return CHARTS[key][1](ctx)
