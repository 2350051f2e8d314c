"""Labels of the patient's membership pages: card, wallet, rewards, challenges, and
the coupon field at checkout (pages/patient/{card,wallet,rewards,challenges}.py).

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

MEMBER_PAGES: dict[str, tuple[str, str]] = {
    "nav.member": ("会员", "Member"),
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
