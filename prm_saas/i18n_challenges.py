"""Messages of health challenges (健康挑战): the admin's challenge form, joining,
checking in and progress.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

CHALLENGES: dict[str, tuple[str, str]] = {
    # --- the admin's challenge form (field errors) -------------------------------
    "challenge.field.dates_invalid": (
        "结束日期不能早于开始日期。",
        "The end date cannot come before the start date.",
    ),
    "challenge.field.date_invalid": ("请输入有效日期。", "Enter a valid date."),
    "challenge.field.number_invalid": (
        "请输入 {min}–{max} 之间的整数。",
        "Enter a whole number from {min} to {max}.",
    ),
    "challenge.field.target_too_long": (
        "目标天数不能超过挑战的天数（{days} 天）。",
        "The target cannot be more days than the challenge lasts ({days} days).",
    ),
    "challenge.field.threshold_invalid": (
        "请输入有效的数值。",
        "Enter a valid number.",
    ),
    "challenge.field.threshold_not_allowed": (
        "打卡型挑战不设数值标准。",
        "A plain check-in challenge has no number to compare.",
    ),
    # --- joining --------------------------------------------------------------
    "challenge.field.nickname_required": (
        "请填写排行榜上显示的昵称。",
        "Choose the nickname shown on the leaderboard.",
    ),
    "challenge.field.nickname_too_long": (
        "昵称最多 {max} 个字符。",
        "A nickname has at most {max} characters.",
    ),
    "challenge.field.nickname_taken": (
        "这个昵称已被其他参与者使用，请换一个。",
        "Another participant already uses this nickname; choose another.",
    ),
    "challenge.already_joined": ("您已参加该挑战。", "You have already joined this challenge."),
    "challenge.not_joined": (
        "请先参加该挑战再打卡。",
        "Join this challenge before checking in.",
    ),
    "challenge.not_open": (
        "该挑战目前未开放。",
        "This challenge is not open.",
    ),
    # --- checking in ----------------------------------------------------------
    "challenge.outside_dates": (
        "挑战时间为 {starts_on} 至 {ends_on}，今天（{day}）不在其中。",
        "The challenge runs from {starts_on} to {ends_on}; today ({day}) is outside it.",
    ),
    "challenge.already_checked_in": (
        "今天（{day}）已经打过卡了，明天再来吧。",
        "You have already checked in today ({day}); come back tomorrow.",
    ),
    "challenge.field.value_required": ("请填写数值。", "Enter a value."),
    "challenge.field.value_invalid": (
        "请输入 {min}–{max} 之间的数值。",
        "Enter a number from {min} to {max}.",
    ),
    # --- staff actions --------------------------------------------------------
    "challenge.not_draft": (
        "挑战发布后不能再修改规则。",
        "A published challenge's rules can no longer be changed.",
    ),
    "challenge.already_closed": ("该挑战已结束。", "This challenge is closed."),
    # --- message templates (their names in the template editor) ----------------------
    "challenge.nudge": ("挑战漏打卡提醒", "Challenge missed check-in nudge"),
}
