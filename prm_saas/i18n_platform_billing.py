"""Messages of the plan catalog, tenants' subscriptions and the platform dashboard.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

PLATFORM_BILLING: dict[str, tuple[str, str]] = {
    # --- the plan catalog ----------------------------------------------------------
    "plans.code_invalid": (
        "代码只能用小写字母、数字、- 和 _，以字母开头，2–40 位。",
        "Use 2–40 lowercase letters, digits, - and _, starting with a letter.",
    ),
    "plans.code_taken": ("该套餐代码已被使用。", "This plan code is already taken."),
    "plans.sort_invalid": (
        "排序须为 0–{max} 之间的整数。",
        "The sort order must be a whole number from 0 to {max}.",
    ),
    "plans.title": ("套餐目录", "Plan catalog"),
    "plans.new": ("新建套餐", "New plan"),
    "plans.edit": ("编辑套餐", "Edit plan"),
    "plans.code": ("代码", "Code"),
    "plans.name_zh": ("中文名称", "Chinese name"),
    "plans.name_en": ("英文名称", "English name"),
    "plans.monthly_yuan": ("月费（元）", "Monthly price (CNY)"),
    "plans.monthly": ("月费", "Monthly"),
    "plans.active": ("可售", "On sale"),
    "plans.inactive": ("已停售", "Not on sale"),
    "plans.sort_order": ("排序", "Sort order"),
    "plans.save": ("保存", "Save"),
    "plans.saved_ok": ("套餐已保存。", "The plan was saved."),
    "plans.empty": ("还没有套餐。", "No plans yet."),
    # --- tenants' subscriptions -----------------------------------------------------
    "subscription.plan_inactive": (
        "该套餐已停售，不能再分配。",
        "This plan is no longer on sale and cannot be assigned.",
    ),
    "subscription.same_plan": (
        "该机构已在使用套餐 {plan}。",
        "This tenant is already on the {plan} plan.",
    ),
    "subscription.none_open": (
        "该机构当前没有订阅。",
        "This tenant has no subscription to end.",
    ),
    "subscription.changed_meanwhile": (
        "该机构的套餐刚被他人修改，请刷新后重试。",
        "Someone else just changed this tenant's plan. Reload and try again.",
    ),
    "subscription.plan": ("套餐", "Plan"),
    "subscription.mrr": ("月经常性收入", "MRR"),
    "subscription.none": ("无订阅", "No plan"),
    "subscription.set_plan": ("设置套餐", "Set plan"),
    "subscription.reason": ("原因", "Reason"),
    "subscription.reason_hint": (
        "例如：客户升级、合同续签（记入审计日志）",
        "E.g. customer upgraded, contract renewed (kept in the audit log)",
    ),
    "subscription.save": ("确认", "Confirm"),
    "subscription.changed_ok": ("套餐已更新。", "The plan was changed."),
    "subscription.end": ("终止订阅", "End subscription"),
    "subscription.ended_ok": ("订阅已终止。", "The subscription was ended."),
    # --- the platform dashboard ---------------------------------------------------------
    "nav.platform_dashboard": ("运营看板", "Dashboard"),
    "nav.plans": ("套餐", "Plans"),
    "platform_dashboard.title": ("平台运营看板", "Platform dashboard"),
    "platform_dashboard.utc_note": ("日期按 UTC 计算。", "Days are UTC days."),
    "dashboard.chart.tenants_by_status": ("机构状态分布", "Tenants by status"),
    "dashboard.chart.signups": ("新签约机构", "New sign-ups"),
    "dashboard.chart.mrr": ("月经常性收入（MRR）", "Monthly recurring revenue (MRR)"),
    "dashboard.chart.churn": ("流失率（按月）", "Churn rate per month"),
    "dashboard.chart.usage": ("各机构用量", "Usage per tenant"),
    "dashboard.chart.top_tenants": ("预约量最多的机构", "Top tenants by bookings"),
    "dashboard.series.tenants": ("机构数", "Tenants"),
    "dashboard.series.signups": ("新机构", "New tenants"),
    "dashboard.series.mrr": ("MRR", "MRR"),
    "dashboard.series.mrr_lost": ("流失 MRR", "MRR lost"),
    "dashboard.series.churn_rate": ("流失率", "Churn rate"),
    "dashboard.series.platform_patients": ("患者总数（期末）", "Patients (end of range)"),
    "dashboard.series.platform_messages": ("发送消息", "Messages sent"),
    "dashboard.total.mrr_lost": ("期内流失 MRR", "MRR lost in the range"),
    "dashboard.total.platform_patients": ("患者（期末）", "Patients (end of range)"),
    "dashboard.total.platform_messages": ("消息", "Messages"),
    "dashboard.total.platform_bookings": ("预约", "Bookings"),
}
