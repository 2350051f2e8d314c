"""The automations tick on a real Celery worker (SQLAlchemy broker, and Redis when
REDIS_URL is set): beat's entry point fans out to every active tenant, each
tenant's due enrollments advance in that tenant only and record their message
in the outbox, which the dispatch then takes; a second tick changes nothing."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from prm_saas.automations import hooks
from prm_saas.celery_app import app
from prm_saas.messaging.models import Message
from tenants.db import tenant_session
from tenants.models import TenantStatus
from tenants.resolution import TenantInfo
from tests.automations import builders as b
from tests.factories import World, change_status, make_admin, make_patient, make_tenant
from tests.test_celery_worker import Worker, broker, failures, wait_for, worker  # noqa: F401

pytestmark = [
    pytest.mark.celery,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
]


def _journey(tenant: TenantInfo, admin: object, pid: int) -> int:
    aid = b.automation(tenant, admin, "patient_joined", [b.msg("欢迎 {patient_name}")])  # type: ignore[arg-type]
    with tenant_session(tenant.id) as s:
        hooks.fire(s, "patient_joined", pid)
    return aid


def _state(tenant: TenantInfo) -> tuple[list[str], list[str]]:
    """Enrollment statuses and the automation's messages (by source: the marketing
    message may be sent, or held by the tenant's quiet hours, depending on the
    hour the test runs)."""
    with tenant_session(tenant.id) as s:
        sources = [m.source for m in s.exec(select(Message).order_by(col(Message.id))).all()]
    return [e.status for e in b.enrollments(tenant)], [src.split(":")[0] for src in sources]


def test_beat_tick_advances_every_active_tenant_once(
    world: World,
    worker: Worker,  # noqa: F811
) -> None:
    closed = make_tenant("closed-clinic")
    closed_admin = make_admin(closed)
    for tenant, admin, pid in (
        (world.a, world.admin_a, world.patient_a.id),
        (world.b, world.admin_b, world.patient_b.id),
        (closed, closed_admin, make_patient(closed).id),
    ):
        _journey(tenant, admin, pid)
    closed = change_status(closed, TenantStatus.SUSPENDED)
    before = worker.log.read_text().count("automations.tick_tenant[")

    with broker(worker.broker_url) as conn:
        app.send_task("automations.tick", connection=conn)
    for tenant in (world.a, world.b):
        wait_for(
            lambda t=tenant: _state(t) == (["completed"], ["automation"]),
            timeout=60,
            what=f"tenant {tenant.id}'s welcome sent",
        )
    with broker(worker.broker_url) as conn:
        app.send_task("automations.tick", connection=conn)
    wait_for(
        lambda: worker.log.read_text().count("automations.tick_tenant[") - before >= 8,
        timeout=60,
        what="the second tick in both tenants",
    )
    for tenant in (world.a, world.b):
        assert _state(tenant) == (["completed"], ["automation"])
    assert _state(closed) == (["active"], [])  # not an active tenant
    assert failures("automations.tick_tenant") == []
    assert failures("automations.tick") == []
