"""Labels of the patient's membership pages: card, wallet, rewards, challenges, and
the coupon field at checkout (pages/patient/{card,wallet,rewards,challenges}.py).

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

MEMBER_PAGES: dict[str, tuple[str, str]] = {
    "nav.member": ("会员", "Member"),
    # --- card (pages/patient/card.py) ------------------------------------------------------
    "mycard.title": ("会员卡", "Member card"),
    "mycard.home_hint": (
        "出示会员卡、查看等级与权益",
        "Show your card, see your level and benefits",
    ),
    "mycard.none": (
        "您还没有会员卡。开通后即可积分、兑换礼遇并享受会员等级权益。",
        "You have no member card yet. Open one to earn points, redeem rewards and enjoy "
        "member benefits.",
    ),
    "mycard.open": ("开通会员卡", "Open my card"),
    "mycard.opened": ("会员卡已开通。", "Your member card is ready."),
    "mycard.points": ("积分", "Points"),
    "mycard.show_at_desk": (
        "到院时向前台出示此码，即可识别会员身份",
        "Show this code at the front desk",
    ),
    "mycard.benefits": ("等级权益", "Level benefits"),
    "mycard.invite": ("邀请好友", "Invite friends"),
    "mycard.invite_hint": (
        "好友用此链接注册（或填写您的会员卡号），首次付款后您将获得推荐积分。",
        "Friends who register with this link (or your card number) earn you referral "
        "points when they first pay.",
    ),
    "mycard.invite_copy": ("复制链接", "Copy link"),
    "mycard.copied": ("已复制", "Copied"),
    "mycard.invite_counts": (
        "已有 {joined} 位好友注册，{rewarded} 位已为您赢得积分。",
        "{joined} friend(s) joined, {rewarded} earned you points.",
    ),
    "mycard.no_benefits": ("当前等级暂无额外权益。", "This level has no extra benefits."),
    "mycard.benefit_discount": ("商城购物优惠 {percent}%", "{percent}% off in the mall"),
    "mycard.benefit_multiplier": ("积分 {times} 倍", "Points x{times}"),
    "mycard.to_next_level": (
        "近 12 个月再获得 {points} 积分即可升级为「{level}」",
        "Earn {points} more points within 12 months to reach “{level}”",
    ),
    # --- wallet (pages/patient/wallet.py) ---------------------------------------------------
    "mywallet.title": ("我的积分", "My points"),
    "mywallet.balance": ("积分余额", "Balance"),
    "mywallet.spendable": ("当前可用", "Spendable now"),
    "mywallet.points_12m": ("近 12 个月获得", "Earned in 12 months"),
    "mywallet.locked": ("退货期内锁定", "Locked in the return window:"),
    "mywallet.unlocks_on": ("可用日期", "spendable from"),
    "mywallet.expiring": ("即将过期", "Expiring soon:"),
    "mywallet.expires_by": ("最后使用日", "use by"),
    "mywallet.history": ("积分明细", "History"),
    "mywallet.no_history": ("还没有积分记录。", "No points yet."),
    # --- rewards (pages/patient/rewards.py) -------------------------------------------------
    "myrewards.title": ("积分兑换", "Rewards"),
    "myrewards.catalog": ("可兑换", "Rewards"),
    "myrewards.my_coupons": ("我的券", "My coupons"),
    "myrewards.none": ("暂时没有可兑换的奖励。", "No rewards to redeem right now."),
    "myrewards.no_coupons": ("您还没有优惠券。", "You have no coupons yet."),
    "myrewards.terms_package_free": ("免费体检：{package}", "Free checkup: {package}"),
    "myrewards.terms_package_cash": (
        "{package}：积分 + {cash}",
        "{package} for points + {cash}",
    ),
    "myrewards.terms_off_fen": ("立减 {amount}", "{amount} off"),
    "myrewards.terms_off_percent": ("优惠 {percent}%", "{percent}% off"),
    "myrewards.terms_min_spend": ("，满 {amount} 可用", ", on orders of {amount} or more"),
    "myrewards.terms_gift": ("礼品，到院前台领取", "A gift to collect at the front desk"),
    "myrewards.terms_gift_cash": (
        "礼品，到院前台领取，另付 {cash}",
        "A gift to collect at the front desk, paying {cash} there",
    ),
    "myrewards.stock_left": ("剩余", "Left:"),
    "myrewards.valid_days": ("有效期", "Valid for"),
    "myrewards.limit_reached": ("已达兑换上限", "Limit reached"),
    "myrewards.not_enough": ("积分不足", "Not enough points"),
    "myrewards.redeem": ("兑换", "Redeem"),
    "myrewards.confirm": ("确认兑换", "Confirm"),
    "myrewards.redeemed": (
        "兑换成功！券码 {code} 已放入「我的券」。",
        "Redeemed! Coupon {code} is in My coupons.",
    ),
    "myrewards.expires": ("有效期至", "Valid until"),
    "myrewards.used_at": ("使用时间", "Used"),
    "myrewards.gift_hint": (
        "到院时向前台出示券码即可领取。",
        "Show this code at the front desk to collect your gift.",
    ),
    "myrewards.use_now": ("去预约使用", "Book with it"),
    "myrewards.use_in_mall": ("去商城使用", "Use it in the mall"),
    "myrewards.coupon_status.issued": ("可使用", "Ready to use"),
    "myrewards.coupon_status.used": ("已使用", "Used"),
    "myrewards.coupon_status.void": ("已作废", "Cancelled"),
    "myrewards.coupon_status.expired": ("已过期", "Expired"),
    # --- the coupon at checkout (pages/patient/booking.py) ----------------------------------
    "mycheckout.coupon": ("优惠券", "Coupon"),
    "mycheckout.coupon_placeholder": ("输入券码", "Coupon code"),
    "mycheckout.apply": ("使用", "Apply"),
    "mycheckout.remove": ("不使用", "Remove"),
    "mycheckout.member_discount": ("会员折扣", "Member discount"),
    "mycheckout.my_coupons": ("查看我的券", "See my coupons"),
    # --- challenges (pages/patient/challenges.py) -----------------------------------------
    "mychallenge.title": ("健康挑战", "Health challenges"),
    "mychallenge.none": ("目前没有进行中的挑战。", "No challenges are open right now."),
    "mychallenge.joined": ("已参加", "Joined"),
    "mychallenge.points": ("积分", "points"),
    "mychallenge.days": ("天", "days"),
    "mychallenge.closed": ("已结束", "Closed"),
    "mychallenge.rule_checkin": ("每天打卡即计入", "A check-in makes the day count"),
    "mychallenge.rule_any_value": ("记录数值即计入", "Recording a value makes the day count"),
    "mychallenge.rule_threshold": (
        "当天 {comparison} {limit} {unit} 计入",
        "A day counts at {comparison} {limit} {unit}",
    ),
    "mychallenge.target_consecutive": ("连续 {days} 天", "{days} days in a row"),
    "mychallenge.target_total": ("累计 {days} 天", "{days} days in total"),
    "mychallenge.nickname": ("排行榜昵称", "Leaderboard nickname"),
    "mychallenge.nickname_hint": (
        "排行榜上只显示昵称，不显示姓名或手机号。",
        "Only the nickname is shown on the leaderboard, never your name or phone.",
    ),
    "mychallenge.join": ("参加挑战", "Join the challenge"),
    "mychallenge.joined_notice": (
        "已参加！您在排行榜上的昵称是「{nickname}」。",
        "You joined! Your leaderboard nickname is “{nickname}”.",
    ),
    "mychallenge.check_in": ("今日打卡", "Check in today"),
    "mychallenge.checked_in_notice": (
        "打卡成功：已累计 {days} / {target} 天。",
        "Checked in: {days} of {target} days so far.",
    ),
    "mychallenge.completed_notice": (
        "恭喜完成挑战！奖励 {points} 积分已发放。",
        "Challenge complete! {points} reward points are yours.",
    ),
    "mychallenge.my_progress": ("我的进度", "My progress"),
    "mychallenge.done_today": ("今日已打卡", "Checked in today"),
    "mychallenge.days_counted": ("达标天数", "Days counted"),
    "mychallenge.streak": ("当前连续", "Current streak"),
    "mychallenge.best_streak": ("最长连续", "Best streak"),
    "mychallenge.completed": ("已完成挑战", "Challenge completed"),
    "mychallenge.leaderboard": ("排行榜", "Leaderboard"),
    "mychallenge.no_leaders": ("还没有人参加，快来第一个参加吧。", "Nobody has joined yet."),
}
