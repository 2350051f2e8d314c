"""Plotly figures and chart cards built from ``Chart`` data (components/charts.py):
money drawn in yuan, the previous period dashed, readable empty states, labels in
both languages, dates as dates, the freshness line in the tenant's zone.

Pure Python: no database, no browser.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from components.charts import (
    chart_view,
    chart_views,
    csv_filename,
    figure,
    format_value,
    freshness_text,
    funnel_text,
    translator,
)
from prm_saas.dashboards.charts import Chart, Kind, Series, Unit
from prm_saas.i18n import MESSAGES

ZH, EN = translator("zh-CN"), translator("en")
DAYS = ["2026-11-01", "2026-11-02", "2026-11-03"]


@pytest.fixture(autouse=True)
def clean_db() -> None:
    """Nothing here touches the database (overrides the wiping fixture)."""
    return


def _revenue(**kw: object) -> Chart:
    args: dict[str, object] = {
        "key": "revenue",
        "kind": Kind.LINE,
        "unit": Unit.FEN,
        "x": DAYS,
        "series": [
            Series("dashboard.series.paid", [123456, 0, None]),
            Series("dashboard.series.net", [100000, -500, 250]),
        ],
        "previous": [Series("dashboard.series.paid", [50000, 7000, 1])],
        "totals": {"current": 223456, "previous": 57001},
    }
    args.update(kw)
    return Chart(**args)  # type: ignore[arg-type]


def test_money_is_drawn_in_yuan_with_a_yuan_axis_and_hover() -> None:
    fig = figure(_revenue(), ZH, "zh-CN")
    paid = fig.data[0]
    assert list(paid.y) == [1234.56, 0, None]
    assert list(fig.data[1].y) == [1000.0, -5.0, 2.5]
    assert fig.layout.yaxis.tickprefix == "¥"
    assert fig.layout.yaxis.separatethousands is True
    assert "¥%{y:,.2f}" in paid.hovertemplate
    assert fig.layout.separators == ".,"


def test_a_rate_without_a_denominator_is_a_gap_not_zero() -> None:
    fig = figure(_revenue(), ZH, "zh-CN")
    assert fig.data[0].y[2] is None
    assert fig.data[0].connectgaps is False


def test_previous_period_is_dashed_and_named_in_each_language() -> None:
    zh = figure(_revenue(), ZH, "zh-CN")
    en = figure(_revenue(), EN, "en")
    assert [tr.name for tr in zh.data] == ["实收", "净收入", "实收（上期）"]
    assert [tr.name for tr in en.data] == ["Paid", "Net", "Paid (previous period)"]
    assert zh.data[0].line.dash is None
    assert zh.data[2].line.dash == "dash"
    assert zh.data[2].opacity < 1
    # the previous period is drawn on the current period's x positions
    assert list(zh.data[2].x) == DAYS
    # and in its series' color
    assert zh.data[2].line.color == zh.data[0].line.color


def test_previous_period_of_a_bar_chart_is_lighter() -> None:
    fig = figure(_revenue(kind=Kind.BAR), EN, "en")
    assert [type(tr).__name__ for tr in fig.data] == ["Bar", "Bar", "Bar"]
    assert fig.data[2].opacity < 1
    assert fig.data[0].opacity is None
    assert fig.layout.barmode == "group"


def test_stacked_chart_stacks_and_its_previous_period_is_dashed_lines() -> None:
    chart = Chart(
        "patients",
        Kind.STACKED,
        Unit.COUNT,
        DAYS,
        [
            Series("dashboard.series.new_visits", [1, 2, 3]),
            Series("dashboard.series.returning_visits", [4, 5, 6]),
        ],
        previous=[Series("dashboard.series.new_visits", [0, 1, 1])],
    )
    fig = figure(chart, ZH, "zh-CN")
    assert fig.layout.barmode == "stack"
    assert [type(tr).__name__ for tr in fig.data] == ["Bar", "Bar", "Scatter"]
    assert fig.data[2].line.dash == "dash"


def test_an_empty_chart_shows_a_message_and_no_axes() -> None:
    chart = _revenue(series=[Series("dashboard.series.paid", [0, None, 0])], previous=[], totals={})
    assert chart.empty
    zh = figure(chart, ZH, "zh-CN")
    en = figure(chart, EN, "en")
    assert len(zh.data) == 0
    assert zh.layout.xaxis.visible is False
    assert zh.layout.yaxis.visible is False
    assert zh.layout.annotations[0].text == "所选时间范围内没有数据。"
    assert en.layout.annotations[0].text == "No data in this range."
    card = chart_view(chart, "zh-CN")
    assert card["empty"] is True
    assert card["fig"] == {}
    assert card["empty_text"] == "所选时间范围内没有数据。"


def test_percent_axis_and_hover_carry_a_percent_sign() -> None:
    chart = Chart(
        "rates",
        Kind.LINE,
        Unit.PERCENT,
        DAYS,
        [Series("dashboard.series.no_show_rate", [12.5, None, 0.0])],
    )
    fig = figure(chart, EN, "en")
    assert fig.layout.yaxis.ticksuffix == "%"
    assert fig.data[0].hovertemplate == "%{y:.1f}%"
    assert fig.data[0].name == "No-show rate"


def test_iso_dates_make_a_date_axis_in_the_readers_format() -> None:
    zh = figure(_revenue(), ZH, "zh-CN")
    en = figure(_revenue(), EN, "en")
    assert zh.layout.xaxis.type == "date"
    assert en.layout.xaxis.type == "date"
    assert zh.layout.xaxis.tickformat == "%m-%d"
    assert en.layout.xaxis.tickformat == "%b %-d"
    months = _revenue(
        x=["2026-09", "2026-10", "2026-11"], previous=[], kind=Kind.BAR, key="bookings"
    )
    m = figure(months, ZH, "zh-CN")
    assert m.layout.xaxis.type == "date"
    assert m.layout.xaxis.dtick == "M1"


def test_category_keys_are_translated_and_literal_labels_are_kept() -> None:
    chart = Chart(
        "demographics",
        Kind.STACKED,
        Unit.COUNT,
        ["dashboard.age.18_29", "dashboard.age.60_plus"],
        [
            Series("dashboard.series.female", [3, 4]),
            Series("团购客户", [1, 0], literal=True),
        ],
        x_keys=True,
    )
    zh = figure(chart, ZH, "zh-CN")
    en = figure(chart, EN, "en")
    assert list(zh.data[0].x) == ["18–29岁", "60岁及以上"]
    assert list(en.data[0].x) == ["18–29", "60 and over"]
    assert zh.layout.xaxis.type == "category"
    assert [tr.name for tr in zh.data] == ["女", "团购客户"]
    assert [tr.name for tr in en.data] == ["Female", "团购客户"]
    # a single-series chart needs no legend; several do, under the chart
    assert zh.layout.showlegend is True
    assert zh.layout.legend.orientation == "h"
    assert zh.layout.legend.y < 0


def test_funnel_heatmap_and_pie() -> None:
    funnel = Chart(
        "funnel",
        Kind.FUNNEL,
        Unit.COUNT,
        ["dashboard.funnel.views", "dashboard.funnel.orders", "dashboard.funnel.paid"],
        [Series("dashboard.series.count", [100, 20, 10])],
        previous=[Series("dashboard.series.count", [80, 10, 5])],
        x_keys=True,
    )
    f = figure(funnel, ZH, "zh-CN")
    assert [type(tr).__name__ for tr in f.data] == ["Funnel", "Funnel"]
    assert list(f.data[0].y) == ["浏览套餐", "下单", "支付"]
    assert list(f.data[0].x) == [100, 20, 10]
    assert f.data[1].opacity < 1
    assert f.data[1].name.endswith("（上期）")

    assert list(f.data[0].text) == ["100 (100%)", "20 (20%)", "10 (10%)"]
    # no package views: the steps show their values, not a share of nothing
    assert funnel_text([0, 11, 3, None], Unit.COUNT) == ["0", "11", "3", "0"]

    cohorts = Chart(
        "cohorts",
        Kind.HEATMAP,
        Unit.PERCENT,
        ["m0", "m1"],
        [
            Series("2026-09", [100.0, 40.0], literal=True),
            Series("2026-10", [100.0, None], literal=True),
        ],
    )
    h = figure(cohorts, EN, "en")
    assert type(h.data[0]).__name__ == "Heatmap"
    assert [list(r) for r in h.data[0].z] == [[100.0, 40.0], [100.0, None]]
    assert list(h.data[0].y) == ["2026-09", "2026-10"]
    # a month not reached yet is blank, not "%"
    assert [list(r) for r in h.data[0].text] == [["100.0%", "40.0%"], ["100.0%", ""]]

    pie = Chart(
        "tenants_by_status",
        Kind.PIE,
        Unit.COUNT,
        ["active", "suspended"],
        [Series("dashboard.series.count", [7, 2])],
    )
    p = figure(pie, EN, "en")
    assert type(p.data[0]).__name__ == "Pie"
    assert list(p.data[0].labels) == ["active", "suspended"]
    assert list(p.data[0].values) == [7, 2]


def test_figures_are_compact_transparent_and_of_a_fixed_height() -> None:
    fig = figure(_revenue(), ZH, "zh-CN")
    assert fig.layout.height == 300
    assert fig.layout.paper_bgcolor == "rgba(0,0,0,0)"
    assert fig.layout.plot_bgcolor == "rgba(0,0,0,0)"


def test_card_headline_totals_delta_and_location_hint() -> None:
    chart = _revenue(by_location=False, totals={"current": 15000, "previous": 10000})
    zh = chart_view(chart, "zh-CN", location_active=True)
    assert zh["title"] == "收入（实收减退款）"
    assert (zh["current"], zh["previous"], zh["delta"]) == ("¥150.00", "¥100.00", "+50.0%")
    assert zh["delta_dir"] == "up"
    assert zh["hint"] == "此图不按门店区分，显示全部门店。"
    assert "template" not in zh["fig"]["layout"]
    assert chart_view(chart, "zh-CN", location_active=False)["hint"] == ""
    # compare off: no previous headline even if the service sent one
    assert chart_view(chart, "en", compare=False)["has_previous"] is False
    # no base: no percentage
    no_base = chart_view(_revenue(totals={"current": 5, "previous": 0}), "en")
    assert no_base["delta"] == "no previous data"
    assert no_base["delta_dir"] == ""
    # other totals (the points liability) are listed with their label
    points = Chart(
        "points",
        Kind.LINE,
        Unit.POINTS,
        DAYS,
        [Series("dashboard.series.issued", [10, 0, 5])],
        totals={"current": 15, "liability": 12345},
    )
    assert chart_view(points, "zh-CN")["extras"] == "未兑换积分（期末）: 12,345"
    campaigns = Chart(
        "campaigns",
        Kind.BAR,
        Unit.COUNT,
        ["春季体检"],
        [Series("dashboard.series.sent", [10])],
        totals={"current": None, "revenue_fen": 129900},
    )
    assert chart_view(campaigns, "en")["extras"] == "Revenue from conversions: ¥1,299.00"
    views = chart_views([chart, points])
    assert [c["key"] for c in views["en"]] == ["revenue", "points"]
    assert views["en"][0]["title"] == "Revenue (paid minus refunded)"


def test_every_tenant_chart_has_a_title_in_both_languages() -> None:
    keys = [
        "bookings", "revenue", "funnel", "rates", "utilisation", "patients",
        "cohorts", "points", "challenges", "campaigns", "demographics",
    ]  # fmt: skip
    for key in keys:
        assert f"dashboard.chart.{key}" in MESSAGES


def test_number_formats() -> None:
    assert format_value(123456789, Unit.FEN) == "¥1,234,567.89"
    assert format_value(-250, Unit.FEN) == "-¥2.50"
    assert format_value(12.34, Unit.PERCENT) == "12.3%"
    assert format_value(1234567, Unit.COUNT) == "1,234,567"
    assert format_value(None, Unit.COUNT) == "—"
    assert csv_filename("bookings", date(2026, 11, 1), date(2026, 11, 30)) == (
        "bookings-2026-11-01_2026-11-30.csv"
    )
    assert csv_filename("../etc", "2026-11-01", "2026-11-30") == "etc-2026-11-01_2026-11-30.csv"


def test_freshness_line_in_the_tenants_zone() -> None:
    # 02:05 and 10:42 in Shanghai are 18:05 the day before and 02:42 UTC.
    args = {
        "rolled_through": date(2026, 11, 30),
        "rolled_at": datetime(2026, 11, 30, 18, 5, tzinfo=UTC),
        "live_from": date(2026, 12, 1),
        "computed_at": datetime(2026, 12, 1, 2, 42, tzinfo=UTC),
        "tz": "Asia/Shanghai",
    }
    assert (
        freshness_text(**args, locale="zh-CN") == "按日汇总至 11-30（02:05 更新），今日实时 10:42"
    )
    assert freshness_text(**args, locale="en") == (
        "Rolled up through Nov 30 (at 02:05), today live at 10:42"
    )
    nothing_rolled = {
        **args,
        "rolled_through": None,
        "rolled_at": None,
        "live_from": date(2026, 11, 1),
    }
    assert freshness_text(**nothing_rolled, locale="en") == (
        "Not rolled up yet, live from Nov 1 at 10:42"
    )
    all_rolled = {**args, "live_from": None}
    assert freshness_text(**all_rolled, locale="zh-CN") == "按日汇总至 11-30（02:05 更新）"
