"""Tenant settings edited by the tenant's admins (prm_saas.organization.services)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from sqlmodel import col, select

from prm_saas.accounts.authz import Principal
from prm_saas.accounts.credentials import decrypt_secret
from prm_saas.accounts.models import TenantSsoConfig
from prm_saas.audit.models import AuditEvent
from prm_saas.organization.services import (
    get_tenant_settings,
    update_branding,
    update_regional,
    update_sso,
)
from tenants.db import platform_session, tenant_session
from tenants.errors import FieldErrors, NotFound, PermissionDenied, TenantReadOnly
from tenants.models import Tenant, TenantStatus
from tenants.resolution import TenantInfo, tenant_by_slug
from tests.factories import World, change_status, make_admin, make_tenant

SECRET = "s3cr3t-client-secret-value"


def branding(tenant: TenantInfo, actor: Principal, **kw: Any) -> None:
    fields = {"name": "阳光社区诊所", "logo_url": "", "primary_color": "#0f766e"}
    fields.update(kw)
    with tenant_session(tenant.id) as s:
        update_branding(session=s, actor=actor, ip="10.6.6.6", **fields)


def sso(tenant: TenantInfo, actor: Principal, **kw: Any) -> None:
    fields: dict[str, Any] = {
        "enabled": True,
        "issuer": "https://idp.example.cn/realms/a/",
        "client_id": "prm",
        "client_secret": SECRET,
    }
    fields.update(kw)
    with tenant_session(tenant.id) as s:
        update_sso(session=s, actor=actor, **fields)


def field_keys(exc: pytest.ExceptionInfo[FieldErrors]) -> dict[str, str]:
    return {f: k for f, (k, _p) in exc.value.errors.items()}


def audit(tenant: TenantInfo) -> list[AuditEvent]:
    with tenant_session(tenant.id) as s:
        return list(s.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all())


def tenant_row(tenant: TenantInfo) -> Tenant:
    with platform_session() as s:
        t = s.get(Tenant, tenant.id)
        assert t is not None
        return t


# --- reading ----------------------------------------------------------------------------


def test_admin_reads_the_settings_of_their_tenant(world: World) -> None:
    with tenant_session(world.a.id) as s:
        view = get_tenant_settings(session=s, actor=world.admin_a)
    assert (view.slug, view.name, view.kind, view.status, view.timezone, view.default_locale) == (
        "clinic-a",
        "阳光社区诊所",
        "clinic",
        "active",
        "Asia/Shanghai",
        "zh-CN",
    )
    assert (view.sso_enabled, view.sso_issuer, view.sso_client_id, view.sso_has_secret) == (
        False,
        "",
        "",
        False,
    )


def test_settings_need_settings_manage_in_this_tenant(world: World) -> None:
    with tenant_session(world.a.id) as s:
        for who in (world.staff_a, world.patient_a):
            with pytest.raises(PermissionDenied):
                get_tenant_settings(session=s, actor=who)
            with pytest.raises(PermissionDenied):
                update_branding(
                    session=s, actor=who, name="x", logo_url="", primary_color="#000000"
                )
            with pytest.raises(PermissionDenied):
                update_regional(session=s, actor=who, timezone="UTC", default_locale="en")
            with pytest.raises(PermissionDenied):
                update_sso(session=s, actor=who, enabled=False, issuer="", client_id="")
        for who in (world.admin_b, world.operator):
            with pytest.raises(NotFound):
                get_tenant_settings(session=s, actor=who)
            with pytest.raises(NotFound):
                update_branding(
                    session=s, actor=who, name="hijacked", logo_url="", primary_color="#000000"
                )
            with pytest.raises(NotFound):
                update_sso(
                    session=s,
                    actor=who,
                    enabled=True,
                    issuer="https://evil.example",
                    client_id="x",
                    client_secret="y",
                )
    assert tenant_row(world.a).name == "阳光社区诊所"
    assert audit(world.a) == []


# --- branding ---------------------------------------------------------------------------


def test_branding_is_changed_audited_with_a_diff_and_visible_at_once(world: World) -> None:
    assert tenant_by_slug("clinic-a") is not None  # cached before the change

    branding(
        world.a,
        world.admin_a,
        name="  阳光诊所  ",
        logo_url="https://cdn.example.cn/logo.png",
        primary_color="#1D4ED8",
    )

    t = tenant_row(world.a)
    assert (t.name, t.logo_url, t.primary_color) == (
        "阳光诊所",
        "https://cdn.example.cn/logo.png",
        "#1d4ed8",
    )
    info = tenant_by_slug("clinic-a")
    assert info is not None
    assert info.name == "阳光诊所"
    assert info.primary_color == "#1d4ed8"
    (ev,) = audit(world.a)
    assert (ev.action, ev.actor_id, ev.target_type, ev.target_id, ev.ip) == (
        "tenant.branding_changed",
        world.admin_a.id,
        "tenant",
        str(world.a.id),
        "10.6.6.6",
    )
    assert json.loads(ev.details) == {
        "name": {"from": "阳光社区诊所", "to": "阳光诊所"},
        "logo_url": {"from": "", "to": "https://cdn.example.cn/logo.png"},
        "primary_color": {"from": "#0f766e", "to": "#1d4ed8"},
    }
    assert tenant_row(world.b).name == "康健体检中心"


def test_saving_unchanged_branding_records_nothing(world: World) -> None:
    branding(world.a, world.admin_a)
    assert audit(world.a) == []


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"primary_color": "red"}, {"primary_color": "field.color_invalid"}),
        ({"primary_color": "#12345"}, {"primary_color": "field.color_invalid"}),
        ({"primary_color": "#12345g"}, {"primary_color": "field.color_invalid"}),
        ({"primary_color": ""}, {"primary_color": "field.color_invalid"}),
        ({"logo_url": "http://cdn.example.cn/logo.png"}, {"logo_url": "field.url_invalid"}),
        ({"logo_url": "javascript:alert(1)"}, {"logo_url": "field.url_invalid"}),
        ({"logo_url": "https://"}, {"logo_url": "field.url_invalid"}),
        ({"logo_url": "https:///logo.png"}, {"logo_url": "field.url_invalid"}),
        ({"logo_url": "https://cdn.example.cn/a b.png"}, {"logo_url": "field.url_invalid"}),
        ({"logo_url": "https://x.cn/" + "a" * 500}, {"logo_url": "field.url_invalid"}),
        ({"name": ""}, {"name": "field.required"}),
        ({"name": "名" * 121}, {"name": "field.too_long"}),
    ],
)
def test_bad_branding_is_refused(
    world: World, kw: dict[str, str], expected: dict[str, str]
) -> None:
    with pytest.raises(FieldErrors) as exc:
        branding(world.a, world.admin_a, **kw)
    assert field_keys(exc) == expected
    assert tenant_row(world.a).primary_color == "#0f766e"
    assert audit(world.a) == []


def test_control_characters_do_not_reach_the_tenant_name(world: World) -> None:
    branding(world.a, world.admin_a, name="阳光\x00诊所")
    assert tenant_row(world.a).name == "阳光诊所"


# --- regional ---------------------------------------------------------------------------


def test_regional_settings_are_changed_and_audited(world: World) -> None:
    with tenant_session(world.a.id) as s:
        update_regional(session=s, actor=world.admin_a, timezone="Asia/Urumqi", default_locale="en")
    t = tenant_row(world.a)
    assert (t.timezone, t.default_locale) == ("Asia/Urumqi", "en")
    (ev,) = audit(world.a)
    assert ev.action == "tenant.regional_changed"
    assert json.loads(ev.details) == {
        "timezone": {"from": "Asia/Shanghai", "to": "Asia/Urumqi"},
        "default_locale": {"from": "zh-CN", "to": "en"},
    }


@pytest.mark.parametrize(
    ("tz", "locale", "expected"),
    [
        ("Mars/Olympus", "en", {"timezone": "field.timezone_invalid"}),
        ("", "en", {"timezone": "field.timezone_invalid"}),
        ("localtime", "en", {"timezone": "field.timezone_invalid"}),
        ("Factory", "en", {"timezone": "field.timezone_invalid"}),
        ("Asia/Shanghai", "fr", {"default_locale": "field.locale_invalid"}),
        ("Asia/Shanghai", "", {"default_locale": "field.locale_invalid"}),
        (
            "nowhere",
            "xx",
            {"timezone": "field.timezone_invalid", "default_locale": "field.locale_invalid"},
        ),
    ],
)
def test_bad_regional_settings_are_refused(
    world: World, tz: str, locale: str, expected: dict[str, str]
) -> None:
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as exc:
        update_regional(session=s, actor=world.admin_a, timezone=tz, default_locale=locale)
    assert field_keys(exc) == expected
    assert tenant_row(world.a).timezone == "Asia/Shanghai"


# --- single sign-on ------------------------------------------------------------------------------


def test_sso_secret_is_encrypted_at_rest_and_never_returned(world: World) -> None:
    sso(world.a, world.admin_a)

    with tenant_session(world.a.id) as s:
        row = s.exec(select(TenantSsoConfig)).one()
        view = get_tenant_settings(session=s, actor=world.admin_a)
    assert row.client_secret_enc
    assert SECRET not in row.client_secret_enc
    assert decrypt_secret(row.client_secret_enc) == SECRET
    assert (row.enabled, row.issuer, row.client_id) == (
        True,
        "https://idp.example.cn/realms/a",
        "prm",
    )
    assert (view.sso_enabled, view.sso_issuer, view.sso_client_id, view.sso_has_secret) == (
        True,
        "https://idp.example.cn/realms/a",
        "prm",
        True,
    )
    shown = json.dumps(dataclasses.asdict(view))
    assert SECRET not in shown
    assert row.client_secret_enc not in shown


def test_sso_audit_masks_the_secret(world: World) -> None:
    sso(world.a, world.admin_a)
    sso(world.a, world.admin_a, client_secret="a-brand-new-secret")

    first, second = audit(world.a)
    with tenant_session(world.a.id) as s:
        stored = s.exec(select(TenantSsoConfig.client_secret_enc)).one()
    for ev in (first, second):
        assert ev.action == "tenant.sso_changed"
        assert SECRET not in ev.details
        assert "a-brand-new-secret" not in ev.details
        assert stored not in ev.details
    assert json.loads(first.details) == {
        "enabled": {"from": False, "to": True},
        "issuer": {"from": "", "to": "https://idp.example.cn/realms/a"},
        "client_id": {"from": "", "to": "prm"},
        "client_secret_enc": {"from": "***", "to": "***"},
    }
    assert json.loads(second.details) == {"client_secret_enc": {"from": "***", "to": "***"}}


def test_an_empty_secret_keeps_the_stored_one(world: World) -> None:
    sso(world.a, world.admin_a)
    with tenant_session(world.a.id) as s:
        before = s.exec(select(TenantSsoConfig.client_secret_enc)).one()

    sso(world.a, world.admin_a, client_secret="", client_id="prm-2")

    with tenant_session(world.a.id) as s:
        row = s.exec(select(TenantSsoConfig)).one()
    assert row.client_secret_enc == before
    assert decrypt_secret(row.client_secret_enc) == SECRET
    assert row.client_id == "prm-2"
    assert json.loads(audit(world.a)[-1].details) == {"client_id": {"from": "prm", "to": "prm-2"}}


def test_saving_the_same_sso_settings_again_records_nothing(world: World) -> None:
    sso(world.a, world.admin_a)
    sso(world.a, world.admin_a)  # the form re-sends the same secret
    sso(world.a, world.admin_a, client_secret="")
    assert len(audit(world.a)) == 1


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"issuer": ""}, {"sso_issuer": "field.required"}),
        ({"client_id": " "}, {"sso_client_id": "field.required"}),
        ({"client_secret": ""}, {"sso_client_secret": "field.required"}),
        ({"issuer": "http://idp.example.cn"}, {"sso_issuer": "field.url_invalid"}),
        ({"client_secret": "x" * 501}, {"sso_client_secret": "field.too_long"}),
        (
            {"issuer": "", "client_id": "", "client_secret": ""},
            {
                "sso_issuer": "field.required",
                "sso_client_id": "field.required",
                "sso_client_secret": "field.required",
            },
        ),
    ],
)
def test_enabled_sso_needs_issuer_client_and_secret(
    world: World, kw: dict[str, str], expected: dict[str, str]
) -> None:
    with pytest.raises(FieldErrors) as exc:
        sso(world.a, world.admin_a, **kw)
    assert field_keys(exc) == expected
    with tenant_session(world.a.id) as s:
        assert s.exec(select(TenantSsoConfig)).first() is None


def test_a_local_test_idp_may_use_http(world: World) -> None:
    sso(world.a, world.admin_a, issuer="http://127.0.0.1:9000/")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(TenantSsoConfig.issuer)).one() == "http://127.0.0.1:9000"


def test_disabled_sso_may_be_left_empty_and_keeps_the_secret(world: World) -> None:
    sso(world.a, world.admin_a)
    sso(world.a, world.admin_a, enabled=False, client_secret="")
    with tenant_session(world.a.id) as s:
        row = s.exec(select(TenantSsoConfig)).one()
    assert not row.enabled
    assert decrypt_secret(row.client_secret_enc) == SECRET
    admin_c = make_admin(make_tenant("empty-sso"))
    with tenant_session(admin_c.tenant_id) as s:
        update_sso(session=s, actor=admin_c, enabled=False, issuer="", client_id="")


def test_sso_settings_are_per_tenant(world: World) -> None:
    sso(world.a, world.admin_a)
    with tenant_session(world.b.id) as s:
        view = get_tenant_settings(session=s, actor=world.admin_b)
        assert s.exec(select(TenantSsoConfig)).first() is None
    assert (view.sso_enabled, view.sso_has_secret, view.sso_issuer) == (False, False, "")


# --- suspended tenants ------------------------------------------------------------------


def test_a_suspended_tenant_reads_but_cannot_change_settings(world: World) -> None:
    t = make_tenant("suspended-co")
    admin = make_admin(t)
    t = change_status(t, TenantStatus.SUSPENDED)

    with tenant_session(t.id) as s:
        assert get_tenant_settings(session=s, actor=admin).status == "suspended"
    with pytest.raises(TenantReadOnly):
        branding(t, admin, name="Renamed anyway")
    with pytest.raises(TenantReadOnly), tenant_session(t.id) as s:
        update_regional(session=s, actor=admin, timezone="UTC", default_locale="en")
    with pytest.raises(TenantReadOnly):
        sso(t, admin)

    row = tenant_row(t)
    assert (row.name, row.timezone) != ("Renamed anyway", "UTC")
    assert row.timezone == "Asia/Shanghai"
    assert audit(t) == []
