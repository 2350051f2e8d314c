"""The audit log: append-only, tenant-scoped reading, platform log for operators."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from prm_saas.accounts.auth import login_staff
from prm_saas.audit.models import AuditEvent, PlatformAuditEvent
from prm_saas.audit.services import (
    PAGE_SIZE,
    list_platform_audit,
    list_tenant_audit,
    record,
    record_platform,
)
from tenants.db import platform_session, tenant_session
from tenants.errors import AppendOnlyViolation, NotFound, PermissionDenied
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.factories import PASSWORD, World


def add_events(tenant: TenantInfo, *actions: str) -> None:
    with tenant_session(tenant.id) as s:
        for a in actions:
            record(s, actor=None, action=a)


# --- writing ----------------------------------------------------------------------------


def test_record_stores_actor_target_ip_and_details(world: World) -> None:
    with tenant_session(world.a.id) as s:
        record(
            s,
            actor=world.admin_a,
            action="staff.invited",
            target_type="staff",
            target_id=42,
            ip="10.5.5.5" + "0" * 100,
            details={"email": "x@a.test", "名字": "张三"},
        )

    with tenant_session(world.a.id) as s:
        page = list_tenant_audit(session=s, actor=world.admin_a)
    row = page.rows[0]
    assert page.total == 1
    assert (row.actor_kind, row.actor_label, row.action, row.target) == (
        "staff",
        "admin@a.test",
        "staff.invited",
        "staff:42",
    )
    assert len(row.ip) == 64
    assert json.loads(row.details) == {"email": "x@a.test", "名字": "张三"}
    assert row.at <= utcnow()


def test_actor_kinds_for_people_nobody_and_the_system(world: World) -> None:
    with tenant_session(world.a.id) as s:
        record(s, actor=None, action="x.system")
        record(s, actor=None, actor_label="someone@typed.it", action="x.anonymous")
        record(s, actor=world.patient_a, action="x.patient")
        rows = s.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert [(r.actor_kind, r.actor_id, r.actor_label) for r in rows] == [
        ("system", None, ""),
        ("anonymous", None, "someone@typed.it"),
        ("patient", world.patient_a.id, "+8613800000001"),
    ]


def test_tenant_events_are_stamped_with_the_tenant(world: World) -> None:
    add_events(world.b, "b.only")
    with tenant_session(world.b.id) as s:
        assert s.exec(select(AuditEvent.tenant_id)).all() == [world.b.id]


def _forge_tenant_event(tenant: TenantInfo) -> None:
    with tenant_session(tenant.id) as s:
        ev = s.exec(select(AuditEvent)).one()
        ev.details = '{"forged": true}'
        s.add(ev)


def _delete_tenant_event(tenant: TenantInfo) -> None:
    with tenant_session(tenant.id) as s:
        s.delete(s.exec(select(AuditEvent)).one())


def _forge_platform_event() -> None:
    with platform_session() as s:
        pev = s.exec(select(PlatformAuditEvent)).one()
        pev.action = "platform.forged"
        s.add(pev)


def test_audit_rows_cannot_be_changed_or_deleted(world: World) -> None:
    add_events(world.a, "original")
    with platform_session() as s:
        record_platform(s, actor=world.operator, action="platform.original")

    with pytest.raises(AppendOnlyViolation):
        _forge_tenant_event(world.a)
    with pytest.raises(AppendOnlyViolation):
        _delete_tenant_event(world.a)
    with pytest.raises(AppendOnlyViolation):
        _forge_platform_event()

    with tenant_session(world.a.id) as s:
        assert s.exec(select(AuditEvent.action)).all() == ["original"]
    with platform_session() as s:
        assert s.exec(select(PlatformAuditEvent.action)).all() == ["platform.original"]


@pytest.mark.postgres_only
def test_the_database_refuses_changes_to_audit_rows(world: World) -> None:
    add_events(world.a, "original")
    # (the ORM refuses first, so go around it: the grants are the wall tested here)
    with pytest.raises(sa.exc.ProgrammingError), tenant_session(world.a.id) as s:
        s.connection().execute(sa.text("UPDATE audit_event SET action = 'forged'"))
    with pytest.raises(sa.exc.ProgrammingError), tenant_session(world.a.id) as s:
        s.connection().execute(sa.text("DELETE FROM audit_event"))
    with tenant_session(world.a.id) as s:
        assert s.exec(select(AuditEvent.action)).all() == ["original"]


# --- reading the tenant log -------------------------------------------------------------


def test_only_admins_of_the_tenant_read_its_log(world: World) -> None:
    add_events(world.a, "a.event")
    with tenant_session(world.a.id) as s:
        assert list_tenant_audit(session=s, actor=world.admin_a).total == 1
        with pytest.raises(PermissionDenied):
            list_tenant_audit(session=s, actor=world.staff_a)
        with pytest.raises(PermissionDenied):
            list_tenant_audit(session=s, actor=world.patient_a)
        with pytest.raises(NotFound):
            list_tenant_audit(session=s, actor=world.admin_b)
        with pytest.raises(NotFound):
            list_tenant_audit(session=s, actor=world.operator)


def test_an_admin_never_sees_another_tenants_events(world: World) -> None:
    # Given activity in both tenants, including sign-ins with the same phone
    add_events(world.a, "a.one", "a.two")
    add_events(world.b, "b.secret")
    with tenant_session(world.b.id) as s:
        login_staff(session=s, email="admin@b.test", password=PASSWORD)

    with tenant_session(world.a.id) as s:
        page = list_tenant_audit(session=s, actor=world.admin_a)
        filtered = list_tenant_audit(session=s, actor=world.admin_a, action_prefix="b.")
        logins = list_tenant_audit(session=s, actor=world.admin_a, action_prefix="auth.")

    assert [r.action for r in page.rows] == ["a.two", "a.one"]
    assert page.total == 2
    assert (filtered.total, filtered.rows) == (0, [])
    assert (logins.total, logins.rows) == (0, [])


def test_platform_events_do_not_show_in_a_tenant_log(world: World) -> None:
    with platform_session() as s:
        record_platform(
            s, actor=world.operator, action="tenant.status_changed", subject_tenant_id=world.a.id
        )
    with tenant_session(world.a.id) as s:
        assert list_tenant_audit(session=s, actor=world.admin_a).total == 0


def test_pages_are_newest_first_with_a_total(world: World) -> None:
    n = PAGE_SIZE * 2 + 20
    add_events(world.a, *[f"bulk.{i:03d}" for i in range(n)])
    with tenant_session(world.a.id) as s:
        first = list_tenant_audit(session=s, actor=world.admin_a, page=0)
        last = list_tenant_audit(session=s, actor=world.admin_a, page=2)
        beyond = list_tenant_audit(session=s, actor=world.admin_a, page=3)
        negative = list_tenant_audit(session=s, actor=world.admin_a, page=-4)
        absurd = list_tenant_audit(session=s, actor=world.admin_a, page=10**20)

    assert first.total == last.total == beyond.total == n
    assert [r.action for r in first.rows] == [f"bulk.{i:03d}" for i in range(n - 1, n - 51, -1)]
    assert [r.action for r in last.rows] == [f"bulk.{i:03d}" for i in range(19, -1, -1)]
    assert beyond.rows == []
    assert negative == first
    assert (absurd.rows, absurd.total) == ([], n)


def test_newest_first_follows_the_time_not_the_insert_order(world: World) -> None:
    add_events(world.a, "later", "earlier")
    # Push "earlier" back in time as the schema owner (the app may not), as if logged first.
    owner_url = os.environ.get("MIGRATION_DATABASE_URL") or os.environ["DATABASE_URL"]
    eng = sa.create_engine(owner_url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        conn.execute(
            sa.update(AuditEvent.__table__)  # type: ignore[attr-defined]
            .where(AuditEvent.__table__.c.action == "earlier")  # type: ignore[attr-defined]
            .values(at=utcnow() - timedelta(hours=1))
        )
    eng.dispose()

    with tenant_session(world.a.id) as s:
        page = list_tenant_audit(session=s, actor=world.admin_a)
    assert [r.action for r in page.rows] == ["later", "earlier"]


def test_action_prefix_filter(world: World) -> None:
    add_events(
        world.a,
        "staff.invited",
        "staff.invite_resent",
        "staff.disabled",
        "auth.login",
        "staffing.other",
    )
    with tenant_session(world.a.id) as s:

        def actions(prefix: str) -> list[str]:
            page = list_tenant_audit(session=s, actor=world.admin_a, action_prefix=prefix)
            assert page.total == len(page.rows)
            return sorted(r.action for r in page.rows)

        assert actions("staff.") == ["staff.disabled", "staff.invite_resent", "staff.invited"]
        assert actions("auth.") == ["auth.login"]
        assert actions("") == sorted(
            [
                "staff.invited",
                "staff.invite_resent",
                "staff.disabled",
                "auth.login",
                "staffing.other",
            ]
        )
        # LIKE wildcards in the prefix are plain characters
        assert actions("staff.invite_") == ["staff.invite_resent"]
        assert actions("%") == []
        assert actions("_taff.") == []


# --- reading the platform log -----------------------------------------------------------


def test_only_operators_read_the_platform_log(world: World) -> None:
    with platform_session() as s:
        record_platform(
            s,
            actor=world.operator,
            action="tenant.created",
            target_type="tenant",
            target_id=world.a.id,
            subject_tenant_id=world.a.id,
        )
        record_platform(s, actor=None, actor_label="cli", action="operator.created")
    add_events(world.a, "tenant.inside")

    with platform_session() as s:
        page = list_platform_audit(session=s, actor=world.operator)
        tenants = list_platform_audit(session=s, actor=world.operator, action_prefix="tenant.")
        for someone in (world.admin_a, world.staff_a, world.patient_a):
            with pytest.raises(PermissionDenied):
                list_platform_audit(session=s, actor=someone)

    assert [r.action for r in page.rows] == ["operator.created", "tenant.created"]
    assert page.rows[1].target == f"tenant:{world.a.id}"
    assert page.rows[1].actor_kind == "operator"
    assert [r.action for r in tenants.rows] == ["tenant.created"]


def test_platform_log_pages(world: World) -> None:
    with platform_session() as s:
        for i in range(PAGE_SIZE + 3):
            record_platform(s, actor=world.operator, action=f"p.{i:03d}")
    with platform_session() as s:
        second = list_platform_audit(session=s, actor=world.operator, page=1)
    assert second.total == PAGE_SIZE + 3
    assert [r.action for r in second.rows] == ["p.002", "p.001", "p.000"]
