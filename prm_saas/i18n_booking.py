"""Messages of booking: schedules, seats, the patient booking flow, the waitlist and the front desk.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
The package eligibility keys (``booking.not_offered``, ``booking.wrong_sex``,
``booking.too_young``, ...) come from the mall and live in ``i18n_mall``.
"""

from __future__ import annotations

BOOKING: dict[str, tuple[str, str]] = {
    # --- schedule administration (field errors) ---------------------------------
    "booking.field.time_invalid": ("时间格式应为 HH:MM（24 小时制）。", "Times look like HH:MM (24-hour)."),
    "booking.field.end_before_start": ("结束时间须晚于开始时间。", "The end must be after the start."),
    "booking.field.slot_minutes_invalid": (
        "每个时段须为 5–240 分钟，且能整除营业时长。",
        "Slots must last 5–240 minutes and divide the opening block evenly.",
    ),
    "booking.field.hours_overlap": (
        "与当天已有的营业时段重叠。",
        "This overlaps another opening block on that weekday.",
    ),
    "booking.field.weekday_invalid": ("请选择星期一至星期日。", "Choose a weekday."),
    "booking.field.number_invalid": (
        "请输入 {min}–{max} 之间的整数。",
        "Enter a whole number from {min} to {max}.",
    ),
    "booking.field.window_invalid": (
        "最晚可约天数不能小于最早可约天数。",
        "The latest day bookable cannot come before the earliest.",
    ),
    "booking.field.resource_key_invalid": (
        "资源标识只能用小写字母、数字和下划线，最多 30 位。",
        "Use up to 30 lowercase letters, digits and underscores.",
    ),
    "booking.field.resource_key_taken": (
        "该门店已有同一标识的资源。",
        "This location already has a resource with that key.",
    ),
    "booking.field.closure_exists": ("该日期已设为停诊。", "That day is already closed."),
    "booking.field.refund_hours_invalid": (
        "全额退款时限不能短于取消截止时限。",
        "The full-refund limit cannot be shorter than the cancellation cutoff.",
    ),
    # --- booking a seat --------------------------------------------------------
    "booking.past_day": ("不能预约已经过去的日期。", "That day is in the past."),
    "booking.closed": ("该门店当天不营业。", "The location is closed that day."),
    "booking.outside_window": (
        "只能预约 {min_days} 到 {max_days} 天后的日期。",
        "Bookings open {min_days} to {max_days} days ahead.",
    ),
    "booking.same_day_cutoff": (
        "当天预约已于 {cutoff} 截止。",
        "Same-day booking closed at {cutoff}.",
    ),
    "booking.slot_started": ("该时段已开始，无法预约。", "That time slot has already started."),
    "booking.slot_full": (
        "该时段已约满，可加入候补名单。",
        "That time slot is full. You can join the waiting list.",
    ),
    "booking.resource_full": (
        "当天「{resource}」项目已约满，请选择其他日期。",
        "“{resource}” is fully booked that day. Please choose another day.",
    ),
    "booking.already_booked": (
        "您当天在该门店已有预约。",
        "You already have a booking at this location that day.",
    ),
    "booking.idempotency_conflict": (
        "该请求已用于另一笔预约，请刷新后重试。",
        "This request was already used for another booking. Refresh and try again.",
    ),
    "booking.override_reason_required": (
        "超额预约须填写原因。",
        "Give a reason to book beyond capacity.",
    ),
    "booking.hold_expired": (
        "预约保留已过期，请重新预约。",
        "The hold on this booking has expired. Please book again.",
    ),
    "booking.not_changeable": ("该预约当前状态不能修改。", "This booking can no longer be changed."),
    "booking.cancel_too_late": (
        "距体检开始不足 {hours} 小时，无法在线取消或改约，请联系机构。",
        "Less than {hours} hours before the appointment: contact the clinic to cancel or move it.",
    ),
    "booking.same_slot": ("请选择一个不同的时段。", "Choose a different time slot."),
    # --- waitlist -----------------------------------------------------------------
    "booking.waitlist_not_full": (
        "该时段还有空位，请直接预约。",
        "That slot still has seats: book it directly.",
    ),
    "booking.waitlist_already": ("您已在该时段的候补名单中。", "You are already on this slot's waiting list."),
    # --- front desk ----------------------------------------------------------------
    "booking.checkin_not_today": ("该预约不是今天的。", "This booking is not for today."),
    "booking.checkin_not_confirmed": (
        "该预约未确认（未支付或已取消），无法签到。",
        "This booking is not confirmed (unpaid or cancelled) and cannot be checked in.",
    ),
    "booking.already_checked_in": ("该预约已签到。", "This booking is already checked in."),
    "booking.not_checked_in": ("请先签到。", "Check the patient in first."),
    "booking.no_show_too_early": (
        "时段开始前不能标记爽约。",
        "A booking cannot be marked as a no-show before its slot starts.",
    ),
    # --- labels --------------------------------------------------------------------
    "booking.status.held": ("待支付", "Awaiting payment"),
    "booking.status.confirmed": ("已确认", "Confirmed"),
    "booking.status.checked_in": ("已签到", "Checked in"),
    "booking.status.completed": ("已完成", "Completed"),
    "booking.status.no_show": ("爽约", "No-show"),
    "booking.status.cancelled": ("已取消", "Cancelled"),
    "booking.status.expired": ("已过期", "Expired"),
}
