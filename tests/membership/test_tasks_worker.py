"""The membership day on a real Celery worker (SQLAlchemy broker, and Redis when
REDIS_URL is set): beat's entry point fans out to every active tenant, each
tenant's points expire in that tenant only, and a second run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from prm_saas.celery_app import app
from prm_saas.membership.models import PointsEntry
from tenants.db import tenant_session
from tenants.models import TenantStatus
from tenants.resolution import TenantInfo
from tests.factories import World, change_status, make_patient, make_tenant
from tests.membership.helpers import earn
from tests.test_celery_worker import Worker, broker, failures, wait_for, worker  # noqa: F401

pytestmark = [
    pytest.mark.celery,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
]

LONG_AGO = datetime(2024, 6, 1, 2, 0, tzinfo=UTC)  # expired long before the real now


def _kinds(tenant: TenantInfo) -> list[tuple[str, int]]:
    with tenant_session(tenant.id) as s:
        return [
            (e.kind, e.points)
            for e in s.exec(select(PointsEntry).order_by(col(PointsEntry.id))).all()
        ]


def test_beat_fans_the_membership_day_out_to_active_tenants(
    world: World,
    worker: Worker,  # noqa: F811
) -> None:
    suspended = make_tenant("closed-clinic")
    for tenant, pid in (
        (world.a, world.patient_a.id),
        (world.b, world.patient_b.id),
        (suspended, make_patient(suspended).id),
    ):
        earn(tenant, pid, 40, f"old-{tenant.id}", now=LONG_AGO)
    suspended = change_status(suspended, TenantStatus.SUSPENDED)
    before = worker.log.read_text().count("membership.daily_tenant[")

    with broker(worker.broker_url) as conn:
        app.send_task("membership.daily_due", connection=conn)
    for tenant in (world.a, world.b):
        wait_for(
            lambda t=tenant: _kinds(t) == [("earn", 40), ("expire", -40)],
            timeout=60,
            what=f"tenant {tenant.id}'s points expired",
        )
    # The second beat changes nothing: wait until both tenants' tasks ran again
    # (each run logs "received" and "succeeded").
    with broker(worker.broker_url) as conn:
        app.send_task("membership.daily_due", connection=conn)
    wait_for(
        lambda: worker.log.read_text().count("membership.daily_tenant[") - before >= 8,
        timeout=60,
        what="the second run in both tenants",
    )
    for tenant in (world.a, world.b):
        assert _kinds(tenant) == [("earn", 40), ("expire", -40)]
    assert _kinds(suspended) == [("earn", 40)]  # not an active tenant
    assert failures("membership.daily_tenant") == []
    assert failures("membership.daily_due") == []
