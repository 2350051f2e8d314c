"""Messages of the health-check mall: catalog admin and the patient mall.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).

The ``booking.not_offered`` / eligibility keys live here because the mall
decides them (``prm_saas.mall.pricing``); booking only shows them.
"""

from __future__ import annotations

MALL: dict[str, tuple[str, str]] = {
    # --- eligibility and pricing (returned to booking and orders) ---
    "booking.not_offered": (
        "该套餐在所选门店不可预约，请选择其他门店。",
        "This package cannot be booked at the chosen location. Choose another location.",
    ),
    "booking.wrong_sex": (
        "该套餐不适用于您的性别。",
        "This package is not meant for your sex.",
    ),
    "booking.sex_required": (
        "该套餐区分性别，请先在个人资料中填写性别。",
        "This package is for one sex only: add your sex to your profile first.",
    ),
    "booking.too_young": (
        "按体检当日的年龄，您未达到该套餐的最低年龄。",
        "On the day of the exam you are below this package's minimum age.",
    ),
    "booking.too_old": (
        "按体检当日的年龄，您超过了该套餐的最高年龄。",
        "On the day of the exam you are above this package's maximum age.",
    ),
    "booking.birth_date_required": (
        "该套餐有年龄要求，请先在个人资料中填写出生日期。",
        "This package has an age range: add your date of birth to your profile first.",
    ),
    "mall.package_unavailable": (
        "该套餐已下架，暂不可预约。",
        "This package is no longer available.",
    ),
    "mall.addon_unavailable": (
        "所选加项不属于该套餐或已停用，请重新选择。",
        "A chosen add-on is not offered with this package any more. Choose again.",
    ),
    # --- catalog admin ---
    "mall.price_invalid": (
        "请输入以元为单位的金额，最多两位小数，例如 1299.00。",
        "Enter an amount in yuan with at most two decimals, e.g. 1299.00.",
    ),
    "mall.sale_above_list": (
        "售价不能高于原价。",
        "The sale price cannot be above the list price.",
    ),
    "mall.age_invalid": (
        "年龄应为 {min} 到 {max} 之间的整数。",
        "Ages are whole numbers from {min} to {max}.",
    ),
    "mall.age_range": (
        "最大年龄不能小于最小年龄。",
        "The maximum age cannot be below the minimum age.",
    ),
    "mall.number_invalid": (
        "请输入 {min} 到 {max} 之间的整数。",
        "Enter a whole number from {min} to {max}.",
    ),
    "mall.code_invalid": (
        "编码只能包含字母、数字、点、下划线和连字符，最多 30 位。",
        "Codes use letters, digits, dots, underscores and hyphens, at most 30.",
    ),
    "mall.code_taken": ("该编码已被使用。", "This code is already in use."),
    "mall.resource_key_invalid": (
        "资源标识应为小写字母开头的短标识（字母、数字、_、-），例如 ct、gastroscopy。",
        "Resource keys are short lower-case names (letters, digits, _ and -), e.g. ct, gastroscopy.",
    ),
    "mall.choice_unknown": (
        "所选内容不存在，请刷新后重试。",
        "Something chosen does not exist. Reload the page and try again.",
    ),
    "mall.too_many": ("最多选择 {max} 项。", "Choose at most {max}."),
    "mall.addon_in_package": (
        "「{name}」已包含在套餐中，不能再作为加项。",
        "“{name}” is already included in the package, so it cannot be an add-on too.",
    ),
    "mall.publish_needs_items": (
        "上架的套餐至少需要包含一个启用的检查项目。",
        "A published package needs at least one active exam item.",
    ),
    "mall.publish_needs_locations": (
        "上架的套餐至少需要在一个启用的门店提供。",
        "A published package must be offered at one active location at least.",
    ),
}
