"""Messages of platform billing: the tenant's plan, card and invoices (issue 8, part A).

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

BILLING: dict[str, tuple[str, str]] = {
    # --- errors a tenant admin can hit ------------------------------------------
    "billing.card_declined": (
        "银行卡被拒绝，未做任何更改。请换一张卡再试。",
        "The card was declined; nothing was changed. Please try another card.",
    ),
    "billing.card_invalid": (
        "银行卡信息无效，请检查后重试。",
        "The card details are not valid. Please check them and try again.",
    ),
    "billing.card_required": (
        "升级需立即支付差价，请先添加银行卡。",
        "An upgrade is charged at once: add a card first.",
    ),
    "billing.payment_failed": (
        "扣款失败，套餐未变更。请更新银行卡后重试。",
        "The payment failed; the plan was not changed. Update your card and try again.",
    ),
    "billing.stripe_unavailable": (
        "支付服务暂时不可用，请稍后再试。",
        "The payment service is unavailable right now. Please try again later.",
    ),
    "billing.no_account": (
        "该机构还没有计费账户，请联系平台运营。",
        "This organisation has no billing account yet. Contact the platform operator.",
    ),
    "billing.plan_invalid": ("请选择一个套餐。", "Choose a plan."),
    "billing.plan_inactive": (
        "该套餐已停售，不能再选择。",
        "This plan is no longer on sale.",
    ),
    "billing.same_plan": ("您已在使用套餐 {plan}。", "You are already on the {plan} plan."),
    "billing.downgrade_over_limit": (
        "无法降级：当前用量超出新套餐的限额，请先减少用量。",
        "Cannot downgrade: current usage is over the new plan's limits. Reduce it first.",
    ),
    "billing.over.staff": (
        "员工 {used}/{limit}：新套餐最多 {limit} 个员工席位，当前已用 {used} 个。",
        "staff {used}/{limit}: the new plan allows {limit} staff seats, {used} are in use.",
    ),
    "billing.over.locations": (
        "门店 {used}/{limit}：新套餐最多 {limit} 个门店，当前有 {used} 个。",
        "locations {used}/{limit}: the new plan allows {limit} locations, there are {used}.",
    ),
    "billing.over.patients": (
        "活跃患者 {used}/{limit}：新套餐最多 {limit} 位活跃患者，当前有 {used} 位。",
        "active patients {used}/{limit}: the new plan allows {limit}, there are {used}.",
    ),
    "billing.over.messages": (
        "消息 {used}/{limit}：新套餐每期最多 {limit} 条，本期已发 {used} 条。",
        "messages {used}/{limit}: the new plan allows {limit} a period, {used} were sent.",
    ),
    "billing.invoice_mismatch": (
        "该发票不属于此机构。",
        "This invoice belongs to another organisation.",
    ),
    # --- invoice lines (written on the Stripe invoice in the tenant's language) --------
    "billing.line.usage": (
        "超出套餐的消息 {count} 条（{period}）",
        "{count} messages beyond the plan ({period})",
    ),
    "billing.line.period": ("{plan} 套餐 {period}", "{plan} plan {period}"),
    "billing.line.proration": ("套餐变更 {old} → {new}", "Plan change {old} → {new}"),
    # --- the card page (/api/billing/card/<token>) -------------------------------------
    "billing.card.title": ("更新付款银行卡", "Update the payment card"),
    "billing.card.current": (
        "当前银行卡：{brand} •••• {last4}（{exp} 到期）",
        "Card on file: {brand} •••• {last4} (expires {exp})",
    ),
    "billing.card.none": ("尚未添加银行卡。", "No card on file yet."),
    "billing.card.unpaid": (
        "待付账单：{count} 张，共 ¥{amount}。保存银行卡后将立即扣款。",
        "Unpaid invoices: {count}, ¥{amount} in total. They are charged once the card is saved.",
    ),
    "billing.card.button": ("保存银行卡", "Save card"),
    "billing.card.working": ("正在保存…", "Saving…"),
    "billing.card.saved": ("银行卡已保存。", "The card was saved."),
    "billing.card.saved_paid": (
        "银行卡已保存，{paid} 张账单已付清。",
        "The card was saved and {paid} invoice(s) were paid.",
    ),
    "billing.card.saved_unpaid": (
        "银行卡已保存，但仍有 {unpaid} 张账单扣款失败。请换一张卡。",
        "The card was saved, but {unpaid} invoice(s) could not be charged. Try another card.",
    ),
    "billing.card.not_found": (
        "链接无效或已过期，请回到账单页面重新打开。",
        "This link is invalid or has expired. Open it again from the billing page.",
    ),
    "billing.card.back": ("返回账单页面", "Back to billing"),
    # --- statuses and reasons (overview, console) --------------------------------------
    "billing.status.trial": ("试用中", "Trial"),
    "billing.status.active": ("正常", "Active"),
    "billing.status.past_due": ("逾期未付", "Past due"),
    "billing.status.suspended": ("已暂停", "Suspended"),
    "billing.invoice.draft": ("待付款", "Unpaid"),
    "billing.invoice.open": ("待付款", "Unpaid"),
    "billing.invoice.paid": ("已付款", "Paid"),
    "billing.invoice.void": ("已作废", "Void"),
    "billing.invoice.uncollectible": ("无法收款", "Uncollectible"),
}
