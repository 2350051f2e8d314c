"""The ORM wall: scoped reads, stamped and verified writes, NotFound across tenants."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from prm_saas.accounts.models import Patient, StaffMember
from prm_saas.audit.models import AuditEvent
from tenants.db import bind_tenant, platform_session, tenant_session
from tenants.errors import (
    AppendOnlyViolation,
    CrossTenantWrite,
    NoTenantContext,
    NotFound,
    TenantReadOnly,
)
from tenants.lookup import get_or_404
from tenants.models import TenantStatus
from tests.factories import World, make_tenant


def test_queries_see_only_the_current_tenant(world: World) -> None:
    with tenant_session(world.a.id) as s:
        phones = s.exec(select(Patient.tenant_id)).all()
        staff = s.exec(select(func.count()).select_from(StaffMember)).one()
    assert phones == [world.a.id]
    assert staff == 2  # admin + staff of A only


def test_platform_level_sees_no_tenant_rows(world: World) -> None:
    with platform_session() as s:
        assert s.exec(select(Patient)).all() == []


def test_new_rows_are_stamped_with_the_session_tenant(world: World) -> None:
    with tenant_session(world.b.id) as s:
        p = Patient(name="新患者", phone="+8613900000099")
        s.add(p)
        s.flush()
        assert p.tenant_id == world.b.id


def test_writing_a_row_of_another_tenant_is_refused(world: World) -> None:
    with pytest.raises(CrossTenantWrite), tenant_session(world.a.id) as s:
        s.add(Patient(name="x", phone="+8613900000098", tenant_id=world.b.id))
    with tenant_session(world.b.id) as s:
        assert s.exec(select(Patient).where(Patient.phone == "+8613900000098")).first() is None


def test_moving_a_row_across_tenants_is_refused(world: World) -> None:
    with pytest.raises(CrossTenantWrite), tenant_session(world.a.id) as s:
        p = s.exec(select(Patient)).one()
        p.tenant_id = world.b.id
        s.add(p)


def test_tenant_rows_cannot_be_written_at_platform_level(world: World) -> None:
    with pytest.raises(NoTenantContext), platform_session() as s:
        s.add(Patient(name="x", phone="+8613900000097"))


def test_lookup_by_id_of_another_tenant_is_not_found(world: World) -> None:
    with tenant_session(world.a.id) as s:
        assert get_or_404(s, Patient, world.patient_a.id).id == world.patient_a.id
        with pytest.raises(NotFound):
            get_or_404(s, Patient, world.patient_b.id)
        with pytest.raises(NotFound) as missing:
            get_or_404(s, Patient, 999_999)
        with pytest.raises(NotFound):
            get_or_404(s, Patient, "1 OR 1=1")
    assert missing.value.key == "error.not_found"


def test_bulk_update_touches_only_the_current_tenant(world: World) -> None:
    from sqlmodel import update

    with tenant_session(world.a.id) as s:
        s.exec(update(Patient).values(name="改名"))  # type: ignore[call-overload]
    with tenant_session(world.b.id) as s:
        assert s.exec(select(Patient.name)).one() != "改名"


def test_suspended_tenant_is_read_only(world: World) -> None:
    t = make_tenant("sleepy", status=TenantStatus.SUSPENDED)
    with pytest.raises(TenantReadOnly), tenant_session(t.id) as s:
        s.add(Patient(name="x", phone="+8613900000096"))
    with tenant_session(t.id) as s:
        s.add(AuditEvent(actor_kind="system", action="still.audited"))
    with tenant_session(t.id) as s:
        assert s.exec(select(AuditEvent.action)).all() == ["still.audited"]


def test_a_suspension_applies_from_the_sessions_next_transaction(world: World) -> None:
    """The status is asked once per transaction, so it must be asked again in the
    next one: a session that outlives a suspension may no longer write."""
    from tenants.db import TenantSession, get_engine
    from tests.factories import change_status

    s = TenantSession(get_engine(), info={"tenant_id": world.a.id}, expire_on_commit=False)
    try:
        s.add(Patient(name="first", phone="+8613900000097"))
        s.flush()
        s.add(Patient(name="second", phone="+8613900000098"))
        s.flush()  # the same transaction: not asked again
        s.commit()
        change_status(world.a, TenantStatus.SUSPENDED)
        s.add(Patient(name="third", phone="+8613900000099"))
        with pytest.raises(TenantReadOnly):
            s.flush()
        s.rollback()
    finally:
        s.close()
    with tenant_session(world.a.id) as s2:
        names = set(s2.exec(select(Patient.name)).all())
    assert {"first", "second"} <= names
    assert "third" not in names


def test_audit_rows_are_append_only(world: World) -> None:
    with tenant_session(world.a.id) as s:
        s.add(AuditEvent(actor_kind="system", action="x"))
    with pytest.raises(AppendOnlyViolation), tenant_session(world.a.id) as s:
        ev = s.exec(select(AuditEvent)).first()
        assert ev is not None
        ev.action = "tampered"
        s.add(ev)
    with pytest.raises(AppendOnlyViolation), tenant_session(world.a.id) as s:
        s.delete(s.exec(select(AuditEvent)).first())


def test_only_switchable_platform_sessions_may_enter_a_tenant(world: World) -> None:
    with pytest.raises(CrossTenantWrite), platform_session() as s:
        bind_tenant(s, world.a.id)
    with platform_session(allow_tenant_switch=True) as s:
        bind_tenant(s, world.a.id)
        assert len(s.exec(select(Patient)).all()) == 1


def test_bulk_update_of_audit_rows_is_refused(world: World) -> None:
    from sqlmodel import update

    with tenant_session(world.a.id) as s:
        s.add(AuditEvent(actor_kind="system", action="x"))
    with pytest.raises(AppendOnlyViolation), tenant_session(world.a.id) as s:
        s.exec(update(AuditEvent).values(action="tampered"))  # type: ignore[call-overload]
    with tenant_session(world.a.id) as s:
        assert s.exec(select(AuditEvent.action)).all() == ["x"]


def test_bulk_update_in_a_suspended_tenant_is_refused(world: World) -> None:
    from sqlmodel import update

    from tests.factories import change_status

    change_status(world.a, TenantStatus.SUSPENDED)
    with pytest.raises(TenantReadOnly), tenant_session(world.a.id) as s:
        s.exec(update(Patient).values(name="改名"))  # type: ignore[call-overload]
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Patient.name)).one() != "改名"


def test_bulk_insert_into_a_tenant_table_is_refused(world: World) -> None:
    from sqlmodel import insert

    with pytest.raises(NoTenantContext), tenant_session(world.a.id) as s:
        s.exec(
            insert(Patient).values(
                name="x",
                phone="+8613900000095",  # type: ignore[call-overload]
                tenant_id=world.b.id,
            )
        )


def test_core_statement_on_a_tenant_table_is_refused_not_run_unfiltered(world: World) -> None:
    # select(Patient.__table__) has no ORM entity for the tenant criteria to scope
    with pytest.raises(NoTenantContext), tenant_session(world.a.id) as s:
        s.execute(select(Patient.__table__))  # type: ignore[call-overload]
    with pytest.raises(NoTenantContext), tenant_session(world.a.id) as s:
        s.execute(Patient.__table__.update().values(name="x"))  # type: ignore[attr-defined]


def test_on_commit_runs_after_the_real_commit_only(world: World) -> None:
    from tenants.db import on_commit

    ran: list[str] = []
    with tenant_session(world.a.id) as s:
        with s.begin_nested():
            on_commit(s, lambda: ran.append("outer"))
        # releasing the savepoint is not the commit
        assert ran == []
    assert ran == ["outer"]
    with pytest.raises(RuntimeError), tenant_session(world.a.id) as s:
        on_commit(s, lambda: ran.append("rolled back"))
        raise RuntimeError("use case failed")
    assert ran == ["outer"]


def test_set_based_inserts_are_stamped_with_the_session_tenant(world: World) -> None:
    """insert_rows / insert_from_select (tag rules, campaign snapshots): the session's
    tenant is written whatever the rows say, and a suspended tenant is refused."""
    import sqlalchemy as sa

    from tenants.db import insert_from_select, insert_rows

    with tenant_session(world.a.id) as s:
        rows = insert_rows(
            s,
            Patient,
            [
                {"name": "甲", "phone": "+8613900000091", "tenant_id": world.b.id},
                {"name": "乙", "phone": "+8613900000092"},
            ],
            returning=(Patient.__table__.c.id, Patient.__table__.c.name),  # type: ignore[attr-defined]
        )
        assert [r.name for r in rows] == ["甲", "乙"]
        copied = insert_from_select(
            s,
            AuditEvent,
            ["actor_kind", "action"],
            sa.select(sa.literal("system"), Patient.__table__.c.name).where(  # type: ignore[attr-defined]
                Patient.__table__.c.tenant_id == world.a.id  # type: ignore[attr-defined]
            ),
            returning=(AuditEvent.__table__.c.action,),  # type: ignore[attr-defined]
        )
        assert sorted(r.action for r in copied) == sorted(["甲", "乙", *_names(world.a.id)])
    with tenant_session(world.b.id) as s:
        assert "甲" not in s.exec(select(Patient.name)).all()
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "甲")).first() is None
    with tenant_session(world.a.id) as s:
        assert set(s.exec(select(Patient.name)).all()) >= {"甲", "乙"}
    sleepy = make_tenant("sleepy2", status=TenantStatus.SUSPENDED)
    with pytest.raises(TenantReadOnly), tenant_session(sleepy.id) as s:
        insert_rows(s, Patient, [{"name": "x", "phone": "+8613900000093"}])
    with tenant_session(sleepy.id) as s:
        assert s.exec(select(Patient)).all() == []


def _names(tenant_id: int) -> list[str]:
    with tenant_session(tenant_id) as s:
        return [n for n in s.exec(select(Patient.name)).all() if n not in ("甲", "乙")]


def test_the_tenant_status_is_asked_once_per_transaction(world: World) -> None:
    """Every flush checks the tenant is not suspended; the answer holds until the
    transaction ends, so five flushes ask once, and the next transaction asks again."""
    import sqlalchemy as sa

    from tenants.db import get_engine

    asked: list[str] = []

    def count(_conn: object, _cur: object, statement: str, *_rest: object) -> None:
        if "tenant.status" in statement:
            asked.append(statement)

    engine = get_engine()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with tenant_session(world.a.id) as s:
            for i in range(5):
                s.add(AuditEvent(actor_kind="system", action=f"flush.{i}"))
                s.add(Patient(name=f"x{i}", phone=f"+861390000008{i}"))
                s.flush()
        assert len(asked) == 1
        with tenant_session(world.a.id) as s:
            s.add(Patient(name="y", phone="+8613900000089"))
        assert len(asked) == 2
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
