"""The hourly roll-up: per tenant, idempotent, feeding the platform's usage rows,
and on a real worker; package views recorded by the mall page's service."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import col, func, select

from prm_saas.accounts.models import PrincipalKind
from prm_saas.celery_app import app
from prm_saas.dashboards.models import KpiDaily, KpiRollupState, PackageView
from prm_saas.dashboards.tasks import rollup_tenant, run_tenant
from prm_saas.mall.views import record_view
from prm_saas.platform.models import TenantUsageDay
from tenants.db import platform_session, tenant_session
from tenants.errors import NotFound
from tests.dashboards import builders as b
from tests.dashboards.test_tenant_kpis import NOW, seed
from tests.factories import World
from tests.test_celery_worker import Worker, broker, failures, wait_for, worker  # noqa: F401


def _daily(tenant_id: int) -> list[tuple[date, int, str, int]]:
    with tenant_session(tenant_id) as s:
        return [
            (r.day, r.location_id, r.metric, r.value)
            for r in s.exec(
                select(KpiDaily).order_by(
                    col(KpiDaily.day), col(KpiDaily.location_id), col(KpiDaily.metric)
                )
            ).all()
        ]


def _usage(tenant_id: int) -> dict[date, tuple[int, int]]:
    with platform_session() as ps:
        rows = ps.exec(
            select(TenantUsageDay).where(TenantUsageDay.subject_tenant_id == tenant_id)
        ).all()
        return {r.day: (r.bookings, r.messages) for r in rows}


def test_a_second_run_changes_nothing_and_other_tenants_are_untouched(world: World) -> None:
    seed(world.a)
    seed(world.b, extra=True)
    first = run_tenant(tenant_id=world.a.id, now=NOW)
    assert first.rolled_through == date(2026, 11, 30)
    rows = _daily(world.a.id)
    assert ("bookings" in {m for _d, _l, m, _v in rows}) is True
    again = run_tenant(tenant_id=world.a.id, now=NOW)
    assert again.first_day == date(2026, 11, 17)  # only the trailing 14 days
    assert _daily(world.a.id) == rows
    assert _daily(world.b.id) == []  # B has not been rolled up
    # The platform's usage of A: bookings by UTC day of confirmation.
    usage = _usage(world.a.id)
    assert usage[date(2026, 11, 10)][0] == 2  # 03:00 and 15:59 UTC (16:00 is the 10th in UTC too)
    assert _usage(world.b.id) == {}
    assert rollup_tenant.apply(tenant_id=world.b.id).get()["rows"] > len(rows)  # B has more


@pytest.mark.celery
@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
def test_beat_fans_the_roll_up_out_to_every_tenant(world: World, worker: Worker) -> None:  # noqa: F811
    seed(world.a)
    seed(world.b)
    with broker(worker.broker_url) as conn:
        app.send_task("dashboards.rollup", connection=conn)

    def rolled(tid: int) -> bool:
        with tenant_session(tid) as s:
            return s.exec(select(func.count()).select_from(KpiRollupState)).one() == 1

    for t in (world.a, world.b):
        wait_for(lambda tid=t.id: rolled(tid), timeout=60, what=f"tenant {t.id} rolled up")
    assert failures("dashboards.rollup_tenant") == []
    assert "dashboards.rollup" in {e["task"] for e in app.conf.beat_schedule.values()}


def test_package_views_count_published_packages_of_the_tenant_only(world: World) -> None:
    with tenant_session(world.a.id) as s:
        pkg_a = b.package(s)
    with tenant_session(world.b.id) as s:
        pkg_b = b.package(s)
    with tenant_session(world.a.id) as s:
        record_view(session=s, package_id=pkg_a, actor=world.patient_a, now=NOW)
        record_view(session=s, package_id=str(pkg_a), now=NOW)  # anonymous
        record_view(session=s, package_id=pkg_a, actor=world.patient_b, now=NOW)  # not A's
        for bad in (pkg_b, 999_999, "x"):
            with pytest.raises(NotFound):
                record_view(session=s, package_id=bad, now=NOW)
    with tenant_session(world.a.id) as s:
        views = s.exec(select(PackageView).order_by(col(PackageView.id))).all()
        assert [v.patient_id for v in views] == [world.patient_a.id, None, None]
    assert world.patient_a.kind == PrincipalKind.PATIENT
    with tenant_session(world.b.id) as s:
        assert s.exec(select(func.count()).select_from(PackageView)).one() == 0
