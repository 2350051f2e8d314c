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

# --- account messages (password reset codes, staff invitations) -----------------------

PASSWORD_RESET = register(
    TemplateSpec(
        key="account.password_reset",
        category=Category.TRANSACTIONAL,
        redact=True,
        variables=frozenset({"code"}),
        sample={"code": "246810"},
        defaults={
            (E, "zh-CN"): (
                "【{tenant_name}】密码重置验证码",
                "您的验证码是 {code}，15 分钟内有效。如非本人操作，请忽略。",
            ),
            (E, "en"): (
                "[{tenant_name}] Your password reset code",
                "Your code is {code}. It is valid for 15 minutes. If you did not ask for it, "
                "ignore this message.",
            ),
            (S, "zh-CN"): (
                "",
                "【{tenant_name}】您的验证码是 {code}，15 分钟内有效。如非本人操作，请忽略。",
            ),
            (S, "en"): ("", "[{tenant_name}] Your code is {code}, valid for 15 minutes."),
        },
    )
)

STAFF_INVITE = register(
    TemplateSpec(
        key="account.staff_invite",
        category=Category.TRANSACTIONAL,
        redact=True,
        variables=frozenset({"inviter", "url"}),
        sample={
            "inviter": "周晓梅",
            "url": "https://prm.example.com/t/sunshine/admin/accept?token=…",
        },
        defaults={
            (E, "zh-CN"): (
                "【{tenant_name}】员工账号邀请",
                "{inviter} 邀请您加入 {tenant_name}。请在 7 天内打开以下链接设置密码：\n{url}",
            ),
            (E, "en"): (
                "[{tenant_name}] You are invited to join the staff",
                "{inviter} invited you to join {tenant_name}. Open this link within 7 days to "
                "set your password:\n{url}",
            ),
        },
    )
)
