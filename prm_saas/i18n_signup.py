"""Messages of self-serve sign-up, plan limits and the operator console services.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

SIGNUP: dict[str, tuple[str, str]] = {
    # --- sign-up ---------------------------------------------------------------------
    "signup.slug_taken": (
        "地址 “{slug}” 已被其他机构使用，请换一个。",
        "The address “{slug}” is already taken by another clinic. Please choose another.",
    ),
    "signup.plan_unavailable": (
        "所选套餐不存在或已停售，请重新选择。",
        "The chosen plan does not exist or is no longer on sale. Please choose another.",
    ),
    "signup.throttled": (
        "此网络注册的机构过多，请 {minutes} 分钟后再试。",
        "Too many sign-ups from this network. Please try again in {minutes} minutes.",
    ),
    "signup.sample_prefix": ("示例", "Sample"),
    "signup.location_name": ("总院", "Main site"),
    # --- plan limits -----------------------------------------------------------------
    "limits.staff_reached": (
        "已达到「{plan}」套餐的员工席位上限（{max} 个，含待接受的邀请）。"
        "请在 /admin/billing 升级套餐，或先停用不再需要的账号。",
        "The {plan} plan allows {max} staff seats (invitations count) and all are used. "
        "Upgrade at /admin/billing, or disable accounts you no longer need.",
    ),
    "limits.locations_reached": (
        "已达到「{plan}」套餐的院区数量上限（{max} 个）。请在 /admin/billing 升级套餐。",
        "The {plan} plan allows {max} locations and all are used. Upgrade at /admin/billing.",
    ),
    "limits.patients_reached": (
        "已达到「{plan}」套餐的活跃患者上限（{max} 位）。请在 /admin/billing 升级套餐。",
        "The {plan} plan allows {max} active patients and all are used. Upgrade at /admin/billing.",
    ),
    "limits.patients_full": (
        "抱歉，本机构暂时无法接受新会员注册，请直接联系机构。",
        "Sorry, this clinic cannot take new member registrations right now. "
        "Please contact the clinic directly.",
    ),
    "limits.messages_reached": (
        "本计费周期的消息已达到「{plan}」套餐的上限（{max} 条），超出的消息不会发送。"
        "请在 /admin/billing 升级套餐。",
        "This billing period's messages reached the {plan} plan's cap ({max}); "
        "further messages are not sent. Upgrade at /admin/billing.",
    ),
    "reason.plan_cap": ("已达套餐本期消息上限", "Plan's message cap for the period reached"),
    "limits.resource_staff": ("员工席位", "Staff seats"),
    "limits.resource_locations": ("院区", "Locations"),
    "limits.resource_patients": ("活跃患者", "Active patients"),
    "limits.resource_messages": ("本期消息", "Messages this period"),
    "limits.unlimited": ("不限", "Unlimited"),
    "limits.number_invalid": (
        "请填写 0–{max} 之间的整数，留空表示不限。",
        "Enter a whole number from 0 to {max}, or leave empty for unlimited.",
    ),
    "limits.count_invalid": (
        "请填写 0–{max} 之间的整数。",
        "Enter a whole number from 0 to {max}.",
    ),
    "limits.cap_below_included": (
        "消息上限不能少于套餐包含的消息数。",
        "The message cap cannot be below the messages included.",
    ),
    # --- operator console ------------------------------------------------------------
    "console.already_suspended": (
        "该机构已被运营人员暂停。",
        "This tenant is already suspended by an operator.",
    ),
    "console.not_suspended": (
        "该机构未被运营人员暂停，无需恢复。",
        "This tenant is not suspended by an operator; there is nothing to resume.",
    ),
}
