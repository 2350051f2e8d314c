"""The demo data the README's run command loads: both tenants can be booked end to
end (locations open, published packages offered there), and loading twice adds
nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import func, select

from prm_saas.booking.calendar import bookable_days
from prm_saas.booking.models import Location
from prm_saas.booking.schedule import available_slots
from prm_saas.demo import load_demo
from prm_saas.mall.storefront import published_packages
from tenants.db import platform_session, tenant_session
from tenants.models import Tenant
from tenants.types import utcnow


def test_demo_tenants_can_be_booked_and_loading_twice_adds_nothing() -> None:
    created = load_demo()
    assert len([c for c in created if c.startswith("tenant ")]) == 2
    with platform_session() as s:
        tenants = s.exec(select(Tenant)).all()
    assert len(tenants) == 2
    now = utcnow()
    for tenant in tenants:
        assert tenant.id is not None
        with tenant_session(tenant.id) as s:
            locations = s.exec(select(Location)).all()
            assert locations
            packages = published_packages(session=s, location_id=locations[0].id)
            assert len(packages) >= 4
            days = [
                d for d in bookable_days(session=s, location_id=locations[0].id, now=now) if d.open
            ]
            assert days
            assert days[0].day - now.date() <= timedelta(days=3)
            slots = available_slots(
                session=s,
                location_id=int(locations[0].id or 0),
                day=days[0].day,
                package_id=packages[0].id,
                now=now,
            )
            assert any(v.bookable for v in slots)
    assert load_demo() == []
    with platform_session() as s:
        assert s.exec(select(func.count()).select_from(Tenant)).one() == 2
