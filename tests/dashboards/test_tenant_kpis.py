"""Each tenant KPI against numbers worked out by hand, including refunds,
cancellations, no-shows and the tenant's day boundaries (Asia/Shanghai is UTC+8:
16:00 UTC is already the next local day). Tenant B holds the same rows plus
more, so any leak across tenants would change A's numbers. Every check runs
twice: all live (no roll-up yet) and all from the roll-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from prm_saas.accounts.models import Sex
from prm_saas.booking.models import BookingStatus as BS
from prm_saas.dashboards import rollup
from prm_saas.dashboards.charts import Chart
from prm_saas.dashboards.tenant import TenantDashboard, tenant_chart, tenant_dashboard
from prm_saas.membership.models import EntryKind
from tenants.db import tenant_session
from tenants.errors import NotFound
from tenants.resolution import TenantInfo
from tests.dashboards import builders as b
from tests.dashboards.builders import utc
from tests.factories import World

NOW = utc(2026, 12, 1, 2)  # 10:00 on 1 December in Shanghai
NOV = {"start": "2026-11-01", "end": "2026-11-30"}


@dataclass
class Seeded:
    l1: int
    l2: int


def seed(t: TenantInfo, *, extra: bool = False) -> Seeded:
    """The scenario of the module docstring in tenant ``t``."""
    with tenant_session(t.id) as s:
        l1, l2 = b.location(s, "一号院"), b.location(s, "二号院")
        pkg = b.package(s)
        p1 = b.patient(s, sex=Sex.FEMALE, birth_date=date(1980, 6, 1))  # 46 at the end of Nov
        p2 = b.patient(s, sex=Sex.MALE, birth_date=date(1996, 12, 1))  # 29 on 30 Nov
        p3 = b.patient(s, sex=Sex.MALE, birth_date=date(1996, 11, 30))  # 30 on 30 Nov
        p4 = b.patient(s, sex=Sex.FEMALE)
        s10_1 = b.slot(s, l1, date(2026, 11, 10), capacity=10, booked=4)
        s10_2 = b.slot(s, l2, date(2026, 11, 10), capacity=5, booked=1)
        s20_1 = b.slot(s, l1, date(2026, 11, 20), capacity=10, booked=2)
        s15_2 = b.slot(s, l2, date(2026, 10, 15), capacity=5, booked=1)

        def bk(**kw: object) -> int:
            return b.booking(s, package_id=pkg, **kw)  # type: ignore[arg-type]

        # p4's first visit in October: the November visit is a returning one.
        b0 = bk(
            patient_id=p4,
            location_id=l2,
            slot_id=s15_2,
            status=BS.COMPLETED,
            confirmed_at=utc(2026, 10, 2, 3),
            completed_at=utc(2026, 10, 15, 2),
        )
        b1 = bk(
            patient_id=p1,
            location_id=l1,
            slot_id=s10_1,
            status=BS.COMPLETED,
            confirmed_at=utc(2026, 11, 5, 3),
            completed_at=utc(2026, 11, 10, 2),
        )
        # 15:59 UTC is 23:59 local on the 10th; 16:00 UTC is the 11th.
        b2 = bk(
            patient_id=p2,
            location_id=l1,
            slot_id=s10_1,
            status=BS.NO_SHOW,
            confirmed_at=utc(2026, 11, 10, 15, 59),
        )
        b3 = bk(
            patient_id=p3,
            location_id=l1,
            slot_id=s10_1,
            status=BS.CANCELLED,
            confirmed_at=utc(2026, 11, 10, 16),
            cancelled_at=utc(2026, 11, 12, 3),
        )
        b4 = bk(
            patient_id=p4,
            location_id=l2,
            slot_id=s10_2,
            status=BS.COMPLETED,
            confirmed_at=utc(2026, 11, 6, 3),
            completed_at=utc(2026, 11, 10, 3),
        )
        bk(
            patient_id=p1,
            location_id=l1,
            slot_id=s20_1,
            status=BS.COMPLETED,
            confirmed_at=utc(2026, 11, 15, 3),
            completed_at=utc(2026, 11, 20, 2),
        )
        # A hold that lapsed was never a booking.
        bk(patient_id=p2, location_id=l1, slot_id=s20_1, status=BS.EXPIRED, confirmed_at=None)

        b.order(
            s,
            patient_id=p4,
            booking_id=b0,
            created_at=utc(2026, 10, 2, 3),
            paid_at=utc(2026, 10, 2, 3, 1),
            paid_fen=15000,
        )
        b.order(
            s,
            patient_id=p1,
            booking_id=b1,
            created_at=utc(2026, 11, 5, 3),
            paid_at=utc(2026, 11, 5, 3, 1),
            paid_fen=50000,
        )
        b.order(
            s,
            patient_id=p4,
            booking_id=b4,
            created_at=utc(2026, 11, 6, 3),
            paid_at=utc(2026, 11, 6, 3, 1),
            paid_fen=30000,
            refunds=(
                (utc(2026, 11, 12, 3), 10000, "succeeded"),
                (utc(2026, 11, 13, 3), 5000, "failed"),
            ),
        )
        b.order(s, patient_id=p2, booking_id=b2, created_at=utc(2026, 11, 10, 15, 59))
        b.order(
            s,
            patient_id=p3,
            booking_id=b3,
            created_at=utc(2026, 11, 10, 16),
            paid_at=utc(2026, 11, 10, 16, 1),
            paid_fen=40000,
            refunds=((utc(2026, 11, 12, 3), 40000, "succeeded"),),
        )
        # 1 December local: outside November.
        b.order(
            s,
            patient_id=p1,
            booking_id=None,
            created_at=utc(2026, 11, 30, 16),
            paid_at=utc(2026, 11, 30, 16),
            paid_fen=20000,
        )

        for hour in (1, 2, 3):
            b.view(s, pkg, utc(2026, 11, 4, hour))
        b.view(s, pkg, utc(2026, 10, 31, 16))  # 1 November local
        b.view(s, pkg, utc(2026, 10, 31, 15, 59))  # 31 October local

        b.points(s, p1, EntryKind.EARN, 1000, utc(2026, 10, 5, 3))
        b.points(s, p1, EntryKind.EARN, 500, utc(2026, 11, 10, 3))
        b.points(s, p1, EntryKind.REDEEM, -200, utc(2026, 11, 15, 3))
        b.points(s, p1, EntryKind.EXPIRE, -50, utc(2026, 11, 20, 3))

        if extra:  # only in tenant B: would show up in A if anything leaked
            for _ in range(3):
                bk(
                    patient_id=p1,
                    location_id=l1,
                    slot_id=s10_1,
                    status=BS.COMPLETED,
                    confirmed_at=utc(2026, 11, 8, 3),
                    completed_at=utc(2026, 11, 20, 5),
                )
            b.order(
                s,
                patient_id=p1,
                booking_id=None,
                created_at=utc(2026, 11, 8, 3),
                paid_at=utc(2026, 11, 8, 3),
                paid_fen=999900,
            )
            b.view(s, pkg, utc(2026, 11, 8, 3))
            b.points(s, p1, EntryKind.EARN, 7777, utc(2026, 11, 8, 3))
        return Seeded(l1, l2)


@pytest.fixture(params=["live", "rolled"])
def seeded(request: pytest.FixtureRequest, world: World) -> Seeded:
    a = seed(world.a)
    seed(world.b, extra=True)
    if request.param == "rolled":
        for t in (world.a, world.b):
            with tenant_session(t.id) as s:
                rollup.roll_up(s, now=NOW)
    return a


def dashboard(world: World, **kw: object) -> TenantDashboard:
    with tenant_session(world.a.id) as s:
        return tenant_dashboard(session=s, actor=world.admin_a, now=NOW, **{**NOV, **kw})  # type: ignore[arg-type]


def chart(d: TenantDashboard, key: str) -> Chart:
    return next(c for c in d.charts if c.key == key)


def by_day(c: Chart, series: int = 0) -> dict[str, object]:
    return {x: v for x, v in zip(c.x, c.series[series].values, strict=True) if v}


def test_bookings_count_on_the_local_day_they_were_confirmed(world: World, seeded: Seeded) -> None:
    c = chart(dashboard(world), "bookings")
    assert by_day(c) == {
        "2026-11-05": 1,
        "2026-11-06": 1,
        "2026-11-10": 1,  # 15:59 UTC
        "2026-11-11": 1,  # 16:00 UTC
        "2026-11-15": 1,
    }
    assert c.totals["current"] == 5
    assert len(c.x) == 30


def test_revenue_is_paid_minus_refunded_by_the_day_money_moved(
    world: World, seeded: Seeded
) -> None:
    c = chart(dashboard(world), "revenue")
    paid, refunded, net = (dict(zip(c.x, s.values, strict=True)) for s in c.series)
    assert paid["2026-11-05"] == 50000
    assert paid["2026-11-06"] == 30000
    assert paid["2026-11-11"] == 40000  # paid at 00:01 local on the 11th
    assert refunded["2026-11-12"] == 50000  # the failed refund does not count
    assert net["2026-11-12"] == -50000
    assert sum(v or 0 for v in paid.values()) == 120000
    assert c.totals["current"] == 70000  # ¥700.00; the 1 December order is outside


def test_funnel_views_orders_paid_completed(world: World, seeded: Seeded) -> None:
    c = chart(dashboard(world), "funnel")
    assert c.x == [
        "dashboard.funnel.views",
        "dashboard.funnel.orders",
        "dashboard.funnel.paid",
        "dashboard.funnel.completed",
    ]
    assert c.series[0].values == [4, 4, 3, 3]
    assert c.totals["current"] == 3  # the headline: checkups completed


def test_no_show_and_cancellation_rates_of_the_appointments(world: World, seeded: Seeded) -> None:
    d = dashboard(world, granularity="month")
    c = chart(d, "rates")
    assert c.x == ["2026-11-01"]
    no_show, cancel = c.series
    # 5 appointments ever confirmed (the lapsed hold is not one), 1 cancelled,
    # 1 no-show of the 4 that were not cancelled.
    assert no_show.values == [25.0]
    assert cancel.values == [20.0]
    assert c.totals["current"] == 25.0


def test_slot_utilisation_per_location(world: World, seeded: Seeded) -> None:
    c = chart(dashboard(world), "utilisation")
    assert c.x == ["一号院", "二号院"]
    assert c.series[0].values == [30.0, 20.0]  # 6 of 20 seats; 1 of 5 (October's slot is outside)
    assert c.totals["current"] == 28.0


def test_visits_of_new_and_returning_patients(world: World, seeded: Seeded) -> None:
    c = chart(dashboard(world, granularity="month"), "patients")
    new, returning = c.series
    assert new.values == [1]
    assert returning.values == [2]
    assert c.totals["current"] == 3


def test_points_issued_redeemed_expired_and_liability(world: World, seeded: Seeded) -> None:
    c = chart(dashboard(world, granularity="month"), "points")
    issued, redeemed, expired = c.series
    assert (issued.values, redeemed.values, expired.values) == ([500], [200], [50])
    assert c.totals["liability"] == 1250  # 1000 from October too


def test_demographics_by_age_band_at_the_end_of_the_range(world: World, seeded: Seeded) -> None:
    c = chart(dashboard(world), "demographics")
    female, male, _unknown = (dict(zip(c.x, s.values, strict=True)) for s in c.series)
    assert male["dashboard.age.18_29"] == 1  # 29 on 30 November
    assert male["dashboard.age.30_39"] == 1  # 30 on 30 November
    assert female["dashboard.age.40_49"] == 1
    assert female["dashboard.age.unknown"] == 1


def test_location_filter(world: World, seeded: Seeded) -> None:
    d = dashboard(world, location_id=seeded.l2, granularity="month")
    assert chart(d, "bookings").series[0].values == [1]
    assert chart(d, "revenue").totals["current"] == 20000  # 30000 paid, 10000 refunded
    assert chart(d, "utilisation").x == ["二号院"]
    assert chart(d, "rates").series[0].values == [0.0]
    # Not by location: the filter does not apply, and the chart says so.
    points = chart(d, "points")
    assert points.by_location is False
    assert points.series[0].values == [500]


def test_compare_with_the_previous_period(world: World, seeded: Seeded) -> None:
    d = dashboard(world, compare=True, granularity="month")
    c = chart(d, "bookings")
    # The previous 30 days are 2 to 31 October: b0, confirmed on the 2nd.
    assert c.totals == {"current": 5, "previous": 1}
    assert c.previous[0].values == [1]
    assert chart(d, "points").previous[0].values == [1000]


def test_cohorts_from_the_roll_up(world: World) -> None:
    seed(world.a)
    seed(world.b, extra=True)
    with tenant_session(world.a.id) as s:
        rollup.roll_up(s, now=NOW)
    c = chart(dashboard(world, start="2026-10-01"), "cohorts")
    # p4 first came in October and again in November; p1 first came in November.
    assert [s.label for s in c.series] == ["2026-10 (1)", "2026-11 (1)"]
    assert c.series[0].values == [100.0, 100.0]
    assert c.series[1].values == [100.0, None]
    assert c.totals["current"] == 100.0  # of October's cohort (November's has no month 1 yet)
    # Two days later December has begun but not finished: it is not a column yet.
    later = utc(2026, 12, 3, 2)
    with tenant_session(world.a.id) as s:
        rollup.roll_up(s, now=later)
        c = tenant_chart(session=s, actor=world.admin_a, key="cohorts", now=later)
    assert c.x == ["M+0", "M+1"]


def test_roll_up_and_live_agree_and_a_late_change_is_picked_up(world: World) -> None:
    seed(world.a)
    live = dashboard(world)
    with tenant_session(world.a.id) as s:
        result = rollup.roll_up(s, now=NOW)
        assert result.first_day == date(2026, 10, 2)
        assert result.rolled_through == date(2026, 11, 30)
    rolled = dashboard(world)
    assert rolled.freshness.rolled_through == date(2026, 11, 30)
    assert rolled.freshness.live_from is None
    for key in ("bookings", "revenue", "funnel", "rates", "utilisation", "patients", "points"):
        assert chart(rolled, key) == chart(live, key), key
    # A no-show marked late, within the trailing days, lands in its day on the next run.
    with tenant_session(world.a.id) as s:
        l1 = b.location(s, "三号院")
        p = b.patient(s)
        sl = b.slot(s, l1, date(2026, 11, 25), capacity=1, booked=1)
        b.booking(
            s,
            patient_id=p,
            package_id=b.package(s),
            location_id=l1,
            slot_id=sl,
            status=BS.NO_SHOW,
            confirmed_at=utc(2026, 11, 24, 3),
        )
        rollup.roll_up(s, now=utc(2026, 12, 1, 3))
    c = chart(dashboard(world, granularity="month"), "rates")
    assert c.series[0].values == [40.0]  # 2 no-shows of 5 appointments not cancelled


def test_today_is_live_on_top_of_the_roll_up(world: World) -> None:
    seed(world.a)
    with tenant_session(world.a.id) as s:
        rollup.roll_up(s, now=NOW)
        pkg = b.package(s)
        b.view(s, pkg, utc(2026, 12, 1, 1))  # 09:00 local today
    d = dashboard(world, start="2026-11-02", end="2026-12-01")
    assert d.freshness.live_from == date(2026, 12, 1)
    assert chart(d, "funnel").series[0].values[0] == 4  # 3 on the 4th + today's


def test_staff_see_the_operational_subset(world: World, seeded: Seeded) -> None:
    with tenant_session(world.a.id) as s:
        d = tenant_dashboard(session=s, actor=world.staff_a, now=NOW, **NOV)  # type: ignore[arg-type]
        keys = [c.key for c in d.charts]
        assert "revenue" not in keys
        assert "bookings" in keys
        assert "rates" in keys
        with pytest.raises(NotFound):
            tenant_chart(session=s, actor=world.staff_a, key="revenue", now=NOW)
        with pytest.raises(NotFound):
            tenant_chart(session=s, actor=world.admin_a, key="no-such-chart", now=NOW)


def test_another_tenants_location_is_the_same_not_found_as_a_missing_one(
    world: World, seeded: Seeded
) -> None:
    other = seed(world.b)
    errors = []
    for bad in (other.l1, 999_999, "x"):
        with pytest.raises(NotFound) as info:
            dashboard(world, location_id=bad)
        errors.append((type(info.value), info.value.key, info.value.params))
    assert errors[0] == errors[1] == errors[2] == (NotFound, "dashboard.location_not_found", {})


def test_another_tenants_staff_or_a_patient_gets_not_found(world: World, seeded: Seeded) -> None:
    with tenant_session(world.a.id) as s:
        with pytest.raises(NotFound):
            tenant_dashboard(session=s, actor=world.admin_b, now=NOW)
        with pytest.raises(NotFound):
            tenant_dashboard(session=s, actor=None, now=NOW)
