"""Membership messages through the messaging engine: the pre-expiry notice.

The daily job (prm_saas.membership.daily) tells a member that points expire
soon, once per patient per expiry day: the dedupe key is
``points:expiring:<patient>:<last day>``, so running the job again (or every
hour) records nothing new. Transactional: it is about the member's own account.
"""

from __future__ import annotations

from datetime import date

from prm_saas.accounts.models import Patient
from prm_saas.messaging.models import Category, Channel
from prm_saas.messaging.preferences import messaging_settings
from prm_saas.messaging.templates import TemplateSpec, register
from tenants.db import TenantSession

E, S, I = Channel.EMAIL, Channel.SMS, Channel.INAPP  # noqa: E741 - the tables read better

_SAMPLE = {"points": "300", "expires_on": "2026-12-31", "balance": "1200"}

EXPIRING = register(
    TemplateSpec(
        "points.expiring",
        category=Category.TRANSACTIONAL,
        variables=frozenset(_SAMPLE),
        sample=_SAMPLE,
        defaults={
            (E, "zh-CN"): (
                "【{tenant_name}】您有 {points} 积分将于 {expires_on} 后过期",
                "{patient_name}，您好：\n\n您有 {points} 积分可使用到 {expires_on}，"
                "之后将自动过期。当前积分余额 {balance}，欢迎在会员中心兑换礼品或优惠券。"
                "\n\n{tenant_name}",
            ),
            (E, "en"): (
                "[{tenant_name}] {points} of your points expire after {expires_on}",
                "Dear {patient_name},\n\n{points} of your points can be used until "
                "{expires_on}; after that they expire. Your balance is {balance} points: "
                "redeem them for a gift or a coupon in the member centre.\n\n{tenant_name}",
            ),
            (S, "zh-CN"): (
                "",
                "【{tenant_name}】{patient_name}您好，您有 {points} 积分将于 {expires_on} "
                "后过期，当前余额 {balance}，请及时兑换。",
            ),
            (S, "en"): (
                "",
                "[{tenant_name}] {patient_name}, {points} points expire after {expires_on} "
                "(balance {balance}). Redeem them in time.",
            ),
            (I, "zh-CN"): (
                "{points} 积分即将过期",
                "可使用到 {expires_on}，当前余额 {balance} 积分。",
            ),
            (I, "en"): (
                "{points} points expire soon",
                "Use them by {expires_on}. Your balance is {balance} points.",
            ),
        },
    )
)


_REFERRAL_SAMPLE = {"points": "300", "balance": "1500"}

REFERRAL_REWARDED = register(
    TemplateSpec(
        "referral.rewarded",
        category=Category.TRANSACTIONAL,
        variables=frozenset(_REFERRAL_SAMPLE),
        sample=_REFERRAL_SAMPLE,
        defaults={
            (E, "zh-CN"): (
                "【{tenant_name}】推荐好友奖励 {points} 积分已到账",
                "{patient_name}，您好：\n\n您推荐的好友已完成首次消费，{points} 推荐积分已存入"
                "您的账户，当前积分余额 {balance}。感谢您的推荐！\n\n{tenant_name}",
            ),
            (E, "en"): (
                "[{tenant_name}] {points} referral points are yours",
                "Dear {patient_name},\n\nA friend you referred has made their first purchase: "
                "{points} referral points are in your account (balance {balance}). "
                "Thank you!\n\n{tenant_name}",
            ),
            (S, "zh-CN"): (
                "",
                "【{tenant_name}】{patient_name}您好，您推荐的好友已首次消费，"
                "{points} 推荐积分已到账，当前余额 {balance}。",
            ),
            (S, "en"): (
                "",
                "[{tenant_name}] {patient_name}, a friend you referred made their first "
                "purchase: {points} points added (balance {balance}).",
            ),
            (I, "zh-CN"): (
                "推荐奖励 {points} 积分已到账",
                "您推荐的好友已完成首次消费，当前余额 {balance} 积分。",
            ),
            (I, "en"): (
                "{points} referral points added",
                "A friend you referred made their first purchase. "
                "Your balance is {balance} points.",
            ),
        },
    )
)


def referral_key(referred_id: int) -> str:
    """One thank-you per referred patient (the reward is once ever)."""
    return f"referral:rewarded:{referred_id}"


def expiring_key(patient_id: int, last_day: date) -> str:
    """One notice per patient per expiry day."""
    return f"points:expiring:{patient_id}:{last_day.isoformat()}"


def channel_for(session: TenantSession, patient: Patient) -> Channel:
    """SMS when the tenant sends SMS and the patient has a phone, else email, else the inbox."""
    settings = messaging_settings(session)
    if settings.sms_enabled and patient.phone:
        return Channel.SMS
    if settings.email_enabled and patient.email:
        return Channel.EMAIL
    return Channel.INAPP
