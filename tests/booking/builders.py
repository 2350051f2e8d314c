"""Builders for booking tests: a location with weekly hours (through the schedule
services, as an admin would), a published package offered there (mall rows)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import func, select

from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import Patient, Sex
from prm_saas.booking import schedule
from prm_saas.booking.models import Booking, ResourceDay, Slot
from prm_saas.mall.models import ExamItem, HealthPackage, PackageItem, PackageLocation, TargetSex
from tenants.db import tenant_session
from tenants.resolution import TenantInfo

# Tuesday 1 December 2026, 10:00 in Shanghai.
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)
DAY = date(2026, 12, 3)  # Thursday, two days ahead


def make_location(
    tenant: TenantInfo,
    admin: Principal,
    *,
    capacity: int = 2,
    start: str = "08:00",
    end: str = "10:00",
    slot_minutes: int = 30,
    weekdays: range | list[int] = range(7),
    **loc: Any,
) -> int:
    """A location open on ``weekdays`` from ``start`` to ``end``."""
    with tenant_session(tenant.id) as s:
        location = schedule.create_location(
            session=s, actor=admin, name_zh=loc.pop("name_zh", "总院"), name_en="Main", **loc
        )
        for wd in weekdays:
            schedule.add_hours(
                session=s,
                actor=admin,
                location_id=location.id or 0,
                weekday=wd,
                start=start,
                end=end,
                slot_minutes=slot_minutes,
                capacity=capacity,
            )
        return int(location.id or 0)


def make_package(
    tenant: TenantInfo,
    location_ids: list[int],
    *,
    code: str = "P1",
    target_sex: TargetSex = TargetSex.ANY,
    min_age: int = 0,
    max_age: int = 120,
    resource_key: str = "",
    instructions_zh: str = "前一晚 22:00 后禁食。",
) -> int:
    """A published package offered at these locations (one item, maybe needing a resource)."""
    with tenant_session(tenant.id) as s:
        item = ExamItem(code=f"{code}-I", name_zh="血常规", resource_key=resource_key)
        pkg = HealthPackage(
            code=code,
            name_zh=f"套餐{code}",
            name_en=f"Package {code}",
            instructions_zh=instructions_zh,
            instructions_en="Fast from 22:00 the night before.",
            target_sex=target_sex,
            min_age=min_age,
            max_age=max_age,
            sale_price_fen=50000,
            list_price_fen=60000,
            published=True,
        )
        s.add(item)
        s.add(pkg)
        s.flush()
        s.add(PackageItem(package_id=pkg.id or 0, item_id=item.id or 0))
        for lid in location_ids:
            s.add(PackageLocation(package_id=pkg.id or 0, location_id=lid))
        s.flush()
        return int(pkg.id or 0)


def set_patient(tenant: TenantInfo, patient_id: int, **fields: Any) -> None:
    """Change a patient's sex / birth date / locale."""
    with tenant_session(tenant.id) as s:
        p = s.exec(select(Patient).where(Patient.id == patient_id)).one()
        for k, v in fields.items():
            setattr(p, k, v)
        s.add(p)


def slots_of(tenant: TenantInfo, location_id: int, day: date, now: datetime = NOW) -> list[Any]:
    """The day's SlotViews (made on first look)."""
    with tenant_session(tenant.id) as s:
        return schedule.available_slots(session=s, location_id=location_id, day=day, now=now)


def first_slot(tenant: TenantInfo, location_id: int, day: date = DAY) -> int:
    """The id of the day's first slot."""
    return int(slots_of(tenant, location_id, day)[0].id)


def booked(tenant: TenantInfo, slot_id: int) -> int:
    """The slot's seat counter."""
    with tenant_session(tenant.id) as s:
        return int(s.exec(select(Slot.booked).where(Slot.id == slot_id)).one())


def count_bookings(tenant: TenantInfo, **where: Any) -> int:
    """Bookings of the tenant (optionally with these column values)."""
    with tenant_session(tenant.id) as s:
        stmt = select(func.count()).select_from(Booking)
        for k, v in where.items():
            stmt = stmt.where(getattr(Booking, k) == v)
        return int(s.exec(stmt).one())


def units_used(tenant: TenantInfo) -> int:
    """Resource units in use, summed over all resource days of the tenant."""
    with tenant_session(tenant.id) as s:
        return int(sum(s.exec(select(ResourceDay.used)).all()))


SEX = Sex
