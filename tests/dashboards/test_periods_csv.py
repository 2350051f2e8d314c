"""Range rules, buckets, local days across daylight saving, and the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from prm_saas.dashboards.charts import Chart, Kind, Series, Unit, delta_percent, rate
from prm_saas.dashboards.csvout import chart_csv
from prm_saas.dashboards.periods import Granularity, Period, parse_period
from prm_saas.dashboards.sqltime import local_date, local_month
from prm_saas.i18n import translate
from tenants.db import get_engine
from tenants.errors import DomainError
from tenants.types import UTCDateTime

TODAY = date(2026, 12, 1)


def _refusal(**kw: object) -> tuple[str, str, str]:
    with pytest.raises(DomainError) as info:
        parse_period(today=TODAY, **{"start": None, "end": None, "granularity": None, **kw})  # type: ignore[arg-type]
    e = info.value
    return e.key, translate(e.key, "zh-CN", **e.params), translate(e.key, "en", **e.params)


def test_bad_ranges_get_a_clear_message_in_both_languages() -> None:
    assert _refusal(start="2026-11-30", end="2026-11-01") == (
        "dashboard.range_inverted",
        "开始日期不能晚于结束日期。",
        "The start date cannot be after the end date.",
    )
    key, zh, en = _refusal(start="2025-01-01", end="2026-11-30")
    assert key == "dashboard.range_too_long"
    assert "366" in zh
    assert "at most 366 days" in en
    key, zh, en = _refusal(end="2026-12-02")
    assert key == "dashboard.range_in_future"
    assert "2026-12-01" in zh
    assert "2026-12-01" in en
    assert _refusal(start="2026-13-01")[0] == "dashboard.bad_date"
    assert _refusal(start="1999-12-31", end="2000-01-05")[0] == "dashboard.bad_date"
    assert _refusal(granularity="hour")[0] == "dashboard.bad_granularity"


def test_defaults_and_the_longest_range() -> None:
    p = parse_period(start=None, end=None, granularity=None, today=TODAY)
    assert (p.start, p.end, p.granularity, p.days) == (
        date(2026, 11, 2),
        TODAY,
        Granularity.DAY,
        30,
    )
    year = parse_period(start="2025-12-01", end="2026-12-01", granularity="", today=TODAY)
    assert year.days == 366
    assert year.granularity == Granularity.WEEK


def test_buckets_previous_period_and_weeks_starting_monday() -> None:
    p = Period(date(2026, 11, 4), date(2026, 11, 20), Granularity.WEEK)  # a Wednesday
    assert p.buckets() == [date(2026, 11, 4), date(2026, 11, 9), date(2026, 11, 16)]
    assert p.bucket_of(date(2026, 11, 15)) == date(2026, 11, 9)
    prev = p.previous()
    assert (prev.start, prev.end) == (date(2026, 10, 18), date(2026, 11, 3))
    m = Period(date(2026, 1, 15), date(2026, 3, 2), Granularity.MONTH)
    assert m.buckets() == [date(2026, 1, 15), date(2026, 2, 1), date(2026, 3, 1)]


def test_local_days_follow_daylight_saving() -> None:
    # New York: UTC-4 until 1 November 2026 06:00 UTC, then UTC-5.
    p = Period(date(2026, 11, 1), date(2026, 11, 1), Granularity.DAY)
    lo, hi = p.utc_bounds("America/New_York")
    assert lo == datetime(2026, 11, 1, 4, tzinfo=UTC)
    assert hi == datetime(2026, 11, 2, 5, tzinfo=UTC)  # a 25-hour day
    values = [
        (datetime(2026, 11, 1, 3, 59, tzinfo=UTC), "2026-10-31", "2026-11-01"),
        (datetime(2026, 11, 1, 4, 0, tzinfo=UTC), "2026-11-01", "2026-11-01"),
        (datetime(2026, 11, 2, 4, 59, tzinfo=UTC), "2026-11-01", "2026-11-01"),
        (datetime(2026, 11, 2, 5, 0, tzinfo=UTC), "2026-11-02", "2026-11-01"),
        (datetime(2026, 11, 30, 16, 0, tzinfo=UTC), "2026-11-30", "2026-12-01"),
    ]
    with get_engine().connect() as conn:
        for at, ny_day, sh_month in values:
            src = sa.select(sa.literal(at, UTCDateTime(timezone=True)).label("ts")).subquery()
            got = conn.execute(
                sa.select(
                    local_date(src.c.ts, "America/New_York"), local_month(src.c.ts, "Asia/Shanghai")
                )
            ).one()
            assert (str(got[0]), str(got[1])) == (ny_day, sh_month), at
    # The zone is part of the compiled statement's cache key: one statement, two zones.
    at = datetime(2026, 11, 30, 20, tzinfo=UTC)
    with get_engine().connect() as conn:
        days = []
        for tz in ("Asia/Shanghai", "America/New_York", "Asia/Shanghai"):
            src = sa.select(sa.literal(at, UTCDateTime(timezone=True)).label("ts")).subquery()
            days.append(str(conn.execute(sa.select(local_date(src.c.ts, tz))).scalar()))
    assert days == ["2026-12-01", "2026-11-30", "2026-12-01"]
    with pytest.raises(ValueError, match="time zone"):
        local_date(sa.column("ts"), "Asia/Shanghai'; DROP TABLE patient; --")


def _t(locale: str) -> Callable[[str], str]:
    return lambda key: translate(key, locale)


def test_csv_in_the_readers_language_money_in_yuan() -> None:
    chart = Chart(
        key="revenue",
        kind=Kind.LINE,
        unit=Unit.FEN,
        x=["2026-11-01", "2026-11-02"],
        series=[Series("dashboard.series.paid", [123456, None])],
        previous=[Series("dashboard.series.paid", [100, 0])],
    )
    zh = chart_csv(chart, _t("zh-CN"))
    assert zh.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(zh.lstrip("\ufeff"))))
    assert rows == [
        ["分类/日期", "实收 (元)", "实收 (元, 上期)"],
        ["2026-11-01", "1234.56", "1.00"],
        ["2026-11-02", "—", "0.00"],
    ]
    en = list(csv.reader(io.StringIO(chart_csv(chart, _t("en")).lstrip("\ufeff"))))
    assert en[0] == ["Category / date", "Paid (CNY)", "Paid (CNY, previous period)"]
    keyed = Chart(
        key="funnel",
        kind=Kind.FUNNEL,
        unit=Unit.COUNT,
        x=["dashboard.funnel.views", "dashboard.funnel.paid"],
        series=[Series("dashboard.series.count", [10, 3])],
        x_keys=True,
    )
    assert list(csv.reader(io.StringIO(chart_csv(keyed, _t("en")).lstrip("\ufeff"))))[1:] == [
        ["Package views", "10"],
        ["Paid", "3"],
    ]


def test_rates_without_a_denominator_are_gaps() -> None:
    assert rate(1, 0) is None
    assert rate(1, 3) == 33.3
    assert delta_percent(5, 0) is None
    assert delta_percent(5, 4) == 25.0
    empty = Chart(key="x", kind=Kind.BAR, unit=Unit.COUNT, x=["a"], series=[Series("s", [0])])
    assert empty.empty is True
    measured = Chart(
        key="x", kind=Kind.LINE, unit=Unit.PERCENT, x=["a"], series=[Series("s", [0.0])]
    )
    assert measured.empty is False
    unmeasured = Chart(
        key="x", kind=Kind.LINE, unit=Unit.PERCENT, x=["a"], series=[Series("s", [None])]
    )
    assert unmeasured.empty is True
