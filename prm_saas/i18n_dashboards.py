"""Messages of the KPI dashboards: range errors, chart titles, series and units.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

DASHBOARDS: dict[str, tuple[str, str]] = {
    # --- the range and filters ---------------------------------------------------
    "dashboard.range_inverted": (
        "开始日期不能晚于结束日期。",
        "The start date cannot be after the end date.",
    ),
    "dashboard.range_too_long": (
        "日期范围最长 {max_days} 天，请缩短范围。",
        "The range can span at most {max_days} days; choose a shorter one.",
    ),
    "dashboard.range_in_future": (
        "结束日期不能晚于今天（{today}）。",
        "The end date cannot be after today ({today}).",
    ),
    "dashboard.bad_date": ("日期无效：{value}。", "Not a valid date: {value}."),
    "dashboard.bad_granularity": (
        "请选择按日、按周或按月。",
        "Choose by day, by week or by month.",
    ),
    "dashboard.location_not_found": ("门店不存在。", "No such location."),
    # --- chart titles ------------------------------------------------------------
    "dashboard.chart.bookings": ("预约量", "Bookings"),
    "dashboard.chart.revenue": ("收入（实收减退款）", "Revenue (paid minus refunded)"),
    "dashboard.chart.funnel": ("转化漏斗", "Funnel"),
    "dashboard.chart.rates": ("爽约率与取消率", "No-show and cancellation rates"),
    "dashboard.chart.utilisation": ("号源利用率（按门店）", "Slot utilisation by location"),
    "dashboard.chart.patients": ("新客与复购客到检", "Visits by new and returning patients"),
    "dashboard.chart.cohorts": ("留存（按首次到检月份）", "Retention by first-visit month"),
    "dashboard.chart.points": ("积分发放、兑换与负债", "Points issued, redeemed and liability"),
    "dashboard.chart.challenges": ("健康挑战参与与完成", "Challenge participation and completion"),
    "dashboard.chart.campaigns": ("营销活动效果", "Campaign performance"),
    "dashboard.chart.demographics": ("客户画像（年龄段 × 性别）", "Patients by age band and sex"),
    # --- series --------------------------------------------------------------------
    "dashboard.series.bookings": ("预约", "Bookings"),
    "dashboard.series.paid": ("实收", "Paid"),
    "dashboard.series.refunded": ("退款", "Refunded"),
    "dashboard.series.net": ("净收入", "Net"),
    "dashboard.series.count": ("数量", "Count"),
    "dashboard.series.no_show_rate": ("爽约率", "No-show rate"),
    "dashboard.series.cancel_rate": ("取消率", "Cancellation rate"),
    "dashboard.series.utilisation": ("利用率", "Utilisation"),
    "dashboard.series.booked": ("已约", "Booked"),
    "dashboard.series.capacity": ("号源", "Capacity"),
    "dashboard.series.new_visits": ("新客", "New patients"),
    "dashboard.series.returning_visits": ("复购客", "Returning patients"),
    "dashboard.series.issued": ("发放", "Issued"),
    "dashboard.series.redeemed": ("兑换", "Redeemed"),
    "dashboard.series.expired": ("过期", "Expired"),
    "dashboard.series.joined": ("参与", "Joined"),
    "dashboard.series.completed": ("完成", "Completed"),
    "dashboard.series.sent": ("已发送", "Sent"),
    "dashboard.series.converted": ("已转化", "Converted"),
    "dashboard.series.conversion_revenue": ("转化收入", "Revenue from conversions"),
    "dashboard.series.female": ("女", "Female"),
    "dashboard.series.male": ("男", "Male"),
    "dashboard.series.unknown_sex": ("未知", "Unknown"),
    # --- x categories ----------------------------------------------------------------
    "dashboard.funnel.views": ("浏览套餐", "Package views"),
    "dashboard.funnel.orders": ("下单", "Orders"),
    "dashboard.funnel.paid": ("支付", "Paid"),
    "dashboard.funnel.completed": ("完成体检", "Checkups completed"),
    "dashboard.age.under_18": ("18岁以下", "Under 18"),
    "dashboard.age.18_29": ("18–29岁", "18–29"),
    "dashboard.age.30_39": ("30–39岁", "30–39"),
    "dashboard.age.40_49": ("40–49岁", "40–49"),
    "dashboard.age.50_59": ("50–59岁", "50–59"),
    "dashboard.age.60_plus": ("60岁及以上", "60 and over"),
    "dashboard.age.unknown": ("未填写", "Not given"),
    "dashboard.cohort.month_n": ("第{n}个月", "Month {n}"),
    # --- totals ----------------------------------------------------------------------
    "dashboard.total.current": ("本期", "This period"),
    "dashboard.total.previous": ("上期", "Previous period"),
    "dashboard.total.liability": ("未兑换积分（期末）", "Outstanding points (end of range)"),
    # --- units and the CSV -------------------------------------------------------------
    "dashboard.unit.count": ("次", "count"),
    "dashboard.unit.fen": ("元", "CNY"),
    "dashboard.unit.percent": ("%", "%"),
    "dashboard.unit.points": ("积分", "points"),
    "dashboard.csv.x": ("分类/日期", "Category / date"),
    "dashboard.csv.previous": ("上期", "previous period"),
}
