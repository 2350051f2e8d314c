"""Patient self-registration and the patient's own profile."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from prm_saas.accounts.auth import open_session, patient_principal
from prm_saas.accounts.authz import Principal, require_patient
from prm_saas.accounts.credentials import hash_password
from prm_saas.accounts.models import Patient, PatientPublic, Sex
from prm_saas.audit.services import record
from prm_saas.automations.hooks import fire as fire_automations
from prm_saas.billing.limits import Resource, require_room
from prm_saas.i18n import normalize_locale
from prm_saas.membership import referrals
from prm_saas.membership.cards import issue_card
from prm_saas.membership.points import settings_of
from prm_saas.tags.services import reevaluate_for_patient
from prm_saas.validation import Checker
from tenants.db import TenantSession
from tenants.errors import FieldErrors
from tenants.models import Tenant
from tenants.types import utcnow


@dataclass(frozen=True)
class Registration:
    """A new patient, signed in."""

    principal: Principal
    token: str


def register_patient(
    *,
    session: TenantSession,
    name: str,
    phone: str = "",
    email: str = "",
    password: str,
    password_confirm: str,
    sex: str = "unknown",
    birth_date: str = "",
    locale: str | None = None,
    ip: str = "",
    user_agent: str = "",
    referral_code: str = "",
) -> Registration:
    """Register a patient in the session's tenant with a phone or email, and sign them in.

    ``referral_code`` (optional) is the referrer's member card number in this
    tenant (``membership.referrals``); an unknown one, or another tenant's, is a
    field error and nothing is written."""
    tenant = session.get(Tenant, session.tenant_id)
    assert tenant is not None
    today = datetime.now(zoneinfo.ZoneInfo(tenant.timezone)).date()
    c = Checker()
    clean_name = c.text("name", name, max_len=80)
    clean_phone = c.phone("phone", phone, required=False)
    clean_email = c.email("email", email, required=False)
    if not (phone or "").strip() and not (email or "").strip():
        c.fail("phone", "field.phone_or_email")
    c.password("password", password, personal=(clean_phone, clean_email))
    if password != password_confirm:
        c.fail("password_confirm", "field.password_mismatch")
    clean_sex = c.choice("sex", sex or "unknown", [s.value for s in Sex])
    dob = c.birth_date("birth_date", birth_date, today)
    if clean_phone and _taken(session, Patient.phone, clean_phone):
        c.fail("phone", "field.phone_taken")
    if clean_email and _taken(session, Patient.email, clean_email):
        c.fail("email", "field.email_taken")
    referrer_id = referrals.referrer_for_code(session, c, "referral_code", referral_code)
    c.raise_if_any()
    # The clinic's plan may be full: the patient is told so without upgrade talk.
    require_room(session, Resource.PATIENTS, for_patient=True)

    now = utcnow()
    patient = Patient(
        name=clean_name,
        phone=clean_phone,
        email=clean_email,
        sex=Sex(clean_sex),
        birth_date=dob,
        password_hash=hash_password(password),
        locale=normalize_locale(locale),
        created_at=now,
        updated_at=now,
        last_login_at=now,
    )
    try:
        with session.begin_nested():
            session.add(patient)
            session.flush()
    except IntegrityError:
        # A concurrent registration took the phone or email between check and
        # insert; look again (it is committed now) to say which.
        errors: dict[str, tuple[str, dict[str, Any]]] = {}
        if clean_phone and _taken(session, Patient.phone, clean_phone):
            errors["phone"] = ("field.phone_taken", {})
        if clean_email and _taken(session, Patient.email, clean_email):
            errors["email"] = ("field.email_taken", {})
        if not errors and clean_phone:
            errors["phone"] = ("field.phone_taken", {})
        elif not errors:
            errors["email"] = ("field.email_taken", {})
        raise FieldErrors(errors) from None
    principal = patient_principal(patient)
    if settings_of(session).auto_issue_card:
        # The member card (客户开卡) comes with the registration, all or nothing.
        issue_card(session, actor=principal, patient_id=int(patient.id or 0), now=now)
    if referrer_id is not None:
        referrals.record_referral(
            session, referrer_id=referrer_id, referred_id=int(patient.id or 0), now=now
        )
    # Auto tags on age and sex from the first day, not from the next nightly run.
    reevaluate_for_patient(session=session, patient_id=int(patient.id or 0), now=now)
    fire_automations(session, "patient_joined", int(patient.id or 0), now=now)  # welcome journeys
    token = open_session(session, principal, ip=ip, user_agent=user_agent)
    record(
        session,
        actor=principal,
        action="patient.registered",
        target_type="patient",
        target_id=patient.id,
        ip=ip,
    )
    return Registration(principal=principal, token=token)


def _taken(session: TenantSession, column: Any, value: str) -> bool:
    return session.exec(select(Patient.id).where(column == value)).first() is not None


def my_profile(*, session: TenantSession, actor: Principal) -> PatientPublic:
    """The signed-in patient's own record."""
    require_patient(session, actor)
    p = session.exec(select(Patient).where(Patient.id == actor.id)).one()
    return PatientPublic.model_validate(p, from_attributes=True)


def set_my_locale(*, session: TenantSession, actor: Principal, locale: str) -> None:
    """Remember the patient's language choice."""
    require_patient(session, actor)
    c = Checker()
    loc = c.locale("locale", locale)
    c.raise_if_any()
    p = session.exec(select(Patient).where(Patient.id == actor.id)).one()
    p.locale = loc
    p.updated_at = utcnow()
    session.add(p)


def update_my_contact(
    *, session: TenantSession, actor: Principal, phone: str, email: str, ip: str = ""
) -> PatientPublic:
    """The patient changes their own phone and email (one of them is required).

    Both are validated and must be free within the tenant; a change to either
    is all or nothing, and audited (which fields changed, not their values).
    """
    require_patient(session, actor)
    c = Checker()
    clean_phone = c.phone("phone", phone, required=False)
    clean_email = c.email("email", email, required=False)
    if not (phone or "").strip() and not (email or "").strip():
        c.fail("phone", "field.phone_or_email")
    for field, error in _contact_taken(session, actor.id, clean_phone, clean_email).items():
        c.fail(field, error)
    c.raise_if_any()

    patient = session.exec(select(Patient).where(Patient.id == actor.id)).one()
    changed = [
        name
        for name, old, new in (
            ("phone", patient.phone, clean_phone),
            ("email", patient.email, clean_email),
        )
        if old != new
    ]
    if not changed:
        return PatientPublic.model_validate(patient, from_attributes=True)
    try:
        # Changed inside the savepoint: begin_nested() flushes what is pending first.
        with session.begin_nested():
            patient.phone, patient.email, patient.updated_at = clean_phone, clean_email, utcnow()
            session.add(patient)
            session.flush()
    except IntegrityError:
        # Another patient took the number or address between the check and the
        # write; it is committed now, so looking again says which.
        taken = _contact_taken(session, actor.id, clean_phone, clean_email) or {
            changed[0]: f"field.{changed[0]}_taken"
        }
        raise FieldErrors({f: (k, {}) for f, k in taken.items()}) from None
    record(
        session,
        actor=actor,
        action="patient.contact_changed",
        target_type="patient",
        target_id=patient.id,
        ip=ip,
        details={"changed": changed},
    )
    return PatientPublic.model_validate(patient, from_attributes=True)


def _contact_taken(
    session: TenantSession, patient_id: int, phone: str | None, email: str | None
) -> dict[str, str]:
    """The fields whose value another patient of the tenant already has."""
    taken: dict[str, str] = {}
    with session.no_autoflush:
        for field, column, value, key in (
            ("phone", Patient.phone, phone, "field.phone_taken"),
            ("email", Patient.email, email, "field.email_taken"),
        ):
            if (
                value
                and session.exec(
                    select(Patient.id).where(column == value, Patient.id != patient_id)
                ).first()
            ):
                taken[field] = key
    return taken
