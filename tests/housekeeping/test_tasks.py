"""The housekeeping tasks in-process (the real worker runs them in tests/test_celery_worker.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from prm_saas.accounts.models import LoginThrottle
from prm_saas.celery_app import app
from prm_saas.housekeeping.tasks import sweep, sweep_tenant
from tenants.context import tenant_context
from tenants.db import platform_session
from tenants.errors import NoTenantContext
from tenants.models import TenantStatus
from tenants.types import utcnow
from tests.factories import World, make_tenant
from tests.housekeeping.test_services import EVERYTHING, KEPT, add_tenant_rows, remaining


@pytest.fixture
def eager() -> Iterator[None]:
    """Tasks run in this process when sent (through apply_async and the tenant header)."""
    old = {k: app.conf[k] for k in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(old)


def test_sweep_tenant_sweeps_the_current_tenant_only(world: World) -> None:
    # given sweepable rows in A and B
    add_tenant_rows(world.a.id)
    add_tenant_rows(world.b.id)
    # when the task body runs in A's context
    with tenant_context(world.a.id):
        result = sweep_tenant()
    # then A was swept and B untouched
    assert result == {"user_sessions": 2, "reset_codes": 2, "oidc_states": 2}
    assert remaining(world.a.id) == KEPT
    assert remaining(world.b.id) == EVERYTHING


def test_sweep_tenant_refuses_to_run_without_a_tenant(world: World) -> None:
    add_tenant_rows(world.a.id)
    with pytest.raises(NoTenantContext):
        sweep_tenant()
    with pytest.raises(NoTenantContext):
        sweep_tenant.delay()
    assert remaining(world.a.id) == EVERYTHING


@pytest.mark.usefixtures("eager")
def test_the_hourly_sweep_fans_out_to_every_tenant_and_sweeps_the_platform(world: World) -> None:
    # given sweepable rows in A, B and a suspended tenant C, and a stale throttle
    c = make_tenant("clinic-c", status=TenantStatus.SUSPENDED)
    for tid in (world.a.id, world.b.id, c.id):
        add_tenant_rows(tid)
    with platform_session() as s:
        s.add(LoginThrottle(key="op:x", failures=1, last_failure_at=utcnow() - timedelta(days=2)))
    # when beat's task runs
    result = sweep.delay().get()
    # then one sweep per tenant ran and the platform rows were swept
    assert result == {"tenants": 3, "operator_sessions": 0, "login_throttles": 1}
    for tid in (world.a.id, world.b.id, c.id):
        assert remaining(tid) == KEPT
    with platform_session() as s:
        assert s.exec(select(LoginThrottle)).all() == []
