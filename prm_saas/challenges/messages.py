"""Challenge messages through the messaging engine: the nudge after a missed day.

A nudge's dedupe key is ``challenge:<id>:nudge:<participant>:<missed day>``, so
the daily job running twice (or retried) records one nudge per participant per day.
It is transactional: the patient asked for it by joining the challenge.
"""

from __future__ import annotations

from prm_saas.messaging.models import Category, Channel
from prm_saas.messaging.templates import TemplateSpec, register

E, S, I = Channel.EMAIL, Channel.SMS, Channel.INAPP  # noqa: E741 - the tables read better

_SAMPLE = {
    "challenge": "21 天血压打卡",
    "nickname": "晨跑小王",
    "days_counted": "5",
    "target_days": "21",
    "ends_on": "2026-12-21",
}

NUDGE = register(
    TemplateSpec(
        "challenge.nudge",
        category=Category.TRANSACTIONAL,
        variables=frozenset(_SAMPLE),
        sample=_SAMPLE,
        defaults={
            (E, "zh-CN"): (
                "【{tenant_name}】昨天的「{challenge}」忘记打卡了",
                "{patient_name}，您好：\n\n您昨天没有在「{challenge}」打卡。目前已完成 "
                "{days_counted}/{target_days} 天，挑战持续到 {ends_on}，今天继续加油！"
                "\n\n{tenant_name}",
            ),
            (E, "en"): (
                "[{tenant_name}] You missed yesterday's “{challenge}” check-in",
                "Dear {patient_name},\n\nYou did not check in to “{challenge}” yesterday. "
                "You have {days_counted} of {target_days} days; the challenge runs until "
                "{ends_on}. Keep going today!\n\n{tenant_name}",
            ),
            (S, "zh-CN"): (
                "",
                "【{tenant_name}】{patient_name}您好，昨天「{challenge}」未打卡，"
                "已完成 {days_counted}/{target_days} 天，今天继续加油！",
            ),
            (S, "en"): (
                "",
                "[{tenant_name}] {patient_name}, you missed yesterday's “{challenge}”. "
                "{days_counted}/{target_days} days so far. Keep going today!",
            ),
            (I, "zh-CN"): (
                "昨天忘记打卡了：{challenge}",
                "已完成 {days_counted}/{target_days} 天，挑战持续到 {ends_on}。",
            ),
            (I, "en"): (
                "Missed yesterday: {challenge}",
                "{days_counted} of {target_days} days so far; the challenge runs until {ends_on}.",
            ),
        },
    )
)
