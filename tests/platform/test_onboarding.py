"""Onboarding tenants and their lifecycle, for operators (prm_saas.platform.services)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, func, select

from prm_saas.accounts.auth import login_patient, login_staff
from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import AccountStatus, Operator, StaffMember, StaffRole
from prm_saas.accounts.staff import accept_invitation, invite_staff
from prm_saas.audit.models import AuditEvent, PlatformAuditEvent
from prm_saas.billing.console import resume_tenant, suspend_tenant
from prm_saas.messaging.models import Message, MessageStatus
from prm_saas.platform.services import (
    Onboarded,
    create_operator,
    list_tenants,
    onboard_tenant,
)
from tenants.db import platform_session, tenant_session
from tenants.errors import FieldErrors, PermissionDenied, TenantReadOnly
from tenants.models import Tenant
from tenants.resolution import tenant_by_slug
from tests.factories import PASSWORD, World, make_tenant
from tests.smtp_sink import MailSink

ADMIN_PASSWORD = "Opening2026day"


def onboard(actor: Principal, **kw: Any) -> Onboarded:
    fields: dict[str, Any] = {
        "slug": "harbor-health",
        "name": "港湾健康体检中心",
        "kind": "checkup_center",
        "timezone": "Asia/Shanghai",
        "default_locale": "zh-CN",
        "admin_email": "Chief@Harbor.test",
        "admin_name": "陈主任",
    }
    fields.update(kw)
    with platform_session(allow_tenant_switch=True) as s:
        return onboard_tenant(session=s, actor=actor, ip="10.7.7.7", **fields)


def field_keys(exc: pytest.ExceptionInfo[FieldErrors]) -> dict[str, str]:
    return {f: k for f, (k, _p) in exc.value.errors.items()}


def tenant_count() -> int:
    with platform_session() as s:
        return s.exec(select(func.count()).select_from(Tenant)).one()


def platform_actions() -> list[str]:
    with platform_session() as s:
        return list(
            s.exec(select(PlatformAuditEvent.action).order_by(col(PlatformAuditEvent.id))).all()
        )


def suspend(actor: Principal, tenant_id: int) -> Any:
    with platform_session() as s:
        return suspend_tenant(session=s, actor=actor, tenant_id=tenant_id, reason="欠费核查")


def resume(actor: Principal, tenant_id: int) -> Any:
    with platform_session() as s:
        return resume_tenant(session=s, actor=actor, tenant_id=tenant_id, reason="已核实")


# --- who may onboard --------------------------------------------------------------------


def test_only_operators_onboard(world: World, smtp_sink: MailSink) -> None:
    for someone in (world.admin_a, world.staff_a, world.patient_a):
        with pytest.raises(PermissionDenied):
            onboard(someone, admin_password=ADMIN_PASSWORD)
    assert tenant_count() == 2
    assert smtp_sink.messages == []


# --- with an admin password -------------------------------------------------------------


def test_onboarding_with_a_password_lets_the_admin_sign_in_at_once(
    world: World, smtp_sink: MailSink
) -> None:
    done = onboard(world.operator, admin_password=ADMIN_PASSWORD)

    assert (done.tenant.slug, done.tenant.name, done.tenant.kind, done.tenant.status) == (
        "harbor-health",
        "港湾健康体检中心",
        "checkup_center",
        "trial",
    )
    assert done.admin_invited is False
    assert smtp_sink.messages == []
    info = tenant_by_slug("harbor-health")
    assert info is not None
    assert info.id == done.tenant.id
    with tenant_session(info.id) as s:
        out = login_staff(session=s, email="chief@harbor.test", password=ADMIN_PASSWORD)
    assert out.principal is not None
    assert (out.principal.id, out.principal.role, out.principal.tenant_id) == (
        done.admin_id,
        "tenant_admin",
        info.id,
    )


def test_onboarding_is_audited_on_the_platform_and_in_the_tenant(world: World) -> None:
    done = onboard(world.operator, admin_password=ADMIN_PASSWORD)

    with platform_session() as s:
        pev = s.exec(select(PlatformAuditEvent)).one()
    assert (pev.action, pev.actor_id, pev.subject_tenant_id, pev.ip) == (
        "tenant.created",
        world.operator.id,
        done.tenant.id,
        "10.7.7.7",
    )
    assert json.loads(pev.details) == {"slug": "harbor-health", "admin": "chief@harbor.test"}
    with tenant_session(done.tenant.id) as s:
        tev = s.exec(select(AuditEvent)).one()
    assert tev.action == "tenant.created"
    assert json.loads(tev.details)["by_operator"] == world.operator.id
    # Nothing leaked into the existing tenants' logs
    with tenant_session(world.a.id) as s:
        assert s.exec(select(AuditEvent)).all() == []


def test_the_new_tenant_starts_empty_but_its_admin(world: World) -> None:
    done = onboard(world.operator, admin_password=ADMIN_PASSWORD)
    with tenant_session(done.tenant.id) as s:
        staff = s.exec(select(StaffMember)).all()
        out = login_patient(session=s, identifier="13800000001", password=PASSWORD)
    assert [(m.email, m.role, m.status) for m in staff] == [
        ("chief@harbor.test", StaffRole.TENANT_ADMIN, AccountStatus.ACTIVE)
    ]
    assert out.error_key == "auth.bad_credentials"  # the patients of A and B are not here


def test_a_weak_admin_password_is_refused(world: World) -> None:
    with pytest.raises(FieldErrors) as exc:
        onboard(world.operator, admin_password="chief1234")
    assert field_keys(exc) == {"admin_password": "field.password_personal"}
    assert tenant_count() == 2


# --- without a password: invitation -----------------------------------------------------


def test_onboarding_without_a_password_invites_the_admin(world: World, smtp_sink: MailSink) -> None:
    done = onboard(world.operator)

    assert done.admin_invited is True
    mail = smtp_sink.last_to("chief@harbor.test")
    assert "港湾健康体检中心" in mail.subject
    assert world.operator.name in mail.body
    assert "/t/harbor-health/admin/accept?token=" in mail.body

    with tenant_session(done.tenant.id) as s:
        principal, _token = accept_invitation(
            session=s,
            token=mail.accept_token(),
            name="陈主任",
            password=ADMIN_PASSWORD,
            password_confirm=ADMIN_PASSWORD,
        )
    assert (principal.id, principal.role) == (done.admin_id, "tenant_admin")
    with tenant_session(done.tenant.id) as s:
        assert login_staff(session=s, email="chief@harbor.test", password=ADMIN_PASSWORD).ok


def test_onboarding_with_mail_down_still_creates_the_tenant_and_queues_the_invitation(
    world: World, smtp_down: None
) -> None:
    done = onboard(world.operator)

    assert tenant_by_slug("harbor-health") is not None
    with tenant_session(done.tenant.id) as s:
        msg = s.exec(select(Message)).one()
    assert (msg.template_key, msg.status) == ("account.staff_invite", MessageStatus.SCHEDULED)
    assert "SMTP" in msg.error


def rows_in_every_tenant(table: str) -> int:
    """Rows of ``table`` across all tenants, counted below the tenant wall (as the owner)."""
    url = os.environ.get("MIGRATION_DATABASE_URL") or os.environ["DATABASE_URL"]
    eng = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        n = conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()
    eng.dispose()
    return int(n)


def test_the_slug_can_be_used_after_a_failed_onboarding(world: World, smtp_sink: MailSink) -> None:
    with pytest.raises(FieldErrors):
        onboard(world.operator, admin_email="broken")
    assert onboard(world.operator).tenant.slug == "harbor-health"


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"slug": "Harbor Health"}, {"slug": "field.slug_invalid"}),
        ({"slug": "ab"}, {"slug": "field.slug_invalid"}),
        ({"slug": "-harbor"}, {"slug": "field.slug_invalid"}),
        ({"slug": "harbor-"}, {"slug": "field.slug_invalid"}),
        ({"slug": "1harbor"}, {"slug": "field.slug_invalid"}),
        ({"slug": "harbor_health"}, {"slug": "field.slug_invalid"}),
        ({"slug": "h" * 41}, {"slug": "field.slug_invalid"}),
        ({"slug": "admin"}, {"slug": "field.slug_reserved"}),
        ({"slug": "www"}, {"slug": "field.slug_reserved"}),
        ({"slug": "clinic-a"}, {"slug": "field.slug_taken"}),
        ({"slug": " CLINIC-A "}, {"slug": "field.slug_taken"}),
        ({"name": ""}, {"name": "field.required"}),
        ({"kind": "hospital"}, {"kind": "field.choice_invalid"}),
        ({"timezone": "Asia/Beijing"}, {"timezone": "field.timezone_invalid"}),
        ({"default_locale": "ja"}, {"default_locale": "field.locale_invalid"}),
        ({"admin_email": "chief"}, {"admin_email": "field.email_invalid"}),
        ({"admin_email": ""}, {"admin_email": "field.required"}),
        ({"admin_name": ""}, {"admin_name": "field.required"}),
    ],
)
def test_bad_onboarding_input_is_refused(
    world: World, smtp_sink: MailSink, kw: dict[str, str], expected: dict[str, str]
) -> None:
    with pytest.raises(FieldErrors) as exc:
        onboard(world.operator, **kw)
    assert field_keys(exc) == expected
    assert tenant_count() == 2
    assert smtp_sink.messages == []


def test_the_slug_invalid_message_names_its_limits(world: World) -> None:
    with pytest.raises(FieldErrors) as exc:
        onboard(world.operator, slug="x")
    assert exc.value.errors["slug"] == ("field.slug_invalid", {"min": 3, "max": 40})


def test_slugs_are_lower_cased_and_trimmed(world: World, smtp_sink: MailSink) -> None:
    assert onboard(world.operator, slug="  Harbor-Two ").tenant.slug == "harbor-two"


# --- suspension (console.suspend_tenant; its checks are in tests/billing_signup) ---


def test_a_suspended_tenant_is_read_only_for_staff_but_sign_in_works(
    world: World, smtp_sink: MailSink
) -> None:
    suspend(world.operator, world.a.id)

    with pytest.raises(TenantReadOnly) as exc, tenant_session(world.a.id) as s:
        invite_staff(session=s, actor=world.admin_a, email="new@a.test", name="新人", role="staff")
    assert exc.value.key == "error.tenant_read_only"
    assert smtp_sink.messages == []
    with tenant_session(world.a.id) as s:
        assert login_staff(session=s, email="admin@a.test", password=PASSWORD).ok
        assert login_patient(session=s, identifier="13800000001", password=PASSWORD).ok
    # The other tenant is unaffected
    with tenant_session(world.b.id) as s:
        invite_staff(session=s, actor=world.admin_b, email="new@b.test", name="新人", role="staff")

    # When the tenant is active again, writes work again
    resume(world.operator, world.a.id)
    with tenant_session(world.a.id) as s:
        invite_staff(session=s, actor=world.admin_a, email="new@a.test", name="新人", role="staff")
    assert smtp_sink.last_to("new@a.test")


# --- listing ----------------------------------------------------------------------------


def test_list_tenants_newest_first_and_filtered(world: World) -> None:
    make_tenant("sunny-side", name="Sunny Side Clinic")

    with platform_session() as s:
        every = list_tenants(session=s, actor=world.operator)
        by_name = list_tenants(session=s, actor=world.operator, query="体检")
        by_slug = list_tenants(session=s, actor=world.operator, query=" CLINIC-a ")
        by_case = list_tenants(session=s, actor=world.operator, query="sunny SIDE")
        nothing = list_tenants(session=s, actor=world.operator, query="nope")
        wildcard = list_tenants(session=s, actor=world.operator, query="%")
        underscore = list_tenants(session=s, actor=world.operator, query="clinic_a")

    assert [t.slug for t in every] == ["sunny-side", "center-b", "clinic-a"]
    assert [t.slug for t in by_name] == ["center-b"]
    assert [t.slug for t in by_slug] == ["clinic-a"]
    assert [t.slug for t in by_case] == ["sunny-side"]
    assert nothing == wildcard == underscore == []


def test_list_tenants_is_for_operators(world: World) -> None:
    with platform_session() as s, pytest.raises(PermissionDenied):
        list_tenants(session=s, actor=world.admin_a)


# --- operators --------------------------------------------------------------------------


def test_create_operator(world: World) -> None:
    with platform_session() as s:
        op_id = create_operator(
            session=s, email="Second@Platform.test", name="二号运营", password="Platform2026x"
        )
    with platform_session() as s:
        op = s.get(Operator, op_id)
        assert op is not None
        assert op.email == "second@platform.test"
        with pytest.raises(FieldErrors) as taken:
            create_operator(
                session=s, email="OPS@platform.test", name="x", password="Platform2026x"
            )
        with pytest.raises(FieldErrors) as weak:
            create_operator(session=s, email="third@platform.test", name="x", password="short")
    assert field_keys(taken) == {"email": "field.email_taken"}
    assert field_keys(weak) == {"password": "field.password_short"}
    assert "operator.created" in platform_actions()
