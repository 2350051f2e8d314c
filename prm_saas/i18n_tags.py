"""Messages of patient tags (标签), tag rules and their conditions.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

TAGS: dict[str, tuple[str, str]] = {
    # --- the tag form -------------------------------------------------------------
    "tags.field.name_taken": ("已有同名标签。", "A tag with this name already exists."),
    "tags.field.kind_invalid": ("请选择手动或自动标签。", "Choose manual or automatic."),
    "tags.field.kind_locked": (
        "标签已在使用中，不能更改其类型。",
        "This tag is in use; its kind cannot be changed.",
    ),
    "tags.in_use": (
        "该标签仍有客户或规则在使用，不能删除。",
        "Patients or a rule still use this tag; it cannot be deleted.",
    ),
    # --- tagging patients ---------------------------------------------------------
    "tags.auto_by_hand": (
        "自动标签由规则维护，不能手动添加或移除：{names}。",
        "Automatic tags are kept by their rule and cannot be added or removed by hand: {names}.",
    ),
    "tags.field.patients_required": ("请选择客户。", "Choose at least one patient."),
    "tags.field.tags_required": ("请选择标签。", "Choose at least one tag."),
    "tags.field.too_many": ("一次最多 {max} 项。", "At most {max} at a time."),
    # --- rules --------------------------------------------------------------------
    "tags.field.tag_not_auto": (
        "规则只能设置自动标签。",
        "A rule can only set an automatic tag.",
    ),
    "tags.field.rule_exists": (
        "该标签已有规则。",
        "This tag already has a rule.",
    ),
    "tags.rule.matches_nothing": (
        "按当前条件没有任何客户符合。确认无误后再次保存。",
        "No patient matches these conditions now. Confirm to save it anyway.",
    ),
    "tags.field.conditions_required": ("请至少添加一个条件。", "Add at least one condition."),
    "tags.field.conditions_too_many": (
        "最多 {max} 个条件。",
        "At most {max} conditions.",
    ),
    "tags.field.condition_unknown": ("未知的条件类型。", "Unknown kind of condition."),
    "tags.field.number_invalid": (
        "请输入 {min}–{max} 之间的整数。",
        "Enter a whole number from {min} to {max}.",
    ),
    "tags.field.range_invalid": (
        "上限不能小于下限。",
        "The upper bound cannot be below the lower bound.",
    ),
    "tags.field.band_empty": (
        "请至少填写下限或上限。",
        "Enter a lower or an upper bound.",
    ),
    "tags.field.ref_unknown": (
        "所选项目不存在。",
        "The chosen item does not exist.",
    ),
    # --- condition names ------------------------------------------------------------
    "tags.cond.age_band": ("年龄段", "Age band"),
    "tags.cond.sex": ("性别", "Sex"),
    "tags.cond.days_since_visit": ("距上次到检天数", "Days since last visit"),
    "tags.cond.package_bought": ("购买过套餐", "Package bought"),
    "tags.cond.booking_status": ("预约状态", "Booking status"),
    "tags.cond.no_show_count": ("爽约次数", "No-show count"),
    "tags.cond.member_level": ("会员等级", "Member level"),
    "tags.cond.points_balance": ("积分余额", "Points balance"),
    "tags.cond.challenge_joined": ("参加过挑战", "Joined a challenge"),
    "tags.cond.challenge_completed": ("完成过挑战", "Completed a challenge"),
}
