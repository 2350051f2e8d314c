"""Sign-in, lockout, sessions and sign-out (prm_saas.accounts.auth)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlmodel import col, select, update

from prm_saas.accounts.auth import (
    BASE_LOCK,
    MAX_FAILURES,
    SESSION_POLICIES,
    TOUCH_INTERVAL,
    LoginOutcome,
    login_operator,
    login_patient,
    login_staff,
    logout,
    resolve_session,
    revoke_all_sessions,
)
from prm_saas.accounts.authz import Principal
from prm_saas.accounts.credentials import needs_rehash, token_digest, verify_password
from prm_saas.accounts.models import (
    AccountStatus,
    LoginThrottle,
    Operator,
    OperatorSession,
    Patient,
    PrincipalKind,
    StaffMember,
    UserSession,
)
from prm_saas.audit.models import AuditEvent, PlatformAuditEvent
from tenants.db import platform_session, tenant_session
from tenants.models import TenantStatus
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.factories import PASSWORD, World, change_status, make_patient, make_staff, make_tenant

WRONG = "Wrong123pass"


def patient_login(tenant: TenantInfo, identifier: str, password: str = PASSWORD) -> LoginOutcome:
    with tenant_session(tenant.id) as s:
        return login_patient(session=s, identifier=identifier, password=password, ip="10.0.0.1")


def staff_login(tenant: TenantInfo, email: str, password: str = PASSWORD) -> LoginOutcome:
    with tenant_session(tenant.id) as s:
        return login_staff(session=s, email=email, password=password, ip="10.0.0.2")


def resolve(tenant: TenantInfo | None, token: str, kind: PrincipalKind) -> Principal | None:
    if tenant is None:
        with platform_session() as s:
            return resolve_session(session=s, token=token, kind=kind)
    with tenant_session(tenant.id) as s:
        return resolve_session(session=s, token=token, kind=kind)


def session_row(tenant: TenantInfo, token: str) -> UserSession:
    with tenant_session(tenant.id) as s:
        return s.exec(
            select(UserSession).where(UserSession.token_hash == token_digest(token))
        ).one()


def shift_session(tenant: TenantInfo, token: str, **values: object) -> None:
    """Move a session's timestamps (instead of sleeping)."""
    with tenant_session(tenant.id) as s:
        s.exec(  # type: ignore[call-overload]
            update(UserSession)
            .where(col(UserSession.token_hash) == token_digest(token))
            .values(**values)
        )


def tenant_audit(tenant: TenantInfo) -> list[AuditEvent]:
    with tenant_session(tenant.id) as s:
        return list(s.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all())


# --- password sign-in ------------------------------------------------------------------


@pytest.mark.parametrize(
    "identifier",
    [
        "+8613800000001",
        "13800000001",
        "138 0000 0001",
        "+86 138-0000-0001",
        "0086 138 0000 0001",
        "(+86) 13800000001",
        "１３８００００００01",
        "p@a.test",
        " P@A.Test ",
    ],
)
def test_patient_signs_in_with_phone_in_any_common_format_or_email(
    world: World, identifier: str
) -> None:
    out = patient_login(world.a, identifier)

    assert out.ok, out
    assert out.principal == world.patient_a
    assert out.token
    assert out.error_key == ""
    assert resolve(world.a, out.token, PrincipalKind.PATIENT) == world.patient_a


def test_staff_and_admin_sign_in_with_email(world: World) -> None:
    staff = staff_login(world.a, "STAFF@a.test")
    admin = staff_login(world.a, "admin@a.test")

    assert staff.principal == world.staff_a
    assert admin.principal is not None
    assert admin.principal.role == "tenant_admin"


def test_operator_signs_in_at_platform_level(world: World) -> None:
    with platform_session() as s:
        out = login_operator(session=s, email="ops@platform.test", password=PASSWORD)
    assert out.principal == world.operator
    assert out.principal.tenant_id is None
    assert resolve(None, out.token, PrincipalKind.OPERATOR) == world.operator
    with platform_session() as s:
        actions = s.exec(select(PlatformAuditEvent.action)).all()
    assert actions == ["auth.login"]


def test_operator_wrong_password_is_refused_and_audited_on_the_platform(world: World) -> None:
    with platform_session() as s:
        out = login_operator(session=s, email="ops@platform.test", password=WRONG)
    assert out.error_key == "auth.bad_credentials"
    with platform_session() as s:
        ev = s.exec(select(PlatformAuditEvent)).one()
    assert (ev.action, ev.actor_kind, ev.actor_label) == (
        "auth.login_failed",
        "anonymous",
        "ops@platform.test",
    )


def test_wrong_password_and_unknown_account_give_the_same_answer(world: World) -> None:
    wrong_password = patient_login(world.a, "13800000001", WRONG)
    unknown = patient_login(world.a, "13911112222", PASSWORD)
    wrong_staff = staff_login(world.a, "admin@a.test", WRONG)
    unknown_staff = staff_login(world.a, "nobody@a.test", PASSWORD)

    for out in (wrong_password, unknown, wrong_staff, unknown_staff):
        assert not out.ok
        assert (out.error_key, out.error_params, out.token) == ("auth.bad_credentials", None, "")


def test_sign_in_attempts_are_audited(world: World) -> None:
    patient_login(world.a, "13800000001", WRONG)
    ok = patient_login(world.a, "13800000001")

    failed, success = tenant_audit(world.a)
    assert (failed.action, failed.actor_kind, failed.actor_id) == (
        "auth.login_failed",
        "anonymous",
        None,
    )
    assert failed.ip == "10.0.0.1"
    assert json.loads(failed.details) == {"kind": "patient"}
    assert (success.action, success.actor_kind, success.actor_id) == (
        "auth.login",
        "patient",
        ok.principal.id if ok.principal else -1,
    )
    assert tenant_audit(world.b) == []


def test_an_account_of_tenant_a_cannot_sign_in_on_tenant_b(world: World) -> None:
    # Given a staff member and a patient who exist only in tenant A
    make_patient(world.a, phone="+8613700000042", email="only@a.test")

    # When they try tenant B's sign-in forms, then nobody is found there
    assert staff_login(world.b, "staff@a.test").error_key == "auth.bad_credentials"
    assert patient_login(world.b, "13700000042").error_key == "auth.bad_credentials"
    assert patient_login(world.b, "only@a.test").error_key == "auth.bad_credentials"


def test_same_phone_in_two_tenants_signs_in_to_each_tenants_own_record(world: World) -> None:
    a = patient_login(world.a, "13800000001")
    b = patient_login(world.b, "13800000001")

    assert a.principal == world.patient_a
    assert b.principal == world.patient_b
    assert world.patient_a.id != world.patient_b.id


def test_disabled_account_is_told_so_only_with_the_right_password(world: World) -> None:
    with tenant_session(world.a.id) as s:
        s.exec(
            update(StaffMember)
            .where(col(StaffMember.id) == world.staff_a.id)  # type: ignore[call-overload]
            .values(status=AccountStatus.DISABLED)
        )

    right = staff_login(world.a, "staff@a.test")
    wrong = staff_login(world.a, "staff@a.test", WRONG)

    assert right.error_key == "auth.disabled"
    assert not right.token
    assert wrong.error_key == "auth.bad_credentials"


def test_invited_staff_without_a_password_cannot_sign_in(world: World) -> None:
    make_staff(world.a, email="new@a.test", status=AccountStatus.INVITED)
    with tenant_session(world.a.id) as s:
        s.exec(
            update(StaffMember)
            .where(col(StaffMember.email) == "new@a.test")  # type: ignore[call-overload]
            .values(password_hash=None)
        )

    assert staff_login(world.a, "new@a.test", "").error_key == "auth.bad_credentials"
    assert staff_login(world.a, "new@a.test").error_key == "auth.bad_credentials"


@pytest.mark.parametrize("identifier", ["a\x00@a.test", "\x00", "1399999\x009999", "x" * 5000, ""])
def test_hostile_identifiers_are_just_unknown_accounts(world: World, identifier: str) -> None:
    out = patient_login(world.a, identifier)
    assert out.error_key == "auth.bad_credentials"
    staff = staff_login(world.a, identifier)
    assert staff.error_key == "auth.bad_credentials"


# --- lockout ----------------------------------------------------------------------------


def test_five_failures_lock_the_identifier_even_for_the_right_password(world: World) -> None:
    for _ in range(MAX_FAILURES):
        assert patient_login(world.a, "13800000001", WRONG).error_key == "auth.bad_credentials"

    locked = patient_login(world.a, "13800000001", PASSWORD)

    assert locked.error_key == "auth.locked"
    assert locked.error_params == {"minutes": int(BASE_LOCK.total_seconds() // 60)}
    assert not locked.ok
    assert not locked.token
    assert tenant_audit(world.a)[-1].action == "auth.login_locked"


def test_failures_are_counted_for_unknown_identifiers_too(world: World) -> None:
    for _ in range(MAX_FAILURES):
        patient_login(world.a, "13999999999", WRONG)

    out = patient_login(world.a, "13999999999", WRONG)

    assert out.error_key == "auth.locked"
    assert out.error_params == {"minutes": 15}


def test_reformatting_the_phone_does_not_dodge_the_lockout(world: World) -> None:
    # Given failures spread over the ways one number can be typed
    for ident in [
        "13800000001",
        "+8613800000001",
        "138 0000 0001",
        "+86 138-0000-0001",
        "0086 13800000001",
    ]:
        patient_login(world.a, ident, WRONG)

    # Then yet another spelling of the same number is locked too
    assert patient_login(world.a, "138-0000-0001", PASSWORD).error_key == "auth.locked"
    # and so is the staff email in another letter case
    for _ in range(MAX_FAILURES):
        staff_login(world.a, "Staff@A.test", WRONG)
    assert staff_login(world.a, "staff@a.test").error_key == "auth.locked"


def test_lockout_is_per_tenant_and_per_form(world: World) -> None:
    for _ in range(MAX_FAILURES):
        patient_login(world.a, "13800000001", WRONG)

    assert patient_login(world.b, "13800000001").ok
    assert staff_login(world.a, "staff@a.test").ok


def test_success_clears_the_failure_count(world: World) -> None:
    for _ in range(MAX_FAILURES - 1):
        patient_login(world.a, "13800000001", WRONG)
    assert patient_login(world.a, "13800000001").ok

    for _ in range(MAX_FAILURES - 1):
        patient_login(world.a, "13800000001", WRONG)

    assert patient_login(world.a, "13800000001").ok


def test_the_lock_ends_and_a_further_failure_locks_longer(world: World) -> None:
    for _ in range(MAX_FAILURES):
        staff_login(world.a, "staff@a.test", WRONG)
    # When the lock has run out (moved into the past instead of waiting)
    past = utcnow() - timedelta(seconds=1)
    with platform_session() as s:
        s.exec(
            update(LoginThrottle).values(  # type: ignore[call-overload]
                locked_until=past, last_failure_at=past - BASE_LOCK
            )
        )

    # Then one more failure locks again, twice as long
    assert staff_login(world.a, "staff@a.test", WRONG).error_key == "auth.bad_credentials"
    again = staff_login(world.a, "staff@a.test")
    assert again.error_key == "auth.locked"
    assert again.error_params == {"minutes": 30}


def test_old_failures_are_forgotten(world: World) -> None:
    for _ in range(MAX_FAILURES - 1):
        staff_login(world.a, "staff@a.test", WRONG)
    with platform_session() as s:
        s.exec(
            update(LoginThrottle).values(  # type: ignore[call-overload]
                last_failure_at=utcnow() - timedelta(hours=1)
            )
        )

    staff_login(world.a, "staff@a.test", WRONG)

    with platform_session() as s:
        assert s.exec(select(LoginThrottle.failures)).one() == 1
    assert staff_login(world.a, "staff@a.test").ok


# --- sessions ---------------------------------------------------------------------------


def test_resolve_session_returns_the_principal_of_each_kind(world: World) -> None:
    p = patient_login(world.a, "p@a.test")
    s = staff_login(world.a, "admin@a.test")

    assert resolve(world.a, p.token, PrincipalKind.PATIENT) == world.patient_a
    assert resolve(world.a, s.token, PrincipalKind.STAFF) == world.admin_a
    # A token is only good for the kind it was issued to
    assert resolve(world.a, p.token, PrincipalKind.STAFF) is None
    assert resolve(world.a, s.token, PrincipalKind.PATIENT) is None


@pytest.mark.parametrize("token", ["", "nonsense", "x" * 101])
def test_unknown_tokens_resolve_to_nobody(world: World, token: str) -> None:
    assert resolve(world.a, token, PrincipalKind.PATIENT) is None


def test_a_token_of_tenant_a_does_not_resolve_in_tenant_b(world: World) -> None:
    p = patient_login(world.a, "13800000001")
    s = staff_login(world.a, "admin@a.test")

    assert resolve(world.b, p.token, PrincipalKind.PATIENT) is None
    assert resolve(world.b, s.token, PrincipalKind.STAFF) is None
    # and signing out on B's pages does not touch A's session
    with tenant_session(world.b.id) as sess:
        logout(session=sess, token=p.token, kind=PrincipalKind.PATIENT)
    assert resolve(world.a, p.token, PrincipalKind.PATIENT) == world.patient_a


def test_only_a_hash_of_the_token_is_stored(world: World) -> None:
    out = patient_login(world.a, "13800000001")
    with tenant_session(world.a.id) as s:
        row = s.exec(select(UserSession)).one()
    assert out.token not in row.token_hash
    assert len(row.token_hash) == 64
    assert (row.ip, row.principal_id, row.principal_kind) == (
        "10.0.0.1",
        world.patient_a.id,
        PrincipalKind.PATIENT,
    )


def test_session_expires_after_idle_time(world: World) -> None:
    out = staff_login(world.a, "staff@a.test")
    idle = SESSION_POLICIES[PrincipalKind.STAFF].idle
    # When the staff member has not been seen for longer than the idle limit
    then = utcnow() - idle - timedelta(minutes=1)
    shift_session(world.a, out.token, last_seen_at=then, expires_at=then + idle)

    assert resolve(world.a, out.token, PrincipalKind.STAFF) is None


def test_session_slides_when_used(world: World) -> None:
    out = patient_login(world.a, "13800000001")
    idle = SESSION_POLICIES[PrincipalKind.PATIENT].idle
    # Given a session last seen long ago that is about to expire
    now = utcnow()
    shift_session(
        world.a,
        out.token,
        created_at=now - timedelta(days=20),
        last_seen_at=now - idle + timedelta(minutes=1),
        expires_at=now + timedelta(minutes=1),
    )

    # When it is used
    assert resolve(world.a, out.token, PrincipalKind.PATIENT) == world.patient_a

    # Then it lives another idle period from now
    row = session_row(world.a, out.token)
    assert row.last_seen_at >= now
    assert abs(row.expires_at - (now + idle)) < timedelta(seconds=30)


def test_session_does_not_slide_past_the_absolute_limit(world: World) -> None:
    out = patient_login(world.a, "13800000001")
    absolute = SESSION_POLICIES[PrincipalKind.PATIENT].absolute
    now = utcnow()
    created = now - absolute + timedelta(hours=1)
    shift_session(
        world.a,
        out.token,
        created_at=created,
        last_seen_at=now - timedelta(hours=1),
        expires_at=now + timedelta(minutes=5),
    )

    assert resolve(world.a, out.token, PrincipalKind.PATIENT) == world.patient_a
    assert session_row(world.a, out.token).expires_at == created + absolute

    # When the absolute limit has passed, the session is dead even if its expiry says otherwise
    shift_session(
        world.a,
        out.token,
        created_at=now - absolute - timedelta(minutes=1),
        expires_at=now + timedelta(days=1),
    )
    assert resolve(world.a, out.token, PrincipalKind.PATIENT) is None


def test_recent_sessions_are_not_touched_on_every_event(world: World) -> None:
    out = staff_login(world.a, "staff@a.test")
    before = session_row(world.a, out.token)

    resolve(world.a, out.token, PrincipalKind.STAFF)

    after = session_row(world.a, out.token)
    assert (after.last_seen_at, after.expires_at) == (before.last_seen_at, before.expires_at)
    assert timedelta(0) < TOUCH_INTERVAL


def test_session_of_a_disabled_account_stops_resolving(world: World) -> None:
    out = staff_login(world.a, "staff@a.test")
    with tenant_session(world.a.id) as s:
        s.exec(
            update(StaffMember)
            .where(col(StaffMember.id) == world.staff_a.id)  # type: ignore[call-overload]
            .values(status=AccountStatus.DISABLED)
        )

    assert resolve(world.a, out.token, PrincipalKind.STAFF) is None


def test_logout_revokes_the_session_and_is_audited(world: World) -> None:
    out = patient_login(world.a, "13800000001")
    other = patient_login(world.a, "13800000001")

    with tenant_session(world.a.id) as s:
        logout(session=s, token=out.token, kind=PrincipalKind.PATIENT, ip="10.9.9.9")

    assert resolve(world.a, out.token, PrincipalKind.PATIENT) is None
    assert resolve(world.a, other.token, PrincipalKind.PATIENT) == world.patient_a
    ev = tenant_audit(world.a)[-1]
    assert (ev.action, ev.target_type, ev.target_id, ev.ip) == (
        "auth.logout",
        "patient",
        str(world.patient_a.id),
        "10.9.9.9",
    )
    # Signing out twice or with an unknown token changes nothing
    with tenant_session(world.a.id) as s:
        logout(session=s, token=out.token, kind=PrincipalKind.PATIENT)
        logout(session=s, token="unknown", kind=PrincipalKind.PATIENT)
        logout(session=s, token="", kind=PrincipalKind.PATIENT)
    assert [e.action for e in tenant_audit(world.a)].count("auth.logout") == 1


def test_operator_logout(world: World) -> None:
    with platform_session() as s:
        out = login_operator(session=s, email="ops@platform.test", password=PASSWORD)
    with platform_session() as s:
        logout(session=s, token=out.token, kind=PrincipalKind.OPERATOR)
    assert resolve(None, out.token, PrincipalKind.OPERATOR) is None


def test_revoke_all_sessions_revokes_one_principal_only(world: World) -> None:
    phone1 = patient_login(world.a, "13800000001")
    phone2 = patient_login(world.a, "p@a.test")
    staff = staff_login(world.a, "staff@a.test")
    other_tenant = patient_login(world.b, "13800000001")

    with tenant_session(world.a.id) as s:
        n = revoke_all_sessions(s, kind=PrincipalKind.PATIENT, principal_id=world.patient_a.id)

    assert n == 2
    assert resolve(world.a, phone1.token, PrincipalKind.PATIENT) is None
    assert resolve(world.a, phone2.token, PrincipalKind.PATIENT) is None
    assert resolve(world.a, staff.token, PrincipalKind.STAFF) == world.staff_a
    assert resolve(world.b, other_tenant.token, PrincipalKind.PATIENT) == world.patient_b


def test_revoke_all_sessions_does_not_cross_tenants_even_with_a_foreign_id(world: World) -> None:
    b = patient_login(world.b, "13800000001")

    with tenant_session(world.a.id) as s:
        n = revoke_all_sessions(s, kind=PrincipalKind.PATIENT, principal_id=world.patient_b.id)

    assert n == 0
    assert resolve(world.b, b.token, PrincipalKind.PATIENT) == world.patient_b


def test_revoke_all_operator_sessions(world: World) -> None:
    with platform_session() as s:
        out = login_operator(session=s, email="ops@platform.test", password=PASSWORD)
    with platform_session() as s:
        assert (
            revoke_all_sessions(s, kind=PrincipalKind.OPERATOR, principal_id=world.operator.id) == 1
        )
        assert s.exec(select(OperatorSession.revoked_at)).one() is not None
    assert resolve(None, out.token, PrincipalKind.OPERATOR) is None


# --- password hashes --------------------------------------------------------------------


def test_login_rehashes_a_password_hashed_with_other_parameters(world: World) -> None:
    # Given a password hashed with parameters other than today's
    old_hash = PasswordHasher(time_cost=2, memory_cost=16384, parallelism=2).hash(PASSWORD)
    assert needs_rehash(old_hash)
    with tenant_session(world.a.id) as s:
        s.exec(
            update(Patient)
            .where(col(Patient.id) == world.patient_a.id)  # type: ignore[call-overload]
            .values(password_hash=old_hash)
        )

    # When the patient signs in
    assert patient_login(world.a, "13800000001").ok

    # Then the stored hash uses today's parameters and still matches
    with tenant_session(world.a.id) as s:
        new_hash = s.exec(
            select(Patient.password_hash).where(Patient.id == world.patient_a.id)
        ).one()
    assert new_hash != old_hash
    assert new_hash is not None
    assert not needs_rehash(new_hash)
    assert verify_password(new_hash, PASSWORD)


def test_a_wrong_password_does_not_rehash(world: World) -> None:
    old_hash = PasswordHasher(time_cost=2, memory_cost=16384, parallelism=2).hash(PASSWORD)
    with platform_session() as s:
        s.exec(update(Operator).values(password_hash=old_hash))  # type: ignore[call-overload]
    with platform_session() as s:
        login_operator(session=s, email="ops@platform.test", password=WRONG)
    with platform_session() as s:
        assert s.exec(select(Operator.password_hash)).one() == old_hash


def test_successful_login_records_the_time(world: World) -> None:
    before = utcnow()
    staff_login(world.a, "staff@a.test")
    with tenant_session(world.a.id) as s:
        at = s.exec(
            select(StaffMember.last_login_at).where(StaffMember.id == world.staff_a.id)
        ).one()
    assert at is not None
    assert at >= before - timedelta(seconds=1)


# --- suspended tenants ------------------------------------------------------------------


def test_sign_in_and_sessions_keep_working_in_a_suspended_tenant(world: World) -> None:
    t = make_tenant("sleepy-clinic")
    staff = make_staff(t, email="s@sleepy.test")
    make_patient(t, phone="+8613600000001")
    t = change_status(t, TenantStatus.SUSPENDED)

    s_out = staff_login(t, "s@sleepy.test")
    p_out = patient_login(t, "13600000001")
    bad = staff_login(t, "s@sleepy.test", WRONG)

    assert s_out.principal == staff
    assert p_out.ok
    assert bad.error_key == "auth.bad_credentials"
    assert resolve(t, s_out.token, PrincipalKind.STAFF) == staff
    with tenant_session(t.id) as s:
        logout(session=s, token=s_out.token, kind=PrincipalKind.STAFF)
    assert resolve(t, s_out.token, PrincipalKind.STAFF) is None
