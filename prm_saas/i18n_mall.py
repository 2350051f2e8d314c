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
}
