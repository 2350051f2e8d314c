"""The operator console's services (prm_saas.billing.console): every tenant with
plan, status, MRR, usage and last invoice, read with a fixed number of queries;
suspending and resuming by hand with a reason, audited; operators only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import col, func, select

from prm_saas.accounts.staff import invite_staff
from prm_saas.audit.models import PlatformAuditEvent
from prm_saas.billing.console import resume_tenant, suspend_tenant, tenant_rows
from prm_saas.billing.models import BillingInvoice, Suspension, TenantBilling
from prm_saas.booking.schedule import create_location, list_locations
from prm_saas.i18n import translate
from prm_saas.platform.models import TenantUsageDay
from tenants.db import get_engine, platform_session, tenant_session
from tenants.errors import (
    DomainError,
    FieldErrors,
    NotFound,
    PermissionDenied,
    TenantReadOnly,
)
from tenants.models import Tenant, TenantStatus
from tenants.types import utcnow
from tests.billing_signup.helpers import open_billing, plan
from tests.factories import World, make_tenant


@pytest.fixture
def pro(world: World) -> int:
    """Tenant A on Pro (in its trial, with invoices and usage); B has no plan."""
    p = plan(world.operator, "pro", "2999", messages_included="20000", messages_cap="")
    open_billing(world.a.id, p.id)
    return p.id


def add_invoice(tenant_id: int, number: str, days_ago: int, total_fen: int, status: str) -> None:
    now = utcnow()
    with platform_session() as s:
        s.add(
            BillingInvoice(
                stripe_invoice_id=f"in_test_{number}",
                subject_tenant_id=tenant_id,
                number=number,
                status=status,
                total_fen=total_fen,
                stripe_created=now - timedelta(days=days_ago),
                lines_json=json.dumps([]),
            )
        )


def add_usage(tenant_id: int, days_ago: int, patients: int, messages: int) -> None:
    with platform_session() as s:
        s.add(
            TenantUsageDay(
                subject_tenant_id=tenant_id,
                day=(utcnow() - timedelta(days=days_ago)).date(),
                patients=patients,
                messages=messages,
            )
        )


def rows(world: World, query: str = "") -> dict[str, object]:
    with platform_session() as s:
        return {r.slug: r for r in tenant_rows(session=s, actor=world.operator, query=query)}


def audit(action: str) -> list[PlatformAuditEvent]:
    with platform_session() as s:
        return list(
            s.exec(
                select(PlatformAuditEvent)
                .where(PlatformAuditEvent.action == action)
                .order_by(col(PlatformAuditEvent.id))
            )
        )


def billing_of(tenant_id: int) -> TenantBilling | None:
    with platform_session() as s:
        return s.exec(
            select(TenantBilling).where(TenantBilling.subject_tenant_id == tenant_id)
        ).first()


def status_of(tenant_id: int) -> str:
    with platform_session() as s:
        t = s.get(Tenant, tenant_id)
        assert t is not None
        return str(t.status)


# --- the rows ------------------------------------------------------------------------------


def test_rows_show_plan_status_mrr_usage_and_last_invoice(world: World, pro: int) -> None:
    add_invoice(world.a.id, "A-0001", 40, 299900, "paid")
    add_invoice(world.a.id, "A-0002", 10, 310000, "open")
    add_invoice(world.b.id, "B-0001", 1, 100, "paid")
    add_usage(world.a.id, 3, patients=7, messages=100)  # before the period began
    add_usage(world.a.id, 0, patients=9, messages=25)
    add_usage(world.b.id, 0, patients=50, messages=999)

    got = rows(world)
    a, b = got["clinic-a"], got["center-b"]
    billing = billing_of(world.a.id)
    assert billing is not None
    assert a.plan_code == "pro"  # type: ignore[attr-defined]
    assert (a.plan_name_zh, a.plan_name_en) == ("pro版", "Pro")  # type: ignore[attr-defined]
    assert a.status == "trial"  # type: ignore[attr-defined]
    assert a.mrr_fen == 0  # a trial pays nothing yet  # type: ignore[attr-defined]
    assert a.trial_ends_at == billing.trial_ends_at  # type: ignore[attr-defined]
    assert a.past_due_since is None  # type: ignore[attr-defined]
    assert (a.patients, a.messages_in_period) == (9, 25)  # type: ignore[attr-defined]
    assert (a.messages_included, a.messages_cap) == (20000, None)  # type: ignore[attr-defined]
    assert (a.last_invoice_number, a.last_invoice_status) == ("A-0002", "open")  # type: ignore[attr-defined]
    assert a.last_invoice_total_fen == 310000  # type: ignore[attr-defined]
    # B: no plan, no billing account (created before billing): shown, empty.
    assert (b.plan_code, b.mrr_fen, b.status) == ("", 0, "active")  # type: ignore[attr-defined]
    assert (b.patients, b.last_invoice_number) == (50, "B-0001")  # type: ignore[attr-defined]
    assert b.trial_ends_at is None  # type: ignore[attr-defined]

    assert list(rows(world, query="CENTER")) == ["center-b"]
    assert rows(world, query="%") == {}


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_rows_take_the_same_queries_however_many_tenants(world: World, pro: int) -> None:
    add_invoice(world.a.id, "A-0001", 3, 100, "paid")
    with statements() as few:
        rows(world)
    for i in range(4):
        t = make_tenant(f"more-{i}x")
        open_billing(t.id, pro)
        add_invoice(t.id, f"M-{i}", 2, 100, "paid")
        add_usage(t.id, 0, patients=i, messages=i)
    with statements() as many:
        got = rows(world)
    assert len(got) == 6
    assert len(many) == len(few)


def test_only_operators_see_the_console(world: World) -> None:
    for actor in (world.admin_a, world.staff_b, world.patient_a):
        with platform_session() as s, pytest.raises(PermissionDenied):
            tenant_rows(session=s, actor=actor)


# --- suspend and resume ------------------------------------------------------------------------


def write_as_staff(world: World) -> None:
    with tenant_session(world.a.id) as s:
        create_location(session=s, actor=world.admin_a, name_zh="新院区")


def test_suspend_makes_the_tenant_read_only_and_resume_makes_it_writable(
    world: World, pro: int
) -> None:
    with platform_session() as s:
        row = suspend_tenant(
            session=s,
            actor=world.operator,
            tenant_id=world.a.id,
            reason="欠款沟通中",
            ip="10.1.1.1",
        )
    assert (row.status, row.suspension, row.suspension_reason) == (
        "suspended",
        "manual",
        "欠款沟通中",
    )
    assert status_of(world.a.id) == TenantStatus.SUSPENDED
    with pytest.raises(TenantReadOnly):
        write_as_staff(world)
    with pytest.raises(TenantReadOnly), tenant_session(world.a.id) as s:
        invite_staff(session=s, actor=world.admin_a, email="n@a.test", name="新", role="staff")
    with tenant_session(world.a.id) as s:  # reading still works
        assert list_locations(session=s, actor=world.admin_a) == []
    with tenant_session(world.b.id) as s:  # the other tenant is untouched
        create_location(session=s, actor=world.admin_b, name_zh="B 院区")
    [event_] = audit("tenant.suspended")
    assert event_.subject_tenant_id == world.a.id
    assert event_.ip == "10.1.1.1"
    assert "欠款沟通中" in event_.details

    with platform_session() as s:
        row = resume_tenant(session=s, actor=world.operator, tenant_id=world.a.id, reason="已付款")
    # Back to what its billing says: still in the trial.
    assert (row.status, row.suspension, row.suspension_reason) == ("trial", "", "")
    write_as_staff(world)
    [resumed] = audit("tenant.resumed")
    assert "已付款" in resumed.details
    assert "trial" in resumed.details


def test_a_tenant_from_before_billing_can_be_suspended_and_resumed(world: World) -> None:
    assert billing_of(world.b.id) is None
    with platform_session() as s:
        suspend_tenant(session=s, actor=world.operator, tenant_id=world.b.id, reason="核查资质")
    billing = billing_of(world.b.id)
    assert billing is not None
    assert billing.suspension == Suspension.MANUAL
    with platform_session() as s:
        row = resume_tenant(session=s, actor=world.operator, tenant_id=world.b.id, reason="已核查")
    assert row.status == "active"
    assert status_of(world.b.id) == "active"


def test_suspending_twice_or_resuming_what_is_not_suspended_is_refused(
    world: World, pro: int
) -> None:
    with platform_session() as s, pytest.raises(DomainError) as exc:
        resume_tenant(session=s, actor=world.operator, tenant_id=world.a.id, reason="x")
    assert exc.value.key == "console.not_suspended"
    with platform_session() as s:
        suspend_tenant(session=s, actor=world.operator, tenant_id=world.a.id, reason="一")
    with platform_session() as s, pytest.raises(DomainError) as exc:
        suspend_tenant(session=s, actor=world.operator, tenant_id=world.a.id, reason="二")
    assert exc.value.key == "console.already_suspended"
    for key in ("console.not_suspended", "console.already_suspended"):
        assert translate(key, "zh-CN") != translate(key, "en") != key
    assert len(audit("tenant.suspended")) == 1


def test_a_billing_suspension_becomes_an_operators(world: World, pro: int) -> None:
    with platform_session() as s:
        tb = s.exec(
            select(TenantBilling).where(TenantBilling.subject_tenant_id == world.a.id)
        ).one()
        tb.suspension, tb.past_due_since = Suspension.BILLING, utcnow() - timedelta(days=30)
        s.add(tb)
    with platform_session() as s:
        row = suspend_tenant(session=s, actor=world.operator, tenant_id=world.a.id, reason="人工")
    assert (row.status, row.suspension) == ("suspended", "manual")


@pytest.mark.parametrize("reason", ["", "   ", None, 5, "长" * 301])
def test_a_reason_is_required(world: World, pro: int, reason: object) -> None:
    for service in (suspend_tenant, resume_tenant):
        with platform_session() as s, pytest.raises(FieldErrors) as exc:
            service(session=s, actor=world.operator, tenant_id=world.a.id, reason=reason)  # type: ignore[arg-type]
        key, params = exc.value.errors["reason"]
        assert key in ("field.required", "field.too_long")
        assert translate(key, "zh-CN", **params) != translate(key, "en", **params)
    assert status_of(world.a.id) == "trial"
    assert audit("tenant.suspended") == []


@pytest.mark.parametrize("tenant_id", [999_999, True, "1", None, -1])
def test_an_unknown_tenant_is_not_found(world: World, tenant_id: object) -> None:
    for service in (suspend_tenant, resume_tenant):
        with platform_session() as s, pytest.raises(NotFound):
            service(session=s, actor=world.operator, tenant_id=tenant_id, reason="原因")  # type: ignore[arg-type]
    with platform_session() as s:
        assert int(s.exec(select(func.count()).select_from(TenantBilling)).one()) == 0


def test_only_operators_suspend_or_resume(world: World, pro: int) -> None:
    for actor in (world.admin_a, world.admin_b, world.staff_a, world.patient_a):
        for service in (suspend_tenant, resume_tenant):
            with platform_session() as s, pytest.raises(PermissionDenied):
                service(session=s, actor=actor, tenant_id=world.a.id, reason="原因")
    assert status_of(world.a.id) == "trial"
    assert audit("tenant.suspended") == []
