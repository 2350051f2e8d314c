"""Messages of membership cards, levels and the points ledger.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

MEMBERSHIP: dict[str, tuple[str, str]] = {
    # --- rewards catalog and coupons (membership/rewards.py, orders checkout) -------------
    "rewards.number_invalid": (
        "请输入 {min} 到 {max} 之间的整数。",
        "Enter a whole number from {min} to {max}.",
    ),
    "rewards.kind_invalid": ("请选择奖励类型。", "Choose the kind of reward."),
    "rewards.package_required": (
        "请选择本店的一个体检套餐。",
        "Choose one of this clinic's packages.",
    ),
    "rewards.discount_one": (
        "请填写减免金额或折扣百分比（二选一）。",
        "Enter either an amount off or a percentage off (one of the two).",
    ),
    "rewards.stock_below_redeemed": (
        "库存不能少于已兑换的 {redeemed} 份。",
        "The stock cannot be less than the {redeemed} already redeemed.",
    ),
    "rewards.unavailable": (
        "该奖励暂不可兑换。",
        "This reward cannot be redeemed at the moment.",
    ),
    "rewards.limit_reached": (
        "该奖励每人最多兑换 {limit} 次，您已达到上限。",
        "This reward can be redeemed {limit} time(s) per person; you have reached the limit.",
    ),
    "rewards.out_of_stock": ("该奖励已兑完。", "This reward is out of stock."),
    "coupon.unknown": (
        "优惠券码无效，请核对后重试。",
        "This coupon code is not valid. Check it and try again.",
    ),
    "coupon.used": ("该优惠券已使用。", "This coupon has already been used."),
    "coupon.void": ("该优惠券已作废。", "This coupon has been cancelled."),
    "coupon.expired": ("该优惠券已过期。", "This coupon has expired."),
    "coupon.not_applicable": (
        "该优惠券不适用于此订单。",
        "This coupon cannot be used for this order.",
    ),
    "coupon.min_spend": (
        "订单满 ¥{min} 才能使用该优惠券。",
        "This coupon needs an order of at least ¥{min}.",
    ),
    "coupon.not_gift": (
        "这张券不是礼品券，请在商城下单时使用。",
        "This is not a gift coupon; it is used at checkout in the mall.",
    ),
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
    # --- membership admin, wallet, daily job (membership/admin.py, wallet.py, tasks.py) ---
    "membership.card_not_found": (
        "没有找到这个会员卡号，请核对后重试。",
        "No member card with this number. Check it and try again.",
    ),
    "membership.field.number_invalid": (
        "请输入 {min} 到 {max} 之间的整数。",
        "Enter a whole number from {min} to {max}.",
    ),
    "membership.field.card_prefix_invalid": (
        "卡号前缀只能包含字母和数字，最多 {max} 位。",
        "The card prefix may hold letters and digits only, at most {max}.",
    ),
    "membership.field.card_format_clash": (
        "新的卡号格式会与已发放的卡号重复，请换一个前缀或位数。",
        "This card format could repeat a number already issued. Choose another prefix or length.",
    ),
    "membership.field.level_name_taken": (
        "已有同名的会员等级。",
        "A level with this name already exists.",
    ),
    "membership.field.level_rank_taken": (
        "已有等级使用这个排序，请换一个数字。",
        "Another level has this rank. Choose another number.",
    ),
    "points.expiring": ("积分到期提醒", "Points expiring notice"),  # the template's name
    "referral.rewarded": ("推荐奖励通知", "Referral reward notice"),  # the template's name
    "points.kind.earn": ("获得", "Earned"),
    "points.kind.redeem": ("兑换", "Redeemed"),
    "points.kind.expire": ("过期", "Expired"),
    "points.kind.adjust": ("调整", "Adjusted"),
    "points.kind.reverse": ("退回", "Reversed"),
    "points.reason.per_yuan_paid": ("消费得积分", "Points for payment"),
    "points.reason.checkup_completed": ("完成体检", "Checkup completed"),
    "points.reason.questionnaire_completed": ("完成问卷", "Questionnaire completed"),
    "points.reason.challenge_completed": ("完成健康挑战", "Health challenge completed"),
    "points.reason.referral": ("推荐好友", "Referral"),
    "points.reason.birthday": ("生日礼遇", "Birthday bonus"),
    # --- referrals (membership/referrals.py, registration) ----------------------------------
    "membership.field.referral_unknown": (
        "没有这个会员卡号，请核对推荐人的会员卡号，或留空。",
        "No member card with this number. Check your referrer's card number, or leave it blank.",
    ),
    "membership.field.referral_own": (
        "不能填写自己的会员卡号。",
        "You cannot enter your own card number.",
    ),
    "points.reason.earned": ("获得积分", "Points earned"),
    "points.reason.redeemed": ("积分兑换", "Redeemed for a reward"),
    "points.reason.expired": ("积分到期", "Points expired"),
    "points.reason.adjusted": ("人工调整", "Adjusted by staff"),
    "points.reason.reversed": ("退款扣回", "Taken back after a refund"),
}
