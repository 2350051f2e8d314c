"""The patient changes their own phone and email (prm_saas.accounts.patients.update_my_contact)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

from prm_saas.accounts import patients
from prm_saas.accounts.auth import login_patient
from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import Patient
from prm_saas.accounts.patients import update_my_contact
from prm_saas.audit.models import AuditEvent
from tenants.db import tenant_session
from tenants.errors import FieldErrors, NotFound, PermissionDenied, TenantReadOnly
from tenants.models import TenantStatus
from tenants.resolution import TenantInfo
from tests.factories import PASSWORD, World, change_status, make_patient


def update(tenant: TenantInfo, actor: Principal, **kw: Any) -> Any:
    with tenant_session(tenant.id) as s:
        return update_my_contact(session=s, actor=actor, ip="10.2.2.2", **kw)


def errors_of(tenant: TenantInfo, actor: Principal, **kw: Any) -> dict[str, str]:
    """The field -> message key map of a refused change."""
    with pytest.raises(FieldErrors) as exc:
        update(tenant, actor, **kw)
    return {f: k for f, (k, _p) in exc.value.errors.items()}


def row(tenant: TenantInfo, patient_id: int) -> Patient:
    with tenant_session(tenant.id) as s:
        p = s.exec(select(Patient).where(Patient.id == patient_id)).one()
        s.expunge(p)
        return p


def audit_actions(tenant: TenantInfo) -> list[AuditEvent]:
    with tenant_session(tenant.id) as s:
        rows = s.exec(
            select(AuditEvent).where(AuditEvent.action == "patient.contact_changed")
        ).all()
        for r in rows:
            s.expunge(r)
        return list(rows)


# --- success ----------------------------------------------------------------------------


def test_patient_changes_phone_and_email_normalized_and_audited(world: World) -> None:
    # when the patient types a spaced mobile number and a capitalised email
    out = update(world.a, world.patient_a, phone="138 0013 8000", email=" Lin.Yu@Example.COM ")

    # then both are stored in their normal form
    assert (out.phone, out.email) == ("+8613800138000", "lin.yu@example.com")
    p = row(world.a, world.patient_a.id)
    assert (p.phone, p.email) == ("+8613800138000", "lin.yu@example.com")
    # and the audit log says which fields changed, without their values
    [event] = audit_actions(world.a)
    assert event.actor_id == world.patient_a.id
    assert event.ip == "10.2.2.2"
    assert json.loads(event.details) == {"changed": ["phone", "email"]}
    assert "lin.yu" not in event.details


def test_new_email_signs_in(world: World) -> None:
    # given the patient added an email address
    update(world.a, world.patient_a, phone="", email="new@example.com")
    # when they sign in with it
    with tenant_session(world.a.id) as s:
        out = login_patient(session=s, identifier="new@example.com", password=PASSWORD)
    # then it is their account
    assert out.principal is not None
    assert out.principal.id == world.patient_a.id


def test_patient_may_drop_the_phone_when_an_email_remains(world: World) -> None:
    update(world.a, world.patient_a, phone="", email="only@example.com")
    p = row(world.a, world.patient_a.id)
    assert (p.phone, p.email) == (None, "only@example.com")


def test_saving_unchanged_details_writes_nothing(world: World) -> None:
    # given the patient's current details
    before = row(world.a, world.patient_a.id)
    # when they save them again as they are (the phone typed without +86)
    update(world.a, world.patient_a, phone="13800000001", email=before.email or "")
    # then nothing was written or audited
    assert row(world.a, world.patient_a.id).updated_at == before.updated_at
    assert audit_actions(world.a) == []


def test_contact_of_a_patient_in_another_tenant_is_free_here(world: World) -> None:
    # given tenant B's patient's email address
    b_email = row(world.b, world.patient_b.id).email
    assert b_email
    # when tenant A's patient takes the same address
    update(world.a, world.patient_a, phone="13800000001", email=b_email)
    # then each tenant has it, for its own patient
    assert row(world.a, world.patient_a.id).email == b_email
    assert row(world.b, world.patient_b.id).email == b_email


# --- refused ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "email", "expected"),
    [
        ("12345", "", {"phone": "field.phone_invalid"}),
        ("", "not-an-email", {"email": "field.email_invalid"}),
        ("13800138000", "a@b", {"email": "field.email_invalid"}),
        ("", "", {"phone": "field.phone_or_email"}),
        ("  ", " ", {"phone": "field.phone_or_email"}),
    ],
)
def test_invalid_or_missing_contact_is_refused_and_nothing_is_written(
    world: World, phone: str, email: str, expected: dict[str, str]
) -> None:
    before = row(world.a, world.patient_a.id)
    assert errors_of(world.a, world.patient_a, phone=phone, email=email) == expected
    after = row(world.a, world.patient_a.id)
    assert (after.phone, after.email) == (before.phone, before.email)
    assert audit_actions(world.a) == []


def test_valid_phone_with_invalid_email_is_not_half_written(world: World) -> None:
    before = row(world.a, world.patient_a.id).phone
    errors = errors_of(world.a, world.patient_a, phone="13900009999", email="bad@")
    assert errors == {"email": "field.email_invalid"}
    assert row(world.a, world.patient_a.id).phone == before


def test_phone_or_email_of_another_patient_of_the_tenant_is_refused(world: World) -> None:
    # given another patient of tenant A
    other = make_patient(world.a, phone="+8613700001111", email="taken@example.com")
    # when tenant A's patient tries to take both
    errors = errors_of(world.a, world.patient_a, phone="137 0000 1111", email="TAKEN@example.com")
    # then both are refused and the other patient keeps them
    assert errors == {"phone": "field.phone_taken", "email": "field.email_taken"}
    o = row(world.a, other.id)
    assert (o.phone, o.email) == ("+8613700001111", "taken@example.com")


def test_wrong_tenant_actor_gets_not_found_and_nothing_changes(world: World) -> None:
    # given tenant B's patient's details
    before = row(world.b, world.patient_b.id)
    # when tenant A's patient acts in a session of tenant B
    with pytest.raises(NotFound):
        update(world.b, world.patient_a, phone="13900001234", email="")
    # then tenant B's patient is untouched
    after = row(world.b, world.patient_b.id)
    assert (after.phone, after.email) == (before.phone, before.email)
    assert audit_actions(world.b) == []


def test_staff_cannot_use_the_patient_service(world: World) -> None:
    with pytest.raises(PermissionDenied):
        update(world.a, world.staff_a, phone="13900001234", email="")


def test_suspended_tenant_refuses_the_change(world: World) -> None:
    before = row(world.a, world.patient_a.id).phone
    change_status(world.a, TenantStatus.SUSPENDED)
    with pytest.raises(TenantReadOnly):
        update(world.a, world.patient_a, phone="13900001234", email="")
    assert row(world.a, world.patient_a.id).phone == before


def test_a_number_taken_between_check_and_write_is_refused_by_name(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given another patient who has the number, and a check that misses them
    # the first time (as when they register between the check and the write)
    make_patient(world.a, phone="+8613700002222")
    real = patients._contact_taken
    calls: list[int] = []

    def racy(*args: Any) -> dict[str, str]:
        calls.append(1)
        return {} if len(calls) == 1 else real(*args)

    monkeypatch.setattr(patients, "_contact_taken", racy)
    before = row(world.a, world.patient_a.id)
    # when the patient saves that number
    errors = errors_of(world.a, world.patient_a, phone="13700002222", email=before.email or "")
    # then the unique constraint catches it and the error names the field
    assert errors == {"phone": "field.phone_taken"}
    assert row(world.a, world.patient_a.id).phone == before.phone
    assert audit_actions(world.a) == []
