"""Messages of the billing pages (issue 8): the public sign-up page, the tenant's
billing page, the past-due banner and the operator console's billing columns.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES``. The services' own messages (``billing.*``,
``signup.*``, ``limits.*``, ``console.*``) live in their parts' catalogs.
"""

from __future__ import annotations

BILLING_PAGES: dict[str, tuple[str, str]] = {
    # --- /signup ---------------------------------------------------------------------
    "signup_ui.title": ("注册您的机构", "Sign up your organisation"),
    "signup_ui.subtitle": (
        "几分钟开通诊所或体检中心的患者关系管理，先免费试用。",
        "Patient relationship management for your clinic or health-check center in "
        "minutes. Start with a free trial.",
    ),
    "signup_ui.link": ("注册新机构", "Sign up a new organisation"),
    "signup_ui.org_section": ("机构", "Organisation"),
    "signup_ui.name": ("机构名称", "Organisation name"),
    "signup_ui.slug": ("网址标识", "Address name"),
    "signup_ui.slug_hint": (
        "小写字母、数字和连字符，3–40 个字符，以字母开头。",
        "Lowercase letters, digits and hyphens, 3-40 characters, starting with a letter.",
    ),
    "signup_ui.address": ("您的地址：", "Your address: "),
    "signup_ui.kind": ("机构类型", "Kind"),
    "signup_ui.admin_section": ("管理员账号", "Administrator account"),
    "signup_ui.admin_name": ("姓名", "Name"),
    "signup_ui.admin_email": ("邮箱", "Email"),
    "signup_ui.admin_password": ("密码", "Password"),
    "signup_ui.plan_section": ("选择套餐", "Choose a plan"),
    "signup_ui.per_month": ("/月", "/month"),
    "signup_ui.trial_days_var": ("免费试用天数：", "Free trial days: "),
    "signup_ui.no_plans": (
        "暂时没有可选的套餐，请稍后再试。",
        "No plans are on sale right now; please try again later.",
    ),
    "signup_ui.submit": ("开始免费试用", "Start the free trial"),
    "signup_ui.done_title": ("注册成功！", "You are signed up!"),
    "signup_ui.done_trial": ("试用期至", "Trial until"),
    "signup_ui.done_address": ("机构地址", "Your address"),
    "signup_ui.done_next": (
        "用刚才的邮箱和密码登录管理后台，添加员工、门店和服务项目。",
        "Sign in to the admin with the email and password you chose to add staff, "
        "locations and services.",
    ),
    "signup_ui.go_admin": ("进入管理后台", "Go to the admin"),
    "signup_ui.stripe_later": (
        "支付账户稍后自动开通，试用期间无需付款。",
        "Your payment account will be set up shortly; nothing is charged during the trial.",
    ),
    # --- /admin/billing -----------------------------------------------------------------
    "billing_ui.nav": ("账单与套餐", "Billing & plan"),
    "billing_ui.title": ("账单与套餐", "Billing & plan"),
    "billing_ui.plan": ("当前套餐", "Current plan"),
    "billing_ui.trial_left": (
        "试用中，还剩 {days} 天（至 {date}）",
        "Trial: {days} days left (until {date})",
    ),
    "billing_ui.active": ("正常，当前账期 {start} 至 {end}", "Active, period {start} to {end}"),
    "billing_ui.past_due": (
        "付款逾期：请在 {date} 前更新银行卡，否则机构将被暂停。",
        "Payment past due: update your card before {date} or the organisation will be suspended.",
    ),
    "billing_ui.suspended_billing": (
        "因未付款已暂停（只读）。更新银行卡并付清账单后即恢复。",
        "Suspended for non-payment (read-only). Update your card; paying the open "
        "invoices restores access.",
    ),
    "billing_ui.suspended_manual": (
        "已被平台暂停（只读），请联系平台运营。",
        "Suspended by the platform (read-only); please contact the platform operator.",
    ),
    "billing_ui.next_invoice": ("下期账单预计", "Next invoice (estimate)"),
    "billing_ui.usage": ("用量", "Usage"),
    "billing_ui.usage_staff": ("员工", "Staff"),
    "billing_ui.usage_locations": ("门店", "Locations"),
    "billing_ui.usage_patients": ("活跃患者", "Active patients"),
    "billing_ui.usage_messages": ("本期消息", "Messages this period"),
    "billing_ui.unlimited": ("不限", "unlimited"),
    "billing_ui.of": (" / ", " / "),
    "billing_ui.messages_note_nocap": (
        "套餐含 {included} 条，超出部分每条 {price}，不设上限",
        "{included} included, {price} per message beyond, no cap",
    ),
    "billing_ui.messages_note": (
        "套餐含 {included} 条，超出部分每条 {price}，每期上限 {cap} 条",
        "{included} included, {price} per message beyond, cap {cap} per period",
    ),
    "billing_ui.change_plan": ("更换套餐", "Change plan"),
    "billing_ui.current": ("当前", "Current"),
    "billing_ui.choose": ("选择", "Choose"),
    "billing_ui.preview_title": ("确认更换套餐", "Confirm the plan change"),
    "billing_ui.preview_credit": ("原套餐剩余时间退回", "Credit for unused time"),
    "billing_ui.preview_charge": ("新套餐剩余时间费用", "Charge for the remaining time"),
    "billing_ui.preview_total": ("本次合计", "Total now"),
    "billing_ui.preview_free": (
        "试用期内更换套餐不收费。",
        "Changing plans during the trial is free.",
    ),
    "billing_ui.preview_upgrade": (
        "差额将立即开票并从银行卡扣款。",
        "The difference is invoiced and charged to your card now.",
    ),
    "billing_ui.preview_downgrade": (
        "差额将在下期账单中抵扣。",
        "The difference is credited on your next invoice.",
    ),
    "billing_ui.preview_new_price": ("新月费", "New monthly price"),
    "billing_ui.confirm": ("确认更换", "Confirm change"),
    "billing_ui.changed_ok": ("套餐已更换为 {name}。", "Your plan is now {name}."),
    "billing_ui.card": ("银行卡", "Card on file"),
    "billing_ui.no_card": ("尚未绑定银行卡", "No card on file"),
    "billing_ui.update_card": ("更新银行卡", "Update card"),
    "billing_ui.invoices": ("账单", "Invoices"),
    "billing_ui.no_invoices": ("还没有账单。", "No invoices yet."),
    "billing_ui.inv_number": ("编号", "Number"),
    "billing_ui.inv_date": ("日期", "Date"),
    "billing_ui.inv_period": ("账期", "Period"),
    "billing_ui.inv_amount": ("金额", "Amount"),
    "billing_ui.inv_status": ("状态", "Status"),
    "billing_ui.inv_lines": ("明细", "Lines"),
    "billing_ui.show_lines": ("明细", "Lines"),
    "billing_ui.hide_lines": ("收起", "Hide"),
    "billing_ui.line_desc": ("项目", "Item"),
    "billing_ui.line_qty": ("数量", "Qty"),
    "billing_ui.line_amount": ("金额", "Amount"),
    "billing_ui.inv_draft": ("待付款", "Unpaid"),
    "billing_ui.inv_open": ("待付款", "Unpaid"),
    "billing_ui.inv_paid": ("已付款", "Paid"),
    "billing_ui.inv_void": ("已作废", "Void"),
    "billing_ui.inv_uncollectible": ("无法收款", "Uncollectible"),
    "billing_ui.not_configured": (
        "账单账户尚在开通中，请稍后再来。",
        "Your billing account is still being set up; please come back shortly.",
    ),
    # --- banners -----------------------------------------------------------------------
    "billing_ui.banner_past_due_before": (
        "本机构付款逾期，如未在 ",
        "This organisation's payment is past due; unless it is paid by ",
    ),
    "billing_ui.banner_past_due_after": (
        " 前付款，将被暂停为只读。",
        ", it will be suspended (read-only).",
    ),
    "billing_ui.banner_suspended_billing": (
        "本机构因账单未付已暂停：数据只读。管理员更新银行卡并付清账单后即恢复。",
        "This organisation is suspended for unpaid invoices: everything is read-only until "
        "an administrator updates the card and pays them.",
    ),
    "billing_ui.banner_link": ("前往账单页", "Go to billing"),
    # --- platform console -------------------------------------------------------------
    "console_ui.usage": (
        "用量：患者 / 本期消息（含）",
        "Usage: patients / messages this period (included)",
    ),
    "console_ui.last_invoice": ("最近账单", "Last invoice"),
    "console_ui.dates": ("试用至 / 逾期自", "Trial until / past due since"),
    "console_ui.trial_until_label": ("试用至 ", "trial until "),
    "console_ui.past_due_since_label": ("逾期自 ", "past due since "),
    "console_ui.suspension_billing": ("欠费", "billing"),
    "console_ui.suspension_manual": ("人工", "manual"),
    "console_ui.suspend": ("暂停", "Suspend"),
    "console_ui.resume": ("恢复", "Resume"),
    "console_ui.suspend_title": ("暂停机构", "Suspend the tenant"),
    "console_ui.resume_title": ("恢复机构", "Resume the tenant"),
    "console_ui.confirm": ("确认", "Confirm"),
    "console_ui.reason": ("原因（记入审计日志）", "Reason (kept in the audit log)"),
    "console_ui.suspended_ok": ("{name} 已暂停。", "{name} is suspended."),
    "console_ui.resumed_ok": ("{name} 已恢复。", "{name} is resumed."),
    "console_ui.none": ("—", "—"),
    # plan editor limits
    "console_ui.limits": ("限额（留空 = 不限）", "Limits (empty = unlimited)"),
    "console_ui.max_staff": ("员工数上限", "Staff seats"),
    "console_ui.max_locations": ("门店数上限", "Locations"),
    "console_ui.max_active_patients": ("活跃患者上限", "Active patients"),
    "console_ui.messages_included": ("每期含消息数", "Messages included per period"),
    "console_ui.message_overage_yuan": ("超出每条价格（元）", "Price per extra message (yuan)"),
    "console_ui.messages_cap": ("每期消息硬上限", "Hard message cap per period"),
    "console_ui.trial_days": ("试用天数", "Trial days"),
    "console_ui.message_overage_short": ("超出每条", "extra each"),
    "console_ui.cap_short": ("上限", "cap"),
    "console_ui.limits_short": ("员工/门店/患者", "Staff / locations / patients"),
    "console_ui.messages_short": ("消息 含/超出/上限", "Messages incl. / extra / cap"),
}
