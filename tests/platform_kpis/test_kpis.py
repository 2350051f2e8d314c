"""The platform dashboard against hand-computed numbers (prm_saas.platform.kpis).

The fixture, all times UTC, "now" 2026-11-20 12:00:

tenant        created              status     subscriptions
clinic-a      2026-08-15           active     Basic from 08-20, Pro from 10-15 10:00 (upgrade)
center-b      2026-09-30 23:59:59  active     Basic from 10-01 00:00, ended 11-05 (churn)
clinic-c      2026-10-01 00:00     trial      Enterprise from 10-10
clinic-d      2026-11-20 11:00     suspended  Pro 08-01 .. 09-15 (churn), Basic again from 10-20

MRR at each month's end (a row counts when open just before the instant):
  Sep (10-01 00:00): a Basic                     =    999.00
  Oct (11-01 00:00): a Pro + b Basic + c Ent + d Basic = 2999 + 999 + 9999 + 999 = 14,996.00
  Nov (now):          a Pro + c Ent + d Basic     = 13,997.00
MRR lost: Sep d's Pro 2,999; Oct 0 (a's Basic had a successor); Nov b's Basic 999.
Churn: Sep 1 of 2 open at the start (a, d) = 50.0%; Oct 0 of 1 (a; b started at the
instant itself) = 0.0%; Nov 1 of 4 = 25.0%; the whole range: of a and d, d churned = 50.0%.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from prm_saas.dashboards.charts import Chart, Kind, Unit
from prm_saas.i18n import translate
from prm_saas.platform.billing import end_subscription
from prm_saas.platform.kpis import PlatformDashboard, platform_chart, platform_dashboard
from prm_saas.platform.usage import UsageRow, store_usage
from tenants.db import get_engine, platform_session
from tenants.errors import DomainError, NotFound, PermissionDenied
from tenants.models import TenantStatus
from tenants.types import utcnow
from tests.factories import World, make_tenant
from tests.platform_kpis.helpers import at, counts, plan, set_created, subscribe

NOW = at(2026, 11, 20, 12)


def usage(tenant_id: int, *rows: tuple[date, int, int, int]) -> None:
    """Stored usage days: (day, patients, messages, bookings)."""
    with platform_session() as s:
        store_usage(
            s,
            tenant_id=tenant_id,
            rows=[
                UsageRow(d, patients=p, new_patients=0, messages=m, bookings=b)
                for d, p, m, b in rows
            ],
            now=at(2026, 11, 20, 2, 5),
        )


@pytest.fixture
def fleet(world: World) -> dict[str, int]:
    op = world.operator
    c = make_tenant("clinic-c", name="明德诊所", status=TenantStatus.TRIAL)
    d = make_tenant("clinic-d", name="华康体检", status=TenantStatus.SUSPENDED)
    set_created(world.a.id, at(2026, 8, 15))
    set_created(world.b.id, at(2026, 9, 30, 23, 59, 59))
    set_created(c.id, at(2026, 10, 1))
    set_created(d.id, at(2026, 11, 20, 11))
    basic = plan(op, "basic", "999").id
    pro = plan(op, "pro", "2999").id
    ent = plan(op, "enterprise", "9999").id
    subscribe(op, world.a.id, basic, at(2026, 8, 20))
    subscribe(op, world.a.id, pro, at(2026, 10, 15, 10))
    subscribe(op, world.b.id, basic, at(2026, 10, 1))
    subscribe(op, c.id, ent, at(2026, 10, 10))
    subscribe(op, d.id, pro, at(2026, 8, 1))
    with platform_session() as s:
        end_subscription(session=s, actor=op, tenant_id=d.id, reason="欠费", now=at(2026, 9, 15))
        end_subscription(
            session=s, actor=op, tenant_id=world.b.id, reason="停业", now=at(2026, 11, 5)
        )
    subscribe(op, d.id, basic, at(2026, 10, 20))
    usage(
        world.a.id,
        (date(2026, 8, 31), 8, 100, 100),
        (date(2026, 9, 10), 9, 4, 1),
        (date(2026, 11, 20), 12, 6, 3),
    )
    usage(world.b.id, (date(2026, 10, 1), 30, 1, 7), (date(2026, 11, 5), 31, 2, 2))
    usage(c.id, (date(2026, 11, 19), 5, 0, 0))
    return {"a": world.a.id, "b": world.b.id, "c": c.id, "d": d.id}


def dashboard(world: World, **kw: Any) -> PlatformDashboard:
    with platform_session() as s:
        return platform_dashboard(session=s, actor=world.operator, now=NOW, **kw)


def chart(dash: PlatformDashboard, key: str) -> Chart:
    (found,) = [c for c in dash.charts if c.key == key]
    return found


def values(c: Chart) -> list[list[Any]]:
    return [s.values for s in c.series]


RANGE = {"start": "2026-09-01", "end": "2026-11-20", "granularity": "month"}


def test_charts_in_order_with_units(world: World, fleet: dict[str, int]) -> None:
    dash = dashboard(world, **RANGE)
    assert [(c.key, c.kind, c.unit) for c in dash.charts] == [
        ("tenants_by_status", Kind.PIE, Unit.COUNT),
        ("signups", Kind.BAR, Unit.COUNT),
        ("mrr", Kind.LINE, Unit.FEN),
        ("churn", Kind.BAR, Unit.PERCENT),
        ("usage", Kind.BAR, Unit.COUNT),
        ("top_tenants", Kind.BAR, Unit.COUNT),
    ]
    assert all(not c.by_location for c in dash.charts)
    assert (dash.period.start, dash.period.end) == (date(2026, 9, 1), date(2026, 11, 20))


def test_tenants_by_status(world: World, fleet: dict[str, int]) -> None:
    c = chart(dashboard(world, **RANGE), "tenants_by_status")
    assert c.x_keys
    # in the enum's order; no tenant is past due, so no zero slice
    assert c.x == ["tenant_status.trial", "tenant_status.active", "tenant_status.suspended"]
    assert values(c) == [[1, 2, 1]]
    assert c.totals == {"current": 4}


def test_signups_per_bucket_by_utc_day(world: World, fleet: dict[str, int]) -> None:
    months = chart(dashboard(world, **RANGE), "signups")
    assert months.x == ["2026-09-01", "2026-10-01", "2026-11-01"]
    # b at 23:59:59 on 30 Sep UTC (already 1 Oct in Shanghai) is a September sign-up
    assert values(months) == [[1, 1, 1]]

    days = chart(dashboard(world, start="2026-09-30", end="2026-10-01"), "signups")
    assert (days.x, values(days)) == (["2026-09-30", "2026-10-01"], [[1, 1]])

    weeks = chart(
        dashboard(world, start="2026-09-28", end="2026-10-11", granularity="week"), "signups"
    )
    assert (weeks.x, values(weeks)) == (["2026-09-28", "2026-10-05"], [[2, 0]])


def test_signups_compared_with_the_previous_period(world: World, fleet: dict[str, int]) -> None:
    c = chart(dashboard(world, compare=True, **RANGE), "signups")
    # The previous 81 days: 2026-06-12 .. 2026-08-31, by month: a signed up on 08-15
    assert [s.values for s in c.previous] == [[0, 0, 1]]
    assert c.totals == {"current": 3, "previous": 1}


def test_mrr_across_an_upgrade_and_a_churn(world: World, fleet: dict[str, int]) -> None:
    c = chart(dashboard(world, **RANGE), "mrr")
    assert c.x == ["2026-09", "2026-10", "2026-11"]
    assert values(c) == [[99900, 1499600, 1399700], [299900, 0, 99900]]
    assert c.totals == {"current": 1399700, "mrr_lost": 399800}


def test_a_tenant_in_its_trial_adds_to_mrr_once_the_trial_is_over(
    world: World, fleet: dict[str, int]
) -> None:
    from prm_saas.billing.console import tenant_rows
    from prm_saas.billing.models import TenantBilling

    # given clinic C (Enterprise since 10-10) in a trial until 11-05
    with platform_session() as s:
        s.add(
            TenantBilling(
                subject_tenant_id=fleet["c"],
                trial_ends_at=at(2026, 11, 5),
                current_period_start=at(2026, 10, 10),
                current_period_end=at(2026, 11, 5),
            )
        )
    c = chart(dashboard(world, **RANGE), "mrr")
    # then October's end (still in the trial) leaves its 9,999 out, November's counts it
    assert values(c)[0] == [99900, 1499600 - 999900, 1399700]
    # and the console, today (long after 11-05), counts it too; a trial running now does not
    with platform_session() as s:
        rows = {r.id: r for r in tenant_rows(session=s, actor=world.operator)}
        assert rows[fleet["c"]].mrr_fen == 999900
        b = s.exec(select(TenantBilling).where(TenantBilling.subject_tenant_id == fleet["c"])).one()
        b.trial_ends_at = utcnow() + timedelta(days=3)
        s.add(b)
    with platform_session() as s:
        rows = {r.id: r for r in tenant_rows(session=s, actor=world.operator)}
    assert rows[fleet["c"]].mrr_fen == 0


def test_mrr_of_a_range_ending_mid_month_is_taken_at_its_end(
    world: World, fleet: dict[str, int]
) -> None:
    # On 2026-10-14 (end of day) a was still on Basic, c on Enterprise, b on Basic
    c = chart(dashboard(world, start="2026-10-01", end="2026-10-14"), "mrr")
    assert (c.x, values(c)) == (["2026-10"], [[99900 + 99900 + 999900], [0]])


def test_churn_percent_per_month(world: World, fleet: dict[str, int]) -> None:
    c = chart(dashboard(world, **RANGE), "churn")
    assert c.x == ["2026-09", "2026-10", "2026-11"]
    assert values(c) == [[50.0, 0.0, 25.0]]
    assert c.totals == {"current": 50.0}


def test_churn_without_anyone_open_is_a_gap(world: World, fleet: dict[str, int]) -> None:
    c = chart(dashboard(world, start="2026-06-01", end="2026-07-31", granularity="month"), "churn")
    assert values(c) == [[None, None]]
    assert c.totals == {"current": None}
    assert c.empty


def test_usage_per_tenant_in_the_range(world: World, fleet: dict[str, int]) -> None:
    c = chart(dashboard(world, **RANGE), "usage")
    # Ordered by patients at the end of the range; a's 31 Aug row is outside it
    assert c.x == ["康健体检中心", "阳光社区诊所", "明德诊所"]
    assert [s.label for s in c.series] == [
        "dashboard.series.platform_patients",
        "dashboard.series.platform_messages",
        "dashboard.series.bookings",
    ]
    assert values(c) == [[31, 12, 5], [3, 10, 0], [9, 4, 0]]
    assert c.totals == {"platform_patients": 48, "platform_messages": 13, "platform_bookings": 13}

    early = chart(dashboard(world, start="2026-09-01", end="2026-10-31"), "usage")
    assert (early.x, values(early)) == (["康健体检中心", "阳光社区诊所"], [[30, 9], [1, 4], [7, 1]])


def test_top_tenants_by_bookings(world: World, fleet: dict[str, int]) -> None:
    c = chart(dashboard(world, **RANGE), "top_tenants")
    assert (c.x, values(c)) == (["康健体检中心", "阳光社区诊所"], [[9, 4]])


def test_top_tenants_keeps_the_ten_busiest_ties_by_name(world: World) -> None:
    ids = []
    for i in range(12):
        t = make_tenant(f"busy-{i:02d}", name=f"诊所{i:02d}")
        ids.append(t.id)
        usage(t.id, (date(2026, 11, 10), 1, 0, [5, 3][i % 2] + i // 4))
    c = chart(dashboard(world, start="2026-11-01", end="2026-11-20"), "top_tenants")
    # bookings: i=0..3 -> 5,3,5,3; 4..7 -> 6,4,6,4; 8..11 -> 7,5,7,5
    assert c.x == [
        "诊所08",
        "诊所10",
        "诊所04",
        "诊所06",
        "诊所00",
        "诊所02",
        "诊所09",
        "诊所11",
        "诊所05",
        "诊所07",
    ]
    assert values(c) == [[7, 7, 6, 6, 5, 5, 5, 5, 4, 4]]


def test_freshness_is_the_latest_usage_roll_up(world: World, fleet: dict[str, int]) -> None:
    f = dashboard(world, **RANGE).freshness
    assert (f.rolled_through, f.rolled_at, f.live_from, f.computed_at) == (
        date(2026, 11, 20),
        at(2026, 11, 20, 2, 5),
        None,
        NOW,
    )


def test_an_empty_platform_draws_empty_charts(world: World) -> None:
    dash = dashboard(world)
    assert (dash.period.start, dash.period.end) == (date(2026, 10, 22), date(2026, 11, 20))
    assert [c.key for c in dash.charts if not c.empty] == ["tenants_by_status"]
    assert dash.freshness.rolled_through is None


def test_one_chart_by_key(world: World, fleet: dict[str, int]) -> None:
    with platform_session() as s:
        c = platform_chart(session=s, actor=world.operator, key="mrr", now=NOW, **RANGE)
        with pytest.raises(NotFound):
            platform_chart(session=s, actor=world.operator, key="bookings", now=NOW)
    assert values(c)[0] == [99900, 1499600, 1399700]


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cur: Any, stmt: str, *_a: Any) -> None:
        seen.append(stmt)

    sa.event.listen(get_engine(), "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(get_engine(), "before_cursor_execute", count)


def test_each_chart_is_a_fixed_number_of_statements(world: World, fleet: dict[str, int]) -> None:
    with statements() as few:
        dashboard(world, **RANGE)
    for i in range(6):
        t = make_tenant(f"more-{i}")
        subscribe(world.operator, t.id, 1, at(2026, 9, 1 + i))
        usage(t.id, (date(2026, 11, 1), i, i, i))
    with statements() as more:
        dashboard(world, **RANGE)
    assert len(more) == len(few)


# --- bad input and who may --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "key", "zh", "en"),
    [
        (
            {"start": "2026-11-10", "end": "2026-11-01"},
            "dashboard.range_inverted",
            "开始日期不能晚于结束日期。",
            "The start date cannot be after the end date.",
        ),
        (
            {"start": "2025-01-01", "end": "2026-11-20"},
            "dashboard.range_too_long",
            "日期范围最长 366 天，请缩短范围。",
            "The range can span at most 366 days; choose a shorter one.",
        ),
        (
            {"end": "2026-11-21"},
            "dashboard.range_in_future",
            "结束日期不能晚于今天（2026-11-20）。",
            "The end date cannot be after today (2026-11-20).",
        ),
        (
            {"start": "11/01/2026"},
            "dashboard.bad_date",
            "日期无效：11/01/2026。",
            "Not a valid date: 11/01/2026.",
        ),
        (
            {"granularity": "hour"},
            "dashboard.bad_granularity",
            "请选择按日、按周或按月。",
            "Choose by day, by week or by month.",
        ),
    ],
)
def test_bad_ranges_are_refused_in_both_languages(
    world: World, fleet: dict[str, int], kw: dict[str, str], key: str, zh: str, en: str
) -> None:
    before = counts()
    with pytest.raises(DomainError) as exc:
        dashboard(world, **kw)
    assert exc.value.key == key
    assert translate(exc.value.key, "zh-CN", **exc.value.params) == zh
    assert translate(exc.value.key, "en", **exc.value.params) == en
    assert counts() == before


def test_only_operators_read_the_platform_dashboard(world: World, fleet: dict[str, int]) -> None:
    for someone in (world.admin_a, world.staff_b, world.patient_a, None):
        with pytest.raises(PermissionDenied), platform_session() as s:
            platform_dashboard(session=s, actor=someone, now=NOW)  # type: ignore[arg-type]
        # A bad range or an unknown chart says nothing more to them either
        with pytest.raises(PermissionDenied), platform_session() as s:
            platform_chart(session=s, actor=someone, key="nope", start="x", now=NOW)  # type: ignore[arg-type]
