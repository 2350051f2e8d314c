"""The built-in journeys a tenant switches on from the automations page.

- ``welcome``: on joining, a welcome message (in-app: every patient has an inbox).
- ``survey``: three days after a completed checkup, a satisfaction survey (SMS).
- ``winback``: twelve months without a visit, a "we miss you" message; thirty days
  later, if there is still no visit (a tag-rule condition on the last visit), a
  second one.

The wording is the tenant's default language (zh-CN or en); once switched on it
is an ordinary automation the manager edits like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prm_saas.automations.models import Trigger


@dataclass(frozen=True)
class Builtin:
    """One built-in journey: its name, trigger and steps per language."""

    key: str
    name: dict[str, str]
    trigger: Trigger
    trigger_params: dict[str, int]
    steps: dict[str, list[dict[str, Any]]]


def _msg(channel: str, body: str, subject: str = "") -> dict[str, Any]:
    return {"type": "message", "channel": channel, "subject": subject, "body": body}


WELCOME = Builtin(
    key="welcome",
    name={"zh-CN": "新会员欢迎", "en": "Welcome new members"},
    trigger=Trigger.PATIENT_JOINED,
    trigger_params={},
    steps={
        "zh-CN": [
            _msg(
                "inapp",
                "{patient_name}，您好！欢迎加入{tenant_name}。预约体检、查看报告、积分兑换都可以在这里完成。",
                "欢迎加入{tenant_name}",
            )
        ],
        "en": [
            _msg(
                "inapp",
                "Hello {patient_name}, welcome to {tenant_name}! Book checkups, read your "
                "reports and redeem points here.",
                "Welcome to {tenant_name}",
            )
        ],
    },
)

SURVEY = Builtin(
    key="survey",
    name={"zh-CN": "体检满意度回访", "en": "Checkup satisfaction survey"},
    trigger=Trigger.DAYS_AFTER_CHECKUP,
    trigger_params={"days": 3},
    steps={
        "zh-CN": [
            _msg(
                "sms",
                "{patient_name}您好，感谢您在{tenant_name}完成体检。请回复1-5分评价本次服务，"
                "5分为非常满意。",
            )
        ],
        "en": [
            _msg(
                "sms",
                "Hello {patient_name}, thank you for your checkup at {tenant_name}. How did we "
                "do? Reply 1-5 (5 = very satisfied).",
            )
        ],
    },
)

_STILL_AWAY = [{"key": "days_since_visit", "params": {"min_days": 395}}]

WINBACK = Builtin(
    key="winback",
    name={"zh-CN": "流失客户召回", "en": "Win back lapsed patients"},
    trigger=Trigger.NO_VISIT,
    trigger_params={"days": 365},
    steps={
        "zh-CN": [
            _msg(
                "sms", "{patient_name}您好，{tenant_name}好久没见到您了。年度体检别忘了，欢迎预约。"
            ),
            {"type": "wait", "days": 30, "hours": 0},
            {"type": "branch", "expr": "", "conditions": _STILL_AWAY, "when_match": "continue"},
            _msg("sms", "{patient_name}您好，{tenant_name}为您预留了体检名额，期待您的到来。"),
        ],
        "en": [
            _msg(
                "sms",
                "Hello {patient_name}, we have not seen you at {tenant_name} for a year. "
                "Time for your annual checkup?",
            ),
            {"type": "wait", "days": 30, "hours": 0},
            {"type": "branch", "expr": "", "conditions": _STILL_AWAY, "when_match": "continue"},
            _msg(
                "sms",
                "Hello {patient_name}, {tenant_name} has a checkup slot waiting for you. "
                "We hope to see you soon.",
            ),
        ],
    },
)

BUILTINS: dict[str, Builtin] = {b.key: b for b in (WELCOME, SURVEY, WINBACK)}


def language(locale: str) -> str:
    """The built-in wording's language for a tenant locale."""
    return "en" if str(locale).lower().startswith("en") else "zh-CN"
