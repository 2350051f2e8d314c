"""Self-serve sign-up (prm_saas.billing.signup): a tenant in trial, its admin able
to sign in at once, its starting setup; every bad input refused with a message
in both languages and nothing written; sign-ups throttled per address."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from prm_saas.accounts.auth import login_staff
from prm_saas.accounts.models import AccountStatus, StaffMember, StaffRole
from prm_saas.audit.models import AuditEvent, PlatformAuditEvent
from prm_saas.billing.models import TenantBilling
from prm_saas.billing.provisioning import SAMPLE_PREFIX, remove_samples
from prm_saas.billing.signup import MAX_PER_WINDOW, sign_up_and_bill
from prm_saas.booking.models import Location, LocationHours
from prm_saas.i18n import translate
from prm_saas.mall.models import HealthPackage
from prm_saas.mall.storefront import published_packages
from prm_saas.messaging.models import MessagingSettings
from prm_saas.messaging.templates import list_templates
from prm_saas.platform.billing import save_plan
from prm_saas.platform.models import TenantSubscription
from prm_saas.settings import get_settings
from tenants.db import platform_session, tenant_session
from tenants.errors import DomainError, FieldErrors
from tenants.models import Tenant, TenantKind, TenantStatus
from tenants.resolution import tenant_by_slug
from tenants.types import utcnow
from tests.billing_signup.helpers import PASSWORD, do_sign_up, fields, plan, platform_counts
from tests.factories import World
from tests.localstripe import run_localstripe


@pytest.fixture
def basic(world: World) -> int:
    return plan(world.operator, "basic", "999", trial_days="14", max_staff="5").id


def field_keys(exc: pytest.ExceptionInfo[FieldErrors]) -> dict[str, str]:
    return {f: k for f, (k, _p) in exc.value.errors.items()}


def both_languages(key: str, **params: Any) -> tuple[str, str]:
    zh, en = translate(key, "zh-CN", **params), translate(key, "en", **params)
    assert zh != key
    assert en != key
    assert zh != en
    return zh, en


# --- the happy path ----------------------------------------------------------------------


def test_sign_up_opens_a_trial_with_an_admin_who_can_sign_in(world: World, basic: int) -> None:
    now = utcnow()
    result = do_sign_up(basic, slug=" ChenXi ", now=now)

    assert result.slug == "chenxi"
    assert result.admin_email == "boss@chenxi.test"
    assert result.plan_code == "basic"
    assert result.trial_ends_at == now + timedelta(days=14)
    with platform_session() as s:
        tenant = s.exec(select(Tenant).where(Tenant.slug == "chenxi")).one()
        billing = s.exec(
            select(TenantBilling).where(TenantBilling.subject_tenant_id == tenant.id)
        ).one()
        sub = s.exec(
            select(TenantSubscription).where(TenantSubscription.subject_tenant_id == tenant.id)
        ).one()
        audit = s.exec(
            select(PlatformAuditEvent).where(PlatformAuditEvent.subject_tenant_id == tenant.id)
        ).all()
    assert tenant.id == result.tenant_id
    assert tenant.status == TenantStatus.TRIAL
    assert tenant.kind == TenantKind.CHECKUP_CENTER
    assert tenant.default_locale == "zh-CN"
    assert billing.trial_ends_at == now + timedelta(days=14)
    assert billing.billing_email == "boss@chenxi.test"
    assert (sub.plan_id, sub.ended_at, sub.monthly_fen) == (basic, None, 99900)
    assert "tenant.signed_up" in [a.action for a in audit]
    assert tenant_by_slug("chenxi") is not None

    with tenant_session(result.tenant_id) as s:
        admin = s.exec(select(StaffMember)).one()
        outcome = login_staff(session=s, email="boss@chenxi.test", password=PASSWORD)
    assert (admin.role, admin.status) == (StaffRole.TENANT_ADMIN, AccountStatus.ACTIVE)
    assert outcome.ok
    assert outcome.principal is not None
    assert outcome.principal.tenant_id == result.tenant_id


def test_sign_up_provisions_a_location_samples_templates_and_quiet_hours(
    world: World, basic: int
) -> None:
    result = do_sign_up(basic, locale="en", timezone="Europe/Berlin")

    with tenant_session(result.tenant_id) as s:
        locations = s.exec(select(Location)).all()
        hours = s.exec(select(LocationHours).order_by(col(LocationHours.weekday))).all()
        packages = s.exec(select(HealthPackage).order_by(col(HealthPackage.id))).all()
        shelf = published_packages(session=s, location_id=result.location_id)
        settings = s.exec(select(MessagingSettings)).one()
        admin = s.exec(select(StaffMember)).one()
        from prm_saas.accounts.auth import staff_principal

        templates = list_templates(session=s, actor=staff_principal(admin))
        actions = {a.action for a in s.exec(select(AuditEvent)).all()}
    assert [loc.id for loc in locations] == [result.location_id]
    assert (locations[0].name_zh, locations[0].name_en) == ("总院", "Main site")
    assert [h.weekday for h in hours] == [0, 1, 2, 3, 4, 5]
    assert {(h.start, h.end) for h in hours} == {("07:30", "11:30")}
    assert [p.id for p in packages] == result.package_ids
    assert len(packages) >= 2
    for p in packages:
        assert p.published
        assert p.code.startswith(SAMPLE_PREFIX)
        assert p.name_zh.startswith("【示例】")
        assert p.name_en.startswith("[Sample]")
    assert {c.id for c in shelf} == set(result.package_ids)
    assert (settings.quiet_start, settings.quiet_end) == ("21:00", "08:00")
    assert settings.email_from_name == "晨曦健康体检中心"
    assert templates
    assert all(t.body for t in templates)
    # The services did the work, as the admin: the tenant's audit log says so.
    assert {"booking.location_create", "mall.package_published", "tenant.signed_up"} <= actions


def test_the_admin_removes_the_samples_and_keeps_their_own(world: World, basic: int) -> None:
    result = do_sign_up(basic)
    with tenant_session(result.tenant_id) as s:
        from prm_saas.accounts.auth import staff_principal

        admin = staff_principal(s.exec(select(StaffMember)).one())
        own = HealthPackage(
            code="OWN-1", name_zh="自有套餐", list_price_fen=100, sale_price_fen=100
        )
        s.add(own)
    with tenant_session(result.tenant_id) as s:
        removed = remove_samples(session=s, actor=admin)
    with tenant_session(result.tenant_id) as s:
        codes = [p.code for p in s.exec(select(HealthPackage))]
    assert set(removed.deleted) >= {"SAMPLE-BASIC", "SAMPLE-PLUS"}
    assert codes == ["OWN-1"]


def test_another_tenant_may_not_remove_samples(world: World, basic: int) -> None:
    result = do_sign_up(basic)
    with tenant_session(result.tenant_id) as s, pytest.raises(DomainError) as exc:
        remove_samples(session=s, actor=world.admin_a)
    assert exc.value.key == "error.not_found"
    with tenant_session(result.tenant_id) as s:
        assert len(s.exec(select(HealthPackage)).all()) == len(result.package_ids)


def test_sign_up_and_bill_commits_even_without_stripe(
    world: World, basic: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stripe down: nothing answers where the settings point (the test command
    # configures a running localstripe for every test, so this one moves it away)
    monkeypatch.setenv("PRM_STRIPE_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_nowhere")
    get_settings.cache_clear()
    try:
        result = sign_up_and_bill(plan_id=basic, **fields())
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert not result.stripe_ready
    with platform_session() as s:
        assert s.get(Tenant, result.tenant_id) is not None
        billing = s.exec(
            select(TenantBilling).where(TenantBilling.subject_tenant_id == result.tenant_id)
        ).one()
    assert billing.stripe_customer_id == ""  # the cycle opens it once Stripe answers


@pytest.fixture
def localstripe() -> Iterator[str]:
    with run_localstripe() as base:
        yield base


def test_sign_up_and_bill_creates_the_stripe_customer(
    world: World, basic: int, localstripe: str
) -> None:
    result = sign_up_and_bill(plan_id=basic, **fields())
    assert result.stripe_ready
    with platform_session() as s:
        billing = s.exec(
            select(TenantBilling).where(TenantBilling.subject_tenant_id == result.tenant_id)
        ).one()
        tenant = s.get(Tenant, result.tenant_id)
    assert billing.stripe_customer_id.startswith("cus_")
    assert billing.stripe_subscription_id
    assert tenant is not None
    assert tenant.status == TenantStatus.TRIAL


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("over", "field", "key"),
    [
        ({"slug": "clinic-a"}, "slug", "signup.slug_taken"),
        ({"slug": "CLINIC-A"}, "slug", "signup.slug_taken"),
        ({"slug": "admin"}, "slug", "field.slug_reserved"),
        ({"slug": "billing"}, "slug", "field.slug_reserved"),
        ({"slug": "ab"}, "slug", "field.slug_invalid"),
        ({"slug": "bad_slug!"}, "slug", "field.slug_invalid"),
        ({"slug": "-lead"}, "slug", "field.slug_invalid"),
        ({"slug": 42}, "slug", "field.slug_invalid"),
        ({"admin_password": "short1"}, "admin_password", "field.password_short"),
        ({"admin_password": "onlyletters"}, "admin_password", "field.password_weak"),
        ({"admin_password": "password123"}, "admin_password", "field.password_weak"),
        ({"admin_password": "boss12345x"}, "admin_password", "field.password_personal"),
        ({"admin_password": ""}, "admin_password", "field.password_short"),
        ({"admin_email": "not-an-email"}, "admin_email", "field.email_invalid"),
        ({"admin_email": ""}, "admin_email", "field.required"),
        ({"admin_name": "  "}, "admin_name", "field.required"),
        ({"name": ""}, "name", "field.required"),
        ({"name": ["x"]}, "name", "field.required"),
        ({"name": "诊" * 121}, "name", "field.too_long"),
        ({"kind": "hospital"}, "kind", "field.choice_invalid"),
        ({"locale": "fr"}, "default_locale", "field.locale_invalid"),
        ({"timezone": "Mars/Olympus"}, "timezone", "field.timezone_invalid"),
        ({"timezone": "localtime"}, "timezone", "field.timezone_invalid"),
    ],
)
def test_bad_input_is_refused_in_both_languages_and_nothing_is_written(
    world: World, basic: int, over: dict[str, Any], field: str, key: str
) -> None:
    before = platform_counts()
    with pytest.raises(FieldErrors) as exc:
        do_sign_up(basic, **over)
    assert field_keys(exc)[field] == key
    params = exc.value.errors[field][1]
    zh, en = both_languages(key, **params)
    if key == "signup.slug_taken":
        assert "clinic-a" in zh
        assert "clinic-a" in en
    assert platform_counts() == before


@pytest.mark.parametrize("plan_id", [999_999, True, False, "1", None, 1.0])
def test_an_unknown_plan_or_a_plan_id_of_the_wrong_type_is_refused(
    world: World, basic: int, plan_id: object
) -> None:
    before = platform_counts()
    with pytest.raises(FieldErrors) as exc:
        do_sign_up(plan_id)
    assert field_keys(exc) == {"plan_id": "signup.plan_unavailable"}
    both_languages("signup.plan_unavailable")
    assert platform_counts() == before


def test_a_plan_no_longer_on_sale_is_refused(world: World, basic: int) -> None:
    with platform_session() as s:
        save_plan(
            session=s,
            actor=world.operator,
            plan_id=basic,
            code="basic",
            name_zh="基础版",
            name_en="Basic",
            monthly_yuan="999",
            active=False,
        )
    before = platform_counts()
    with pytest.raises(FieldErrors) as exc:
        do_sign_up(basic)
    assert field_keys(exc) == {"plan_id": "signup.plan_unavailable"}
    assert platform_counts() == before


def test_every_problem_is_reported_at_once(world: World, basic: int) -> None:
    with pytest.raises(FieldErrors) as exc:
        do_sign_up(999_999, slug="center-b", admin_password="abc", kind="x", locale="de")
    assert field_keys(exc) == {
        "slug": "signup.slug_taken",
        "admin_password": "field.password_short",
        "kind": "field.choice_invalid",
        "default_locale": "field.locale_invalid",
        "plan_id": "signup.plan_unavailable",
    }


def test_sign_up_needs_a_platform_session(world: World, basic: int) -> None:
    from prm_saas.billing.signup import sign_up
    from tenants.errors import CrossTenantWrite

    with tenant_session(world.a.id) as s, pytest.raises(CrossTenantWrite):
        sign_up(session=s, plan_id=basic, **fields())


# --- throttling --------------------------------------------------------------------------


def test_sign_ups_are_throttled_per_address(world: World, basic: int) -> None:
    now = utcnow()
    for i in range(MAX_PER_WINDOW):
        do_sign_up(basic, slug=f"clinic-{i}x", admin_email=f"a{i}@x.test", now=now)
    before = platform_counts()
    with pytest.raises(DomainError) as exc:
        do_sign_up(basic, slug="one-more", admin_email="z@x.test", now=now + timedelta(minutes=1))
    assert exc.value.key == "signup.throttled"
    assert exc.value.params["minutes"] == 60
    zh, en = both_languages("signup.throttled", **exc.value.params)
    assert "60" in zh
    assert "60" in en
    assert platform_counts() == before

    # Another address is not held up; this one is free again after the hour.
    do_sign_up(basic, slug="other-ip", admin_email="o@x.test", ip="198.51.100.9", now=now)
    do_sign_up(basic, slug="one-more", admin_email="z@x.test", now=now + timedelta(minutes=61))


def test_failed_sign_ups_do_not_count_against_the_address(world: World, basic: int) -> None:
    now = utcnow()
    for _ in range(MAX_PER_WINDOW + 2):
        with pytest.raises(FieldErrors):
            do_sign_up(basic, slug="clinic-a", now=now)
    result = do_sign_up(basic, now=now)
    assert result.slug == "chenxi"
