"""Messages of booking: schedules, seats, the patient booking flow, the waitlist and the front desk.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
The package eligibility keys (``booking.not_offered``, ``booking.wrong_sex``,
``booking.too_young``, ...) come from the mall and live in ``i18n_mall``.
"""

from __future__ import annotations

BOOKING: dict[str, tuple[str, str]] = {
    # --- schedule administration (field errors) ---------------------------------
    "booking.field.time_invalid": (
        "时间格式应为 HH:MM（24 小时制）。",
        "Times look like HH:MM (24-hour).",
    ),
    "booking.field.end_before_start": (
        "结束时间须晚于开始时间。",
        "The end must be after the start.",
    ),
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
    "booking.not_changeable": (
        "该预约当前状态不能修改。",
        "This booking can no longer be changed.",
    ),
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
    "booking.waitlist_already": (
        "您已在该时段的候补名单中。",
        "You are already on this slot's waiting list.",
    ),
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
    # --- message templates (their names in the template editor) ---------------------
    "booking.confirmed": ("预约成功通知", "Booking confirmation"),
    "booking.reminder_day": (
        "体检前一天提醒（含须知）",
        "Reminder the day before (with instructions)",
    ),
    "booking.reminder_2h": ("体检前 2 小时提醒", "Reminder 2 hours before"),
    "booking.rescheduled": ("改约通知", "Booking moved"),
    "booking.cancelled": ("取消通知", "Booking cancelled"),
    "booking.waitlist_offer": ("候补名额通知", "Waiting-list seat offer"),
    # --- labels --------------------------------------------------------------------
    "booking.status.held": ("待支付", "Awaiting payment"),
    "booking.status.confirmed": ("已确认", "Confirmed"),
    "booking.status.checked_in": ("已签到", "Checked in"),
    "booking.status.completed": ("已完成", "Completed"),
    "booking.status.no_show": ("爽约", "No-show"),
    "booking.status.cancelled": ("已取消", "Cancelled"),
    "booking.status.expired": ("已过期", "Expired"),
    # --- pages: schedules, front desk ----------------------------------------------
    "nav.schedules": ("排班与预约", "Schedules"),
    "nav.frontdesk": ("前台", "Front desk"),
    "sched.title": ("排班与预约设置", "Schedules and booking"),
    "sched.help": (
        "管理体检地点、每周开放时段、停诊日、稀缺资源（如 CT）的每日上限，以及预约政策。",
        "Locations, weekly opening hours, closed days, daily limits of scarce resources "
        "(e.g. CT) and the booking policy.",
    ),
    "sched.locations": ("体检地点", "Locations"),
    "sched.no_locations": ("还没有体检地点。", "No locations yet."),
    "sched.new_location": ("新建地点", "New location"),
    "sched.create_location": ("创建地点", "Create location"),
    "sched.inactive": ("已停用", "Inactive"),
    "sched.name_zh": ("中文名称", "Name (Chinese)"),
    "sched.name_en": ("英文名称", "Name (English)"),
    "sched.address": ("地址", "Address"),
    "sched.min_days_ahead": ("最早提前天数", "Book at least (days ahead)"),
    "sched.min_days_ahead_hint": ("0 表示可预约当天。", "0 allows same-day bookings."),
    "sched.max_days_ahead": ("最多提前天数", "Book at most (days ahead)"),
    "sched.same_day_cutoff": ("当天预约截止时间", "Same-day cutoff"),
    "sched.same_day_cutoff_hint": (
        "可预约当天时，此时间之后不再接受当天预约；留空表示不限。",
        "With same-day booking, no same-day bookings after this time; empty means none.",
    ),
    "sched.active": ("启用", "Active"),
    "sched.active_hint": (
        "停用后患者无法再预约此地点，已有预约不受影响。",
        "Patients can no longer book this location; existing bookings stay.",
    ),
    "sched.tab_details": ("基本信息", "Details"),
    "sched.tab_hours": ("每周时段", "Weekly hours"),
    "sched.tab_closures": ("停诊日", "Closures"),
    "sched.tab_resources": ("稀缺资源", "Resources"),
    "sched.hours_help": (
        "每个时段按时长切分为号源，每个号源有固定名额。没有时段的星期几不开放。",
        "Each block is cut into slots of the given length and seats. A weekday without "
        "a block is closed.",
    ),
    "sched.no_hours": ("还没有开放时段：此地点每天都不开放。", "No hours yet: closed every day."),
    "sched.add_hours": ("添加时段", "Add a block"),
    "sched.edit_hours": ("修改时段", "Change the block"),
    "sched.weekday": ("星期", "Weekday"),
    "sched.time": ("时间", "Time"),
    "sched.start": ("开始", "Start"),
    "sched.end": ("结束", "End"),
    "sched.slot_minutes": ("每号时长（分钟）", "Slot (minutes)"),
    "sched.capacity": ("每号名额", "Seats per slot"),
    "sched.slots": ("号源数", "Slots"),
    "sched.add": ("添加", "Add"),
    "sched.deleted": ("已删除。", "Deleted."),
    "sched.wd_0": ("星期一", "Monday"),
    "sched.wd_1": ("星期二", "Tuesday"),
    "sched.wd_2": ("星期三", "Wednesday"),
    "sched.wd_3": ("星期四", "Thursday"),
    "sched.wd_4": ("星期五", "Friday"),
    "sched.wd_5": ("星期六", "Saturday"),
    "sched.wd_6": ("星期日", "Sunday"),
    "sched.closure_day": ("日期", "Date"),
    "sched.closure_reason": ("原因", "Reason"),
    "sched.no_closures": ("没有停诊日。", "No closed days."),
    "sched.resources_help": (
        "稀缺检查项目（如 CT、胃镜）每天的可用数量。标识与检查项目的资源标识一致。",
        "Units a scarce exam (CT, gastroscopy) has per day. The key matches the exam "
        "item's resource key.",
    ),
    "sched.no_resources": ("没有设置稀缺资源。", "No scarce resources."),
    "sched.add_resource": ("添加资源", "Add a resource"),
    "sched.edit_resource": ("修改资源", "Change the resource"),
    "sched.resource_key": ("资源标识", "Key"),
    "sched.resource_key_hint": (
        "小写字母、数字和下划线，如 ct。",
        "Lowercase letters, digits, _ (e.g. ct).",
    ),
    "sched.daily_limit": ("每日上限", "Daily limit"),
    "sched.policy": ("预约政策", "Booking policy"),
    "sched.hold_minutes": ("待支付保留（分钟）", "Unpaid hold (minutes)"),
    "sched.hold_minutes_hint": (
        "在线支付的订单在此时间内保留号源，超时自动释放。",
        "An unpaid online order keeps its seat this long, then releases it.",
    ),
    "sched.waitlist_offer_minutes": ("候补确认时限（分钟）", "Waitlist offer (minutes)"),
    "sched.waitlist_offer_minutes_hint": (
        "候补患者获得号源后需在此时间内确认。",
        "A waitlisted patient offered a seat has this long to take it.",
    ),
    "sched.cancel_cutoff_hours": ("取消/改约截止（小时）", "Cancel/reschedule cutoff (hours)"),
    "sched.cancel_cutoff_hours_hint": (
        "距预约开始不足此时间时，患者不能自行取消或改约。",
        "Patients cannot cancel or reschedule closer to the start than this.",
    ),
    "sched.full_refund_hours": ("全额退款（小时）", "Full refund (hours)"),
    "sched.full_refund_hours_hint": (
        "提前至少此时间取消可全额退款。",
        "Cancelled at least this early: a full refund.",
    ),
    "sched.late_refund_percent": ("较晚取消退款比例（%）", "Late refund (%)"),
    "sched.late_refund_percent_hint": (
        "在两个时限之间取消时退还的比例。",
        "Share refunded when cancelled between the two cutoffs.",
    ),
    "sched.allow_pay_at_clinic": ("允许到院支付", "Allow pay at the clinic"),
    "sched.allow_pay_at_clinic_hint": (
        "患者可选择到院付款，预约立即确认。",
        "Patients may pay at the clinic; such bookings are confirmed at once.",
    ),
    "fd.title": ("前台", "Front desk"),
    "fd.today": ("今天", "Today"),
    "fd.booked": ("已约", "Booked"),
    "fd.arrived": ("已到", "Arrived"),
    "fd.waiting": ("待到", "Expected"),
    "fd.no_patients": (
        "没有匹配的患者。请先为患者注册账号。",
        "No matching patients. Register the patient first.",
    ),
    "fd.bad_date": ("日期无效。", "That is not a valid date."),
    "fd.no_locations": ("还没有体检地点。", "No locations yet."),
    "fd.no_slots": ("这一天没有号源（不开放或停诊）。", "No slots this day (closed)."),
    "fd.no_bookings_in_slot": ("暂无预约", "No bookings"),
    "fd.checkin_title": ("签到", "Check in"),
    "fd.code_placeholder": ("扫描或输入签到码", "Scan or type the check-in code"),
    "fd.checkin_hint": (
        "扫码枪或扫码应用会自动填入签到码（也可粘贴含签到码的链接）。找不到签到码时按姓名或手机号搜索。",
        "A scanner fills in the code (a link holding it works too). No code? Search by "
        "name or phone.",
    ),
    "fd.code_required": ("请输入签到码。", "Enter a check-in code."),
    "fd.search_placeholder": ("姓名或手机号", "Name or phone"),
    "fd.search_results": ("当天的预约", "Bookings this day"),
    "fd.search_none": ("没有匹配的预约。", "No matching bookings."),
    "fd.clear": ("清除", "Clear"),
    "fd.check_in": ("签到", "Check in"),
    "fd.no_show": ("爽约", "No-show"),
    "fd.complete": ("完成", "Complete"),
    "fd.checked_in_ok": ("已签到。", "Checked in."),
    "fd.checked_in_name": ("{name} 已签到（{time}）。", "{name} checked in ({time})."),
    "fd.checked_in_elsewhere": (
        "已签到。该预约不在当前显示的地点或日期。",
        "Checked in. The booking is not at the location or day shown.",
    ),
    "fd.no_show_ok": ("已标记爽约。", "Marked as a no-show."),
    "fd.completed_ok": ("已完成。", "Completed."),
    "fd.checked_in_at": ("签到于", "Checked in at"),
    "fd.walk_in": ("现场预约", "Walk-in"),
    "fd.walk_in_badge": ("现场", "Walk-in"),
    "fd.walk_in_title": ("现场预约", "Book a walk-in"),
    "fd.walk_in_body": (
        "为到店患者预约当天的号源，立即确认，到院支付。",
        "Books a slot of this day for a patient at the desk: confirmed at once, paid here.",
    ),
    "fd.walk_in_ok": ("已为 {name} 预约。", "Booked for {name}."),
    "fd.patient": ("患者", "Patient"),
    "fd.chosen": ("已选择", "Chosen"),
    "fd.package": ("套餐", "Package"),
    "fd.slot": ("时段", "Slot"),
    "fd.seats_left": ("剩余 {n}", "{n} left"),
    "fd.pick_patient": ("请选择患者。", "Choose the patient."),
    "fd.pick_package": ("请选择套餐", "Choose a package"),
    "fd.pick_slot": ("请选择时段", "Choose a slot"),
    "fd.override": ("超出名额（需填写原因）", "Exceed capacity (reason required)"),
    "fd.override_reason": ("超额原因", "Reason for exceeding capacity"),
    "fd.override_hint": ("原因会记录在审计日志中。", "The reason is recorded in the audit log."),
    "fd.override_label": ("超额", "Over capacity"),
    "fd.reason_required": ("请填写超额原因。", "Give a reason for exceeding capacity."),
    "fd.book_walk_in": ("确认预约", "Book"),
}
