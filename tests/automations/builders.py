"""Builders of the automation tests: automations saved through the services,
enrollments and messages read back directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from prm_saas.accounts.authz import Principal
from prm_saas.automations import services
from prm_saas.automations.engine import AdvanceResult, advance_due, scan_daily
from prm_saas.automations.models import AutomationEnrollment
from prm_saas.automations.services import AutomationInput
from prm_saas.messaging.models import Message, MessagingSettings
from tenants.db import tenant_session
from tenants.resolution import TenantInfo

# Tuesday 1 December 2026, 10:00 in Shanghai (the tenants' zone).
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def msg(
    body: str = "{patient_name}您好", channel: str = "inapp", subject: str = ""
) -> dict[str, Any]:
    return {"type": "message", "channel": channel, "subject": subject, "body": body}


def wait(days: int = 0, hours: int = 0) -> dict[str, Any]:
    return {"type": "wait", "days": days, "hours": hours}


def branch(expr: str = "", conditions: Any = None, when_match: str = "continue") -> dict[str, Any]:
    return {
        "type": "branch",
        "expr": expr,
        "conditions": conditions or [],
        "when_match": when_match,
    }


def automation(
    tenant: TenantInfo,
    admin: Principal,
    trigger: str,
    steps: list[dict[str, Any]],
    params: dict[str, Any] | None = None,
    *,
    active: bool = True,
    name: str = "旅程",
) -> int:
    with tenant_session(tenant.id) as s:
        a = services.create_automation(
            session=s,
            actor=admin,
            data=AutomationInput(
                name=name, trigger=trigger, trigger_params=params or {}, steps=steps
            ),
            active=active,
            now=NOW,
        )
        return int(a.id or 0)


def enrollments(tenant: TenantInfo, automation_id: int | None = None) -> list[AutomationEnrollment]:
    with tenant_session(tenant.id) as s:
        stmt = select(AutomationEnrollment).order_by(col(AutomationEnrollment.id))
        if automation_id is not None:
            stmt = stmt.where(col(AutomationEnrollment.automation_id) == automation_id)
        rows = list(s.exec(stmt).all())
        for r in rows:
            s.expunge(r)
        return rows


def messages(tenant: TenantInfo) -> list[Message]:
    with tenant_session(tenant.id) as s:
        rows = list(s.exec(select(Message).order_by(col(Message.id))).all())
        for r in rows:
            s.expunge(r)
        return rows


def tick(tenant: TenantInfo, now: datetime) -> AdvanceResult:
    with tenant_session(tenant.id) as s:
        return advance_due(s, now=now)


def scan(tenant: TenantInfo, now: datetime) -> dict[str, int]:
    with tenant_session(tenant.id) as s:
        return scan_daily(s, now=now).as_dict()


def enable_sms(tenant: TenantInfo) -> None:
    with tenant_session(tenant.id) as s:
        row = s.exec(select(MessagingSettings)).first() or MessagingSettings()
        row.sms_enabled = True
        s.add(row)


def later(**kw: float) -> datetime:
    return NOW + timedelta(**kw)
