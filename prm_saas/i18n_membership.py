"""Messages of membership cards, levels and the points ledger.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

MEMBERSHIP: dict[str, tuple[str, str]] = {
    # --- errors ---------------------------------------------------------------------------
    "points.insufficient": (
        "积分不足：当前可用 {available} 分，需要 {requested} 分。",
        "Not enough points: {available} available, {requested} needed.",
    ),
    "points.amount_invalid": (
        "请输入有效的积分数（非零整数，绝对值不超过 {max}）。",
        "Enter a valid number of points (a whole number other than 0, at most {max}).",
    ),
    "points.reason_required": ("请填写调整原因。", "Enter a reason for the adjustment."),
    "points.reason_too_long": (
        "原因不能超过 {max} 个字。",
        "The reason can be at most {max} characters.",
    ),
    "points.key_invalid": (
        "请求无效，请刷新页面后重试。",
        "Invalid request. Please reload the page and try again.",
    ),
    "points.key_reused": (
        "该请求编号已用于另一项操作，请刷新页面后重试。",
        "This request id was already used for something else. Please reload and try again.",
    ),
    "membership.card_format_invalid": (
        "卡号前缀只能包含字母和数字（最多 10 位），位数为 4 到 12。",
        "The card prefix may hold letters and digits only (at most 10), with 4 to 12 digits.",
    ),
}
