"""Patient self-registration and the patient's own profile (prm_saas.accounts.patients)."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import func, select

from prm_saas.accounts.auth import login_patient, resolve_session
from prm_saas.accounts.credentials import verify_password
from prm_saas.accounts.models import Patient, PrincipalKind, Sex, UserSession
from prm_saas.accounts.patients import Registration, my_profile, register_patient, set_my_locale
from prm_saas.audit.models import AuditEvent
from tenants.db import tenant_session
from tenants.errors import FieldErrors, NotFound, PermissionDenied, TenantReadOnly
from tenants.models import TenantStatus
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.factories import World, make_patient, make_tenant

GOOD = "Health2024go"


def register(tenant: TenantInfo, **kw: Any) -> Registration:
    fields: dict[str, Any] = {
        "name": "王小明",
        "phone": "13912345678",
        "password": GOOD,
        "password_confirm": GOOD,
    }
    fields.update(kw)
    with tenant_session(tenant.id) as s:
        return register_patient(session=s, ip="10.1.1.1", **fields)


def errors_of(tenant: TenantInfo, **kw: Any) -> dict[str, str]:
    """The field -> message key map a failed registration raises."""
    with pytest.raises(FieldErrors) as exc:
        register(tenant, **kw)
    assert exc.value.key == "error.invalid_input"
    return {f: k for f, (k, _p) in exc.value.errors.items()}


def counts(tenant: TenantInfo) -> tuple[int, int, int]:
    """Patients, sessions and audit rows of ``tenant``."""
    with tenant_session(tenant.id) as s:
        return (
            s.exec(select(func.count()).select_from(Patient)).one(),
            s.exec(select(func.count()).select_from(UserSession)).one(),
            s.exec(select(func.count()).select_from(AuditEvent)).one(),
        )


# --- success ----------------------------------------------------------------------------


def test_registration_writes_patient_session_and_audit_and_signs_in(world: World) -> None:
    before = counts(world.a)

    reg = register(
        world.a,
        phone="139 1234 5678",
        email="Wang@Example.CN",
        sex="male",
        birth_date="1990-05-17",
        locale="en-US",
    )

    # Two audit rows: the registration and the member card it issued (policy default).
    assert counts(world.a) == (before[0] + 1, before[1] + 1, before[2] + 2)
    with tenant_session(world.a.id) as s:
        p = s.exec(select(Patient).where(Patient.id == reg.principal.id)).one()
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "patient.registered")).one()
        assert resolve_session(session=s, token=reg.token, kind=PrincipalKind.PATIENT) == (
            reg.principal
        )
    assert (p.name, p.phone, p.email, p.sex, p.birth_date, p.locale) == (
        "王小明",
        "+8613912345678",
        "wang@example.cn",
        Sex.MALE,
        date(1990, 5, 17),
        "en",
    )
    assert p.tenant_id == world.a.id
    assert p.password_hash
    assert GOOD not in p.password_hash
    assert verify_password(p.password_hash, GOOD)
    assert (ev.action, ev.actor_kind, ev.actor_id, ev.target_type, ev.target_id, ev.ip) == (
        "patient.registered",
        "patient",
        p.id,
        "patient",
        str(p.id),
        "10.1.1.1",
    )
    assert reg.principal.tenant_id == world.a.id
    assert reg.principal.kind == PrincipalKind.PATIENT


def test_registration_with_email_only(world: World) -> None:
    reg = register(world.a, phone="", email="only-mail@example.cn")

    with tenant_session(world.a.id) as s:
        p = s.exec(select(Patient).where(Patient.id == reg.principal.id)).one()
        out = login_patient(session=s, identifier="only-mail@example.cn", password=GOOD)
    assert p.phone is None
    assert p.email == "only-mail@example.cn"
    assert out.principal == reg.principal


def test_a_registered_patient_can_sign_in_with_the_new_password(world: World) -> None:
    reg = register(world.a)
    with tenant_session(world.a.id) as s:
        out = login_patient(session=s, identifier="+86 139 1234 5678", password=GOOD)
    assert out.principal == reg.principal


def test_the_same_person_registers_separately_in_another_tenant(world: World) -> None:
    # Given a patient registered in tenant A with a phone and an email
    a = register(world.a, email="same@example.cn")

    # When the same person registers in tenant B with the same phone and email
    b = register(world.b, email="same@example.cn")

    # Then B has its own record, and each tenant's sign-in finds its own
    assert a.principal.id != b.principal.id
    assert (a.principal.tenant_id, b.principal.tenant_id) == (world.a.id, world.b.id)
    with tenant_session(world.b.id) as s:
        assert (
            s.exec(
                select(func.count()).select_from(Patient).where(Patient.phone == "+8613912345678")
            ).one()
            == 1
        )


def test_missing_sex_and_birth_date_are_fine(world: World) -> None:
    reg = register(world.a, sex="", birth_date="  ")
    with tenant_session(world.a.id) as s:
        p = s.exec(select(Patient).where(Patient.id == reg.principal.id)).one()
    assert (p.sex, p.birth_date, p.locale) == (Sex.UNKNOWN, None, None)


# --- failures ---------------------------------------------------------------------------


@pytest.mark.parametrize("phone", ["13800000001", "+86 138 0000 0001", "0086-138-0000-0001"])
def test_duplicate_phone_in_the_tenant_is_refused(world: World, phone: str) -> None:
    assert errors_of(world.a, phone=phone) == {"phone": "field.phone_taken"}


@pytest.mark.parametrize("email", ["p@a.test", " P@A.TEST "])
def test_duplicate_email_in_the_tenant_is_refused(world: World, email: str) -> None:
    assert errors_of(world.a, phone="", email=email) == {"email": "field.email_taken"}


def test_phone_and_email_both_taken_are_both_reported(world: World) -> None:
    assert errors_of(world.a, phone="13800000001", email="p@a.test") == {
        "phone": "field.phone_taken",
        "email": "field.email_taken",
    }


def test_phone_taken_only_in_another_tenant_is_free_here(world: World) -> None:
    make_patient(world.b, phone="+8613711112222")
    assert register(world.a, phone="13711112222").principal.tenant_id == world.a.id


@pytest.mark.parametrize(
    ("password", "key", "params"),
    [
        ("Ab1", "field.password_short", {"min": 8}),
        ("", "field.password_short", {"min": 8}),
        ("abcdefghijk", "field.password_weak", {}),
        ("1234567890", "field.password_weak", {}),
        ("Password123", "field.password_weak", {}),
        ("woaini1314", "field.password_weak", {}),
        ("Xx" + "a1" * 64, "field.too_long", {"max": 128}),
        ("my13912345678pw", "field.password_personal", {}),
        ("wangxiaoming88!", "field.password_personal", {}),
    ],
)
def test_weak_passwords_are_refused(
    world: World, password: str, key: str, params: dict[str, Any]
) -> None:
    with pytest.raises(FieldErrors) as exc:
        register(
            world.a, email="wangxiaoming88@example.cn", password=password, password_confirm=password
        )
    assert exc.value.errors == {"password": (key, params)}


def test_password_confirmation_must_match(world: World) -> None:
    assert errors_of(world.a, password_confirm=GOOD + "x") == {
        "password_confirm": "field.password_mismatch"
    }


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"phone": "12345"}, {"phone": "field.phone_invalid"}),
        ({"phone": "+86 123 4567 8901"}, {"phone": "field.phone_invalid"}),
        ({"phone": "1391234567a"}, {"phone": "field.phone_invalid"}),
        ({"phone": "", "email": "not-an-email"}, {"email": "field.email_invalid"}),
        ({"phone": "", "email": "a@b"}, {"email": "field.email_invalid"}),
        ({"phone": "", "email": "a\x00b@example.cn"}, {"email": "field.email_invalid"}),
        ({"phone": " ", "email": " "}, {"phone": "field.phone_or_email"}),
        ({"name": "  "}, {"name": "field.required"}),
        ({"name": "名" * 81}, {"name": "field.too_long"}),
        ({"sex": "other"}, {"sex": "field.choice_invalid"}),
        ({"birth_date": "1990-13-01"}, {"birth_date": "field.date_invalid"}),
        ({"birth_date": "17/05/1990"}, {"birth_date": "field.date_invalid"}),
        ({"birth_date": "0001-01-01"}, {"birth_date": "field.date_invalid"}),
        (
            {"birth_date": (utcnow().date() + timedelta(days=2)).isoformat()},
            {"birth_date": "field.birth_date_future"},
        ),
    ],
)
def test_invalid_fields_are_reported(
    world: World, kw: dict[str, Any], expected: dict[str, str]
) -> None:
    assert errors_of(world.a, **kw) == expected


def test_every_problem_is_reported_at_once(world: World) -> None:
    got = errors_of(
        world.a,
        name="",
        phone="123",
        email="bad",
        password="short",
        password_confirm="other",
        sex="x",
        birth_date="yesterday",
    )
    assert got == {
        "name": "field.required",
        "phone": "field.phone_invalid",
        "email": "field.email_invalid",
        "password": "field.password_short",
        "password_confirm": "field.password_mismatch",
        "sex": "field.choice_invalid",
        "birth_date": "field.date_invalid",
    }


def test_a_failed_registration_writes_nothing(world: World) -> None:
    before = counts(world.a)

    errors_of(world.a, phone="13800000001")  # taken
    errors_of(world.a, password="weak")

    assert counts(world.a) == before
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Patient).where(Patient.phone == "+8613912345678")).first() is None


def test_registration_in_a_suspended_tenant_is_refused_and_writes_nothing(world: World) -> None:
    t = make_tenant("paused", status=TenantStatus.SUSPENDED)

    with pytest.raises(TenantReadOnly):
        register(t)

    assert counts(t) == (0, 0, 0)


# --- own profile ------------------------------------------------------------------------


def test_my_profile_and_locale(world: World) -> None:
    with tenant_session(world.a.id) as s:
        me = my_profile(session=s, actor=world.patient_a)
        set_my_locale(session=s, actor=world.patient_a, locale="en")
    with tenant_session(world.a.id) as s:
        loc = s.exec(select(Patient.locale).where(Patient.id == world.patient_a.id)).one()
    assert (me.id, me.phone, me.email) == (world.patient_a.id, "+8613800000001", "p@a.test")
    assert loc == "en"


def test_profile_is_only_for_patients_of_this_tenant(world: World) -> None:
    with tenant_session(world.a.id) as s:
        with pytest.raises(PermissionDenied):
            my_profile(session=s, actor=world.staff_a)
        with pytest.raises(NotFound):
            my_profile(session=s, actor=world.patient_b)
        with pytest.raises(NotFound):
            set_my_locale(session=s, actor=world.patient_b, locale="en")
        with pytest.raises(FieldErrors):
            set_my_locale(session=s, actor=world.patient_a, locale="fr")


@pytest.mark.postgres_only
def test_two_registrations_racing_for_one_phone_give_one_patient_and_a_field_error(
    world: World,
) -> None:
    # Given a registration that has inserted but not yet committed
    started = threading.Event()
    outcome: dict[str, object] = {}

    def second() -> None:
        started.wait(5)
        try:
            register(world.a, email="late@example.cn")
            outcome["second"] = "ok"
        except FieldErrors as exc:
            outcome["second"] = exc.errors

    t = threading.Thread(target=second)
    t.start()
    with tenant_session(world.a.id) as s:
        register_patient(
            session=s, name="先到", phone="13912345678", password=GOOD, password_confirm=GOOD
        )
        started.set()
        t.join(0.5)  # the second insert waits on the unique index
    t.join(10)

    # Then the second one is told the phone is taken, and only one row exists
    assert outcome == {"second": {"phone": ("field.phone_taken", {})}}
    with tenant_session(world.a.id) as s:
        assert (
            s.exec(
                select(func.count()).select_from(Patient).where(Patient.phone == "+8613912345678")
            ).one()
            == 1
        )
