"""Builders for the platform KPI tests: plans and subscriptions through the
operator services, tenant rows (patients, messages, bookings) written directly
with the times a test needs."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import func, select

from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import Patient, Sex
from prm_saas.booking.models import Booking, BookingStatus, Location, Slot
from prm_saas.mall.models import HealthPackage
from prm_saas.messaging.models import Channel, Message, MessageStatus
from prm_saas.platform.billing import PlanRow, save_plan, set_tenant_plan
from prm_saas.platform.models import Plan, TenantSubscription, TenantUsageDay
from tenants.db import platform_session, tenant_session
from tenants.models import Tenant
from tenants.resolution import TenantInfo

_seq = itertools.count(1)


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    """An instant in UTC."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=UTC)


def plan(operator: Principal, code: str, yuan: str, **kw: Any) -> PlanRow:
    """A plan saved by the operator."""
    with platform_session() as s:
        return save_plan(
            session=s,
            actor=operator,
            code=code,
            name_zh=kw.pop("name_zh", f"{code}版"),
            name_en=kw.pop("name_en", code.title()),
            monthly_yuan=yuan,
            **kw,
        )


def subscribe(
    operator: Principal, tenant_id: int, plan_id: int, when: datetime, reason: str = "签约"
) -> None:
    """Put the tenant on the plan at ``when``."""
    with platform_session() as s:
        set_tenant_plan(
            session=s,
            actor=operator,
            tenant_id=tenant_id,
            plan_id=plan_id,
            reason=reason,
            now=when,
        )


def set_created(tenant_id: int, when: datetime) -> None:
    """Backdate a tenant's creation (its sign-up)."""
    with platform_session() as s:
        t = s.get(Tenant, tenant_id)
        assert t is not None
        t.created_at = when
        s.add(t)


def counts() -> tuple[int, int, int]:
    """Plans, subscriptions and usage rows on the platform."""
    with platform_session() as s:
        return (
            int(s.exec(select(func.count()).select_from(Plan)).one()),
            int(s.exec(select(func.count()).select_from(TenantSubscription)).one()),
            int(s.exec(select(func.count()).select_from(TenantUsageDay)).one()),
        )


# --- tenant rows ---------------------------------------------------------------------------


def add_patient(tenant: TenantInfo, created_at: datetime) -> int:
    """A patient registered at ``created_at``."""
    n = next(_seq)
    with tenant_session(tenant.id) as s:
        p = Patient(name=f"用量患者{n}", phone=f"+86137{n:08d}", sex=Sex.UNKNOWN)
        p.created_at = created_at
        s.add(p)
        s.flush()
        return int(p.id or 0)


def add_message(
    tenant: TenantInfo, sent_at: datetime | None, status: MessageStatus = MessageStatus.SENT
) -> None:
    """A message with this status, sent at ``sent_at``."""
    n = next(_seq)
    with tenant_session(tenant.id) as s:
        s.add(
            Message(
                to_address=f"u{n}@example.test",
                channel=Channel.EMAIL,
                template_key="test.usage",
                dedupe_key=f"usage-{n}",
                status=status,
                sent_at=sent_at,
            )
        )


def _booking_parts(tenant: TenantInfo, patient_id: int) -> tuple[int, int, int]:
    """A location, a package and a slot of the tenant (made once)."""
    with tenant_session(tenant.id) as s:
        loc = s.exec(select(Location)).first()
        if loc is None:
            loc = Location(name_zh="总院", name_en="Main")
            s.add(loc)
            s.flush()
            pkg = HealthPackage(code="U1", name_zh="套餐", name_en="Package", published=True)
            s.add(pkg)
            s.flush()
            start = at(2026, 1, 1, 1)
            slot = Slot(
                location_id=loc.id or 0,
                day=date(2026, 1, 1),
                starts_at=start,
                ends_at=start + timedelta(minutes=30),
                capacity=1000,
            )
            s.add(slot)
            s.flush()
        pkg_id = s.exec(select(HealthPackage.id)).first()
        slot_id = s.exec(select(Slot.id)).first()
        return int(loc.id or 0), int(pkg_id or 0), int(slot_id or 0)


def add_booking(
    tenant: TenantInfo,
    patient_id: int,
    confirmed_at: datetime | None,
    status: BookingStatus = BookingStatus.CONFIRMED,
) -> None:
    """A booking confirmed at ``confirmed_at`` (None: never confirmed)."""
    loc_id, pkg_id, slot_id = _booking_parts(tenant, patient_id)
    n = next(_seq)
    with tenant_session(tenant.id) as s:
        s.add(
            Booking(
                patient_id=patient_id,
                package_id=pkg_id,
                location_id=loc_id,
                slot_id=slot_id,
                status=status,
                idempotency_key=f"usage-{n}",
                checkin_code=f"code-{n}",
                ics_uid=f"uid-{n}@test",
                confirmed_at=confirmed_at,
            )
        )
