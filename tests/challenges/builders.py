"""Helpers of the challenge tests: a challenge made and published through the
services, check-ins at a given local time of the tenant (Asia/Shanghai, UTC+8)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import func, select

from prm_saas.accounts.authz import Principal
from prm_saas.challenges import services
from prm_saas.challenges.models import ChallengeCheckin, ChallengeParticipant
from prm_saas.challenges.services import ChallengeInput, Progress
from tenants.db import tenant_session
from tests.factories import TenantInfo

TZ = ZoneInfo("Asia/Shanghai")
START = date(2026, 12, 1)
END = date(2026, 12, 21)


def at(day: date, hh: int = 9, mm: int = 0) -> datetime:
    """The UTC instant of a local (Shanghai) wall-clock time."""
    return datetime.combine(day, time(hh, mm), tzinfo=TZ).astimezone(ZoneInfo("UTC"))


def make_challenge(tenant: TenantInfo, admin: Principal, *, publish: bool = True, **kw: Any) -> int:
    fields: dict[str, Any] = {
        "title_zh": "21 天打卡",
        "title_en": "21-day check-in",
        "starts_on": START,
        "ends_on": END,
        "target_days": 3,
    }
    fields.update(kw)
    with tenant_session(tenant.id) as s:
        c = services.create_challenge(session=s, actor=admin, data=ChallengeInput(**fields))
        cid = int(c.id or 0)
        if publish:
            services.publish_challenge(session=s, actor=admin, challenge_id=cid)
    return cid


def join(tenant: TenantInfo, patient: Principal, cid: int, nickname: str = "晨跑小王") -> None:
    with tenant_session(tenant.id) as s:
        services.join(session=s, actor=patient, challenge_id=cid, nickname=nickname, now=at(START))


def check_in(
    tenant: TenantInfo, patient: Principal, cid: int, now: datetime, values: Any = None
) -> Progress:
    with tenant_session(tenant.id) as s:
        return services.check_in(session=s, actor=patient, challenge_id=cid, values=values, now=now)


def counts(tenant: TenantInfo) -> tuple[int, int]:
    """(participants, check-ins) of the tenant."""
    with tenant_session(tenant.id) as s:
        p = s.exec(select(func.count()).select_from(ChallengeParticipant)).one()
        c = s.exec(select(func.count()).select_from(ChallengeCheckin)).one()
        return int(p), int(c)
