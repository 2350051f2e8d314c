"""Sign-in, sign-out and session resolution for patients, staff and operators.

Sessions are server-side rows holding a SHA-256 of a random token; the browser
holds the token in a cookie. Sign-in attempts are throttled per identifier
(whether or not the account exists) and every attempt is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from prm_saas.accounts.authz import Principal
from prm_saas.accounts.credentials import (
    hash_password,
    needs_rehash,
    new_token,
    token_digest,
    verify_password,
)
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
from prm_saas.audit.services import record, record_platform
from prm_saas.validation import normalize_email, normalize_phone, strip_controls
from tenants.db import TenantSession
from tenants.models import Tenant
from tenants.types import utcnow


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives without use, and at most."""

    idle: timedelta
    absolute: timedelta


SESSION_POLICIES: dict[PrincipalKind, SessionPolicy] = {
    # Patients sign in on their phone and expect to stay signed in.
    PrincipalKind.PATIENT: SessionPolicy(idle=timedelta(days=30), absolute=timedelta(days=90)),
    # Front-desk staff sign in each morning; a shift plus margin.
    PrincipalKind.STAFF: SessionPolicy(idle=timedelta(hours=12), absolute=timedelta(days=7)),
    PrincipalKind.OPERATOR: SessionPolicy(idle=timedelta(hours=2), absolute=timedelta(hours=12)),
}
# Refresh last_seen (and slide the expiry) at most this often, not on every event.
TOUCH_INTERVAL = timedelta(minutes=5)

# Five failures lock the identifier for 15 minutes; each further failure doubles
# the lock, up to a day. Failures older than the window are forgotten.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
BASE_LOCK = timedelta(minutes=15)
MAX_LOCK = timedelta(hours=24)


@dataclass(frozen=True)
class LoginOutcome:
    """The result of a sign-in. Failures are returned, not raised, because the
    failed attempt itself must be committed (throttle counter, audit row)."""

    principal: Principal | None = None
    token: str = ""
    error_key: str = ""
    error_params: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Whether the sign-in succeeded."""
        return self.principal is not None


# --- throttling -------------------------------------------------------------------


def clean_identifier(identifier: str) -> str:
    """A typed sign-in identifier without control characters, at most 254 long.

    Hostile clients send NUL bytes, which PostgreSQL refuses in text (the query,
    the throttle row and the audit row would fail with a 500).
    """
    return strip_controls(identifier or "").strip()[:254]


def throttle_key(tenant_id: int | None, kind: PrincipalKind, identifier: str) -> str:
    """The throttle row key for an identifier on a login form.

    The identifier is keyed in its canonical form (E.164 phone, lower-case
    email), the form the account is looked up by: otherwise "13800000001",
    "+86 138 0000 0001" and "138-0000-0001" would each get their own five tries
    at the same account.
    """
    scope = "op" if tenant_id is None else f"t{tenant_id}"
    ident = clean_identifier(identifier)
    phone = normalize_phone(ident) if "@" not in ident else None
    return f"{scope}:{kind}:{phone or normalize_email(ident)}"[:300]


def _locked_minutes(session: TenantSession, key: str, now: datetime) -> int:
    row = session.exec(select(LoginThrottle).where(LoginThrottle.key == key)).first()
    if row and row.locked_until and row.locked_until > now:
        return max(1, int((row.locked_until - now).total_seconds() // 60) + 1)
    return 0


def locked_throttle_row(session: TenantSession, key: str, now: datetime) -> LoginThrottle:
    """The throttle row of ``key``, created if missing, locked for the transaction."""
    row = session.exec(
        select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    ).first()
    if row is None:
        row = LoginThrottle(key=key, failures=0, last_failure_at=now)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            # A concurrent attempt with the same key created the row first (the key
            # is unique): count this one on top of it.
            row = session.exec(
                select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
            ).one()
    return row


def _record_failure(session: TenantSession, key: str, now: datetime) -> None:
    row = locked_throttle_row(session, key, now)
    if now - row.last_failure_at > FAILURE_WINDOW and not (
        row.locked_until and row.locked_until > now - FAILURE_WINDOW
    ):
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= MAX_FAILURES:
        lock = min(BASE_LOCK * (2 ** (row.failures - MAX_FAILURES)), MAX_LOCK)
        row.locked_until = now + lock
    session.add(row)


def _clear_failures(session: TenantSession, key: str) -> None:
    row = session.exec(select(LoginThrottle).where(LoginThrottle.key == key)).first()
    if row is not None:
        session.delete(row)


def tenant_read_only(session: TenantSession) -> bool:
    """Whether the session's tenant is suspended (its data may be read, not changed)."""
    if session.tenant_id is None:
        return False
    tenant = session.get(Tenant, session.tenant_id)
    return bool(tenant and tenant.read_only)


# --- principals ---------------------------------------------------------------------


def staff_principal(s: StaffMember) -> Principal:
    """The Principal of a staff member."""
    assert s.id is not None
    return Principal(
        kind=PrincipalKind.STAFF,
        id=s.id,
        tenant_id=s.tenant_id,
        name=s.name,
        label=s.email,
        role=str(s.role),
        locale=s.locale,
    )


def patient_principal(p: Patient) -> Principal:
    """The Principal of a patient."""
    assert p.id is not None
    return Principal(
        kind=PrincipalKind.PATIENT,
        id=p.id,
        tenant_id=p.tenant_id,
        name=p.name,
        label=p.phone or p.email or "",
        locale=p.locale,
    )


def operator_principal(o: Operator) -> Principal:
    """The Principal of a platform operator."""
    assert o.id is not None
    return Principal(
        kind=PrincipalKind.OPERATOR,
        id=o.id,
        tenant_id=None,
        name=o.name,
        label=o.email,
        locale=o.locale,
    )


def find_patient(session: TenantSession, identifier: str) -> Patient | None:
    """A patient of this tenant by phone or email."""
    ident = identifier.strip()
    if "@" in ident:
        return session.exec(select(Patient).where(Patient.email == normalize_email(ident))).first()
    phone = normalize_phone(ident)
    if phone is None:
        return None
    return session.exec(select(Patient).where(Patient.phone == phone)).first()


def find_staff(session: TenantSession, email: str) -> StaffMember | None:
    """A staff member of this tenant by email."""
    return session.exec(
        select(StaffMember).where(StaffMember.email == normalize_email(email))
    ).first()


def open_session(
    session: TenantSession, principal: Principal, *, ip: str = "", user_agent: str = ""
) -> str:
    """Create a server-side session for ``principal``; returns the raw token."""
    token = new_token()
    now = utcnow()
    policy = SESSION_POLICIES[principal.kind]
    common: dict[str, Any] = {
        "token_hash": token_digest(token),
        "principal_id": principal.id,
        "created_at": now,
        "last_seen_at": now,
        "expires_at": now + policy.idle,
        "ip": ip[:64],
        "user_agent": user_agent[:300],
    }
    if principal.kind == PrincipalKind.OPERATOR:
        session.add(OperatorSession(**common))
    else:
        session.add(UserSession(principal_kind=principal.kind, **common))
    return token


# --- sign in --------------------------------------------------------------------------


def _login(
    session: TenantSession,
    *,
    kind: PrincipalKind,
    identifier: str,
    password: str,
    ip: str,
    user_agent: str,
) -> LoginOutcome:
    now = utcnow()
    tid = session.tenant_id
    identifier = clean_identifier(identifier)
    key = throttle_key(tid, kind, identifier)
    audit = record_platform if kind == PrincipalKind.OPERATOR else record
    minutes = _locked_minutes(session, key, now)
    if minutes:
        audit(
            session,
            actor=None,
            actor_label=identifier[:254],
            action="auth.login_locked",
            ip=ip,
            details={"kind": str(kind)},
        )
        return LoginOutcome(error_key="auth.locked", error_params={"minutes": minutes})

    account: StaffMember | Patient | Operator | None
    if kind == PrincipalKind.PATIENT:
        account = find_patient(session, identifier)
    elif kind == PrincipalKind.STAFF:
        account = find_staff(session, identifier)
    else:
        account = session.exec(
            select(Operator).where(Operator.email == normalize_email(identifier))
        ).first()

    password_ok = verify_password(account.password_hash if account else None, password)
    if not password_ok or account is None:
        _record_failure(session, key, now)
        audit(
            session,
            actor=None,
            actor_label=identifier[:254],
            action="auth.login_failed",
            ip=ip,
            details={"kind": str(kind)},
        )
        return LoginOutcome(error_key="auth.bad_credentials")
    if account.status != AccountStatus.ACTIVE:
        audit(
            session,
            actor=None,
            actor_label=identifier[:254],
            action="auth.login_failed",
            ip=ip,
            details={"kind": str(kind), "reason": str(account.status)},
        )
        return LoginOutcome(error_key="auth.disabled")

    _clear_failures(session, key)
    # A suspended tenant is read-only, but its people still sign in (to read, to
    # export): the account row is left alone there (no rehash, no last-login time).
    if not tenant_read_only(session):
        if account.password_hash and needs_rehash(account.password_hash):
            account.password_hash = hash_password(password)
        account.last_login_at = now
        session.add(account)
    principal = principal_of(account)
    token = open_session(session, principal, ip=ip, user_agent=user_agent)
    audit(session, actor=principal, action="auth.login", ip=ip, details={"method": "password"})
    return LoginOutcome(principal=principal, token=token)


def login_patient(
    *,
    session: TenantSession,
    identifier: str,
    password: str,
    ip: str = "",
    user_agent: str = "",
) -> LoginOutcome:
    """Sign a patient in with phone-or-email and password."""
    return _login(
        session,
        kind=PrincipalKind.PATIENT,
        identifier=identifier,
        password=password,
        ip=ip,
        user_agent=user_agent,
    )


def login_staff(
    *, session: TenantSession, email: str, password: str, ip: str = "", user_agent: str = ""
) -> LoginOutcome:
    """Sign a staff member in with email and password."""
    return _login(
        session,
        kind=PrincipalKind.STAFF,
        identifier=email,
        password=password,
        ip=ip,
        user_agent=user_agent,
    )


def login_operator(
    *, session: TenantSession, email: str, password: str, ip: str = "", user_agent: str = ""
) -> LoginOutcome:
    """Sign a platform operator in (platform-level session)."""
    return _login(
        session,
        kind=PrincipalKind.OPERATOR,
        identifier=email,
        password=password,
        ip=ip,
        user_agent=user_agent,
    )


# --- session resolution and sign out -------------------------------------------------------


def _session_row(
    session: TenantSession, token: str, kind: PrincipalKind
) -> UserSession | OperatorSession | None:
    digest = token_digest(token)
    if kind == PrincipalKind.OPERATOR:
        return session.exec(
            select(OperatorSession).where(OperatorSession.token_hash == digest)
        ).first()
    return session.exec(
        select(UserSession).where(
            UserSession.token_hash == digest, UserSession.principal_kind == kind
        )
    ).first()


def _account(
    session: TenantSession, kind: PrincipalKind, principal_id: int
) -> StaffMember | Patient | Operator | None:
    if kind == PrincipalKind.OPERATOR:
        return session.get(Operator, principal_id)
    if kind == PrincipalKind.STAFF:
        return session.exec(select(StaffMember).where(StaffMember.id == principal_id)).first()
    return session.exec(select(Patient).where(Patient.id == principal_id)).first()


def principal_of(account: StaffMember | Patient | Operator) -> Principal:
    """The Principal of an account of any kind."""
    if isinstance(account, Patient):
        return patient_principal(account)
    if isinstance(account, StaffMember):
        return staff_principal(account)
    return operator_principal(account)


def resolve_session(*, session: TenantSession, token: str, kind: PrincipalKind) -> Principal | None:
    """The principal behind a session token, or None if it is unknown, expired or revoked.

    Tenant sessions are looked up in the session's tenant only, so a token of
    tenant A presented on tenant B's pages resolves to nobody.
    """
    if not token or len(token) > 100:
        return None
    now = utcnow()
    row = _session_row(session, token, kind)
    policy = SESSION_POLICIES[kind]
    if (
        row is None
        or row.revoked_at is not None
        or row.expires_at <= now
        # The absolute limit holds even for a session whose expiry was set under a
        # longer policy.
        or row.created_at + policy.absolute <= now
    ):
        return None
    account = _account(session, kind, row.principal_id)
    if account is None or account.status != AccountStatus.ACTIVE:
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        row.expires_at = min(now + policy.idle, row.created_at + policy.absolute)
        session.add(row)
    return principal_of(account)


def logout(*, session: TenantSession, token: str, kind: PrincipalKind, ip: str = "") -> None:
    """Revoke the session of ``token`` (a no-op for an unknown token)."""
    if not token or len(token) > 100:
        return
    row = _session_row(session, token, kind)
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = utcnow()
    session.add(row)
    account = _account(session, kind, row.principal_id)
    audit = record_platform if kind == PrincipalKind.OPERATOR else record
    audit(
        session,
        actor=principal_of(account) if account is not None else None,
        actor_label=None if account is not None else f"{kind}:{row.principal_id}",
        action="auth.logout",
        ip=ip,
        target_type=str(kind),
        target_id=row.principal_id,
    )


def revoke_all_sessions(session: TenantSession, *, kind: PrincipalKind, principal_id: int) -> int:
    """Revoke every live session of one principal (password reset, disable)."""
    now = utcnow()
    model: Any = OperatorSession if kind == PrincipalKind.OPERATOR else UserSession
    stmt = update(model).where(
        col(model.principal_id) == principal_id, col(model.revoked_at).is_(None)
    )
    if model is UserSession:
        stmt = stmt.where(col(UserSession.principal_kind) == kind)
    result = session.exec(stmt.values(revoked_at=now))
    return int(result.rowcount or 0)
