"""Templates the messaging engine itself provides. Capabilities (bookings,
points, challenges, campaigns) register theirs in their own packages."""

from __future__ import annotations

from prm_saas.messaging.models import Category, Channel
from prm_saas.messaging.templates import TemplateSpec, register

E, S, I = Channel.EMAIL, Channel.SMS, Channel.INAPP  # noqa: E741 - table below reads better

CARE_REMINDER = register(
    TemplateSpec(
        key="care.reminder",
        category=Category.TRANSACTIONAL,
        variables=frozenset({"title", "when", "note"}),
        sample={"title": "复诊", "when": "2026-12-01 09:30", "note": "请携带既往检查报告。"},
        defaults={
            (E, "zh-CN"): (
                "【{tenant_name}】提醒：{title}",
                "{patient_name}，您好：\n\n提醒您：{title}，时间 {when}。\n{note}\n\n{tenant_name}",
            ),
            (E, "en"): (
                "[{tenant_name}] Reminder: {title}",
                "Dear {patient_name},\n\nA reminder: {title} at {when}.\n{note}\n\n{tenant_name}",
            ),
            (S, "zh-CN"): (
                "",
                "【{tenant_name}】{patient_name}您好，提醒：{title}，时间 {when}。{note}",
            ),
            (S, "en"): ("", "[{tenant_name}] {patient_name}, reminder: {title} at {when}. {note}"),
            (I, "zh-CN"): ("提醒：{title}", "时间 {when}。{note}"),
            (I, "en"): ("Reminder: {title}", "At {when}. {note}"),
        },
    )
)

HEALTH_TIP = register(
    TemplateSpec(
        key="marketing.health_tip",
        category=Category.MARKETING,
        variables=frozenset({"tip"}),
        sample={"tip": "冬季注意保暖，每天适量运动 30 分钟。"},
        defaults={
            (E, "zh-CN"): (
                "【{tenant_name}】健康小贴士",
                "{patient_name}，您好：\n\n{tip}\n\n{tenant_name}",
            ),
            (E, "en"): (
                "[{tenant_name}] A health tip",
                "Dear {patient_name},\n\n{tip}\n\n{tenant_name}",
            ),
            (S, "zh-CN"): ("", "【{tenant_name}】{tip} 回T退订"),
            (S, "en"): ("", "[{tenant_name}] {tip} Reply STOP to opt out"),
            (I, "zh-CN"): ("健康小贴士", "{tip}"),
            (I, "en"): ("Health tip", "{tip}"),
        },
    )
)
