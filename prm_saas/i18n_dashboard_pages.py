"""Messages of the dashboard pages: controls, chart cards, freshness line.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES``. Chart titles, series, units and the range errors
are the dashboards' own catalog (``prm_saas.i18n_dashboards``).
"""

from __future__ import annotations

DASHBOARD_PAGES: dict[str, tuple[str, str]] = {
    "dashpage.nav": ("数据看板", "Dashboard"),
    "dashpage.title": ("数据看板", "Dashboard"),
    # --- controls ------------------------------------------------------------------
    "dashpage.start": ("开始日期", "From"),
    "dashpage.end": ("结束日期", "To"),
    "dashpage.granularity": ("粒度", "Granularity"),
    "dashpage.gran.auto": ("自动", "Automatic"),
    "dashpage.gran.day": ("按日", "By day"),
    "dashpage.gran.week": ("按周", "By week"),
    "dashpage.gran.month": ("按月", "By month"),
    "dashpage.location": ("门店", "Location"),
    "dashpage.all_locations": ("全部门店", "All locations"),
    "dashpage.compare": ("对比上期", "Compare with previous period"),
    "dashpage.apply": ("应用", "Apply"),
    "dashpage.range": ("{start} 至 {end}", "{start} to {end}"),
    # --- chart cards -----------------------------------------------------------------
    "dashpage.empty": (
        "所选时间范围内没有数据。",
        "No data in this range.",
    ),
    "dashpage.not_by_location": (
        "此图不按门店区分，显示全部门店。",
        "This chart is not split by location; it shows all locations.",
    ),
    "dashpage.previous_suffix": ("（上期）", " (previous period)"),
    "dashpage.vs_previous": ("较上期", "vs previous period"),
    "dashpage.no_base": ("上期无数据", "no previous data"),
    "dashpage.csv": ("CSV", "CSV"),
    "dashpage.csv_title": ("下载此图数据（CSV）", "Download this chart's data (CSV)"),
    # headline totals the dashboards' catalog has no label for
    "dashpage.total.revenue_fen": ("转化收入", "Revenue from conversions"),
    # --- freshness ----------------------------------------------------------------------
    "dashpage.fresh.rolled": (
        "按日汇总至 {through}（{at} 更新）",
        "Rolled up through {through} (at {at})",
    ),
    "dashpage.fresh.not_rolled": ("尚未按日汇总", "Not rolled up yet"),
    "dashpage.fresh.live_today": ("今日实时 {now}", "today live at {now}"),
    "dashpage.fresh.live_from": (
        "{since} 起实时计算 {now}",
        "live from {since} at {now}",
    ),
    "dashpage.fresh.sep": ("，", ", "),
}
