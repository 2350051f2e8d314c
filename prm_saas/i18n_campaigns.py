"""Messages of campaigns (营销活动): the campaign form, content, controls and report.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

CAMPAIGNS: dict[str, tuple[str, str]] = {
    # --- the campaign form -------------------------------------------------------------
    "campaigns.field.audience_required": ("请选择目标人群。", "Choose an audience."),
    "campaigns.field.channels_required": (
        "请至少选择一个发送渠道。",
        "Choose at least one channel.",
    ),
    "campaigns.field.channel_invalid": (
        "发送渠道只能是邮件、短信或站内消息。",
        "Channels are email, SMS or in-app.",
    ),
    "campaigns.field.send_at_invalid": (
        "发送时间格式应为 YYYY-MM-DD HH:MM。",
        "Send times look like YYYY-MM-DD HH:MM.",
    ),
    "campaigns.field.send_at_past": (
        "发送时间必须晚于现在。",
        "The send time must be in the future.",
    ),
    "campaigns.field.time_invalid": ("时间格式应为 HH:MM。", "Times look like HH:MM."),
    "campaigns.field.weekday_invalid": (
        "请选择星期几（周一至周日）。",
        "Choose a day of the week (Monday to Sunday).",
    ),
    "campaigns.field.month_day_invalid": (
        "每月日期应在 1 到 31 之间。",
        "The day of the month is between 1 and 31.",
    ),
    "campaigns.field.number_range": (
        "请输入 {min} 到 {max} 之间的整数。",
        "Enter a whole number from {min} to {max}.",
    ),
    "campaigns.field.quiet_both": (
        "免打扰时段需同时填写开始和结束时间，或都留空以使用机构设置。",
        "Give both ends of the quiet hours, or leave both empty for the clinic's.",
    ),
    "campaigns.field.variant_invalid": ("版本只能是 A 或 B。", "The variant is A or B."),
    "campaigns.field.channel_not_in_campaign": (
        "该活动未选择此渠道。",
        "This campaign does not use this channel.",
    ),
    # --- controls ----------------------------------------------------------------------
    "campaigns.empty_audience": (
        "目标人群中没有可以接收营销消息的客户，无法发送。",
        "No patient in this audience can receive marketing messages; nothing to send.",
    ),
    "campaigns.missing_content": (
        "版本 {variant} 的 {channel} 渠道还没有内容，无法开始。",
        "Variant {variant} has no content for {channel} yet; the campaign cannot start.",
    ),
    "campaigns.locked": (
        "活动正在发送，请先暂停再修改。",
        "The campaign is sending; pause it before changing it.",
    ),
    "campaigns.finished": (
        "活动已结束，不能再修改；可新建一个活动。",
        "The campaign has finished and can no longer be changed; create a new one.",
    ),
    "campaigns.variant_in_use": (
        "本轮发送已按 A/B 分配客户，不能删除版本 B；可在本轮结束后修改。",
        "This run has already split its recipients between A and B; remove B after it ends.",
    ),
    "campaigns.not_startable": (
        "只有草稿状态的活动可以开始。",
        "Only a draft campaign can be started.",
    ),
    "campaigns.not_running": ("活动未在发送中，无法暂停。", "The campaign is not sending."),
    "campaigns.not_paused": ("活动未暂停，无法继续。", "The campaign is not paused."),
    "campaigns.not_stoppable": (
        "活动已结束，无需停止。",
        "The campaign has already finished.",
    ),
    "campaigns.not_deletable": (
        "只能删除未发送过的草稿活动。",
        "Only a draft that never sent can be deleted.",
    ),
    # --- statuses (pages) ----------------------------------------------------------------
    "campaigns.status.draft": ("草稿", "Draft"),
    "campaigns.status.scheduled": ("已排期", "Scheduled"),
    "campaigns.status.running": ("发送中", "Sending"),
    "campaigns.status.paused": ("已暂停", "Paused"),
    "campaigns.status.stopped": ("已停止", "Stopped"),
    "campaigns.status.done": ("已完成", "Done"),
}
