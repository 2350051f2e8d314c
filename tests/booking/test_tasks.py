"""The per-tenant minute sweep: lapsed holds expire, in their own tenant only."""

from __future__ import annotations

from datetime import timedelta

from prm_saas.booking import services
from prm_saas.booking.models import Booking, BookingStatus
from prm_saas.booking.tasks import expire_tenant
from prm_saas.celery_app import app
from tenants.db import tenant_session
from tenants.lookup import get_or_404
from tests.booking.builders import NOW, booked, first_slot, make_location, make_package
from tests.factories import World


def _held(world_tenant_id: int, patient_id: int, loc: int, pkg: int, sid: int) -> int:
    with tenant_session(world_tenant_id) as s:
        b = services.reserve(
            session=s, patient_id=patient_id, package_id=pkg, location_id=loc, slot_id=sid,
            addon_item_ids=[], idempotency_key="h", hold_until=NOW + timedelta(minutes=15),
            now=NOW,
        )  # fmt: skip
        return int(b.id or 0)


def test_the_sweep_expires_lapsed_holds_of_its_tenant_only(world: World) -> None:
    loc_a = make_location(world.a, world.admin_a)
    pkg_a = make_package(world.a, [loc_a])
    loc_b = make_location(world.b, world.admin_b)
    pkg_b = make_package(world.b, [loc_b])
    sid_a, sid_b = first_slot(world.a, loc_a), first_slot(world.b, loc_b)
    a = _held(world.a.id, world.patient_a.id, loc_a, pkg_a, sid_a)
    b = _held(world.b.id, world.patient_b.id, loc_b, pkg_b, sid_b)
    # The holds ended at NOW + 15 min; the task runs at the real current time, later.
    result = expire_tenant.apply(tenant_id=world.a.id).get()
    assert result == {"orders": 0, "holds": 1}
    assert expire_tenant.apply(tenant_id=world.a.id).get() == {"orders": 0, "holds": 0}
    with tenant_session(world.a.id) as s:
        assert get_or_404(s, Booking, a).status == BookingStatus.EXPIRED
    with tenant_session(world.b.id) as s:
        assert get_or_404(s, Booking, b).status == BookingStatus.HELD
    assert (booked(world.a, sid_a), booked(world.b, sid_b)) == (0, 1)


def test_beat_runs_the_sweep_every_minute() -> None:
    entry = app.conf.beat_schedule["booking-expire-due"]
    assert (entry["task"], entry["schedule"]) == ("booking.expire_due", 60.0)
    assert "booking.expire_due" in app.tasks
    assert "booking.expire_tenant" in app.tasks
