"""Password reset by a one-time code, for patients and staff of a tenant.

The answer to a request never says whether the account exists. A code lives 15
minutes, allows 5 tries, is used once, and using it signs the account out
everywhere. Failed tries are returned, not raised, so their count is committed.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from sqlmodel import col, func, select, update

from prm_saas.accounts.auth import (
    clean_identifier,
    find_patient,
    find_staff,
    revoke_all_sessions,
    tenant_read_only,
)
from prm_saas.accounts.credentials import code_digest, hash_password, new_code
from prm_saas.accounts.models import (
    AccountStatus,
    PasswordResetCode,
    Patient,
    PrincipalKind,
    StaffMember,
)
from prm_saas.audit.services import record
from prm_saas.messaging.delivery import deliver_after_commit
from prm_saas.messaging.models import Channel
from prm_saas.messaging.outbox import enqueue_to_address
from prm_saas.messaging.preferences import messaging_settings
from prm_saas.validation import Checker, normalize_email, normalize_phone
from tenants.db import TenantSession
from tenants.errors import TenantReadOnly
from tenants.models import Tenant
from tenants.types import utcnow

CODE_TTL = timedelta(minutes=15)
MAX_TRIES = 5
# At most this many codes per account per hour: stops mail/SMS bombing.
MAX_CODES_PER_HOUR = 5


def _account(
    session: TenantSession, kind: PrincipalKind, identifier: str
) -> Patient | StaffMember | None:
    if kind == PrincipalKind.PATIENT:
        return find_patient(session, identifier)
    if kind == PrincipalKind.STAFF:
        return find_staff(session, identifier)
    return None


def request_reset(*, session: TenantSession, kind: str, identifier: str, ip: str = "") -> None:
    """Send a reset code to the account's email or phone, if the account exists.

    Raises TenantReadOnly in a suspended tenant (the new password could not be
    stored, so no code is sent). A mail failure is audited, not raised, so the
    answer never tells whether the account exists.
    """
    if tenant_read_only(session):
        raise TenantReadOnly()
    identifier = clean_identifier(identifier)
    try:
        pkind = PrincipalKind(kind)
    except ValueError:
        return
    account = _account(session, pkind, identifier)
    if account is None or account.status != AccountStatus.ACTIVE or account.id is None:
        record(
            session,
            actor=None,
            actor_label=identifier[:254],
            action="auth.reset_unknown",
            ip=ip,
            details={"kind": kind},
        )
        return
    now = utcnow()
    recent = session.exec(
        select(func.count())
        .select_from(PasswordResetCode)
        .where(
            PasswordResetCode.principal_kind == pkind,
            PasswordResetCode.principal_id == account.id,
            col(PasswordResetCode.created_at) > now - timedelta(hours=1),
        )
    ).one()
    if recent >= MAX_CODES_PER_HOUR:
        record(
            session,
            actor=None,
            actor_label=identifier[:254],
            action="auth.reset_throttled",
            ip=ip,
            target_type=str(pkind),
            target_id=account.id,
        )
        return
    # Older codes stop working when a new one is sent.
    session.exec(
        update(PasswordResetCode)
        .where(
            col(PasswordResetCode.principal_kind) == pkind,
            col(PasswordResetCode.principal_id) == account.id,
            col(PasswordResetCode.used_at).is_(None),
        )
        .values(used_at=now)
    )
    code = new_code()
    reset = PasswordResetCode(
        principal_kind=pkind,
        principal_id=account.id,
        code_hash=code_digest(code, scope=f"{account.tenant_id}:{pkind}:{account.id}"),
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    session.add(reset)
    session.flush()
    tenant = session.get(Tenant, account.tenant_id)
    assert tenant is not None
    # A patient who asked with a phone number gets a text when the tenant sends
    # texts (or has no email on file); everyone else an email.
    by_sms = (
        isinstance(account, Patient)
        and bool(account.phone)
        and "@" not in identifier
        and (messaging_settings(session).sms_enabled or not account.email)
    )
    address = account.phone if by_sms else account.email
    if address:
        message = enqueue_to_address(
            session,
            template_key="account.password_reset",
            channel=Channel.SMS if by_sms else Channel.EMAIL,
            to_address=address,
            name=account.name,
            locale=account.locale or str(tenant.default_locale),
            variables={"code": code},
            dedupe_key=f"password-reset:{pkind}:{account.id}:{reset.id}",
            expires_at=reset.expires_at,
            source=f"{pkind}:{account.id}",
        )
        # Sent once this commits; a delivery failure stays in the outbox (and its
        # log) and never changes this answer, which must not reveal the account.
        deliver_after_commit(session, message)
    record(
        session,
        actor=None,
        actor_label=identifier[:254],
        action="auth.reset_requested",
        ip=ip,
        target_type=str(pkind),
        target_id=account.id,
    )


def reset_password(
    *,
    session: TenantSession,
    kind: str,
    identifier: str,
    code: str,
    password: str,
    password_confirm: str,
    ip: str = "",
) -> dict[str, tuple[str, dict[str, object]]]:
    """Set a new password with a valid code. Returns field errors ({} on success).

    Raises TenantReadOnly in a suspended tenant.
    """
    if tenant_read_only(session):
        raise TenantReadOnly()
    identifier = clean_identifier(identifier)
    c = Checker()
    try:
        pkind = PrincipalKind(kind)
    except ValueError:
        pkind = None
    account = _account(session, pkind, identifier) if pkind else None
    # The personal-data check uses what was typed, not the account found: checked
    # against the account, its answer would tell whether the account exists.
    c.password(
        "password",
        password,
        personal=(
            normalize_phone(identifier) if "@" not in identifier else None,
            normalize_email(identifier) if "@" in identifier else None,
        ),
    )
    if password != password_confirm:
        c.fail("password_confirm", "field.password_mismatch")
    if c.errors:
        return c.errors
    now = utcnow()
    row = None
    if account is not None and account.id is not None and pkind is not None:
        row = session.exec(
            select(PasswordResetCode)
            .where(
                PasswordResetCode.principal_kind == pkind,
                PasswordResetCode.principal_id == account.id,
                col(PasswordResetCode.used_at).is_(None),
                col(PasswordResetCode.expires_at) > now,
            )
            .order_by(col(PasswordResetCode.id).desc())
            .with_for_update()
        ).first()
    if (
        row is None
        or account is None
        or account.status != AccountStatus.ACTIVE
        or row.attempts >= MAX_TRIES
    ):
        return {"code": ("field.code_invalid", {})}
    scope = f"{account.tenant_id}:{pkind}:{account.id}"
    if not hmac.compare_digest(code_digest((code or "").strip(), scope=scope), row.code_hash):
        row.attempts += 1
        session.add(row)
        record(
            session,
            actor=None,
            actor_label=identifier[:254],
            action="auth.reset_failed",
            ip=ip,
            target_type=str(pkind),
            target_id=account.id,
        )
        return {"code": ("field.code_invalid", {})}
    row.used_at = now
    session.add(row)
    account.password_hash = hash_password(password)
    account.updated_at = now
    session.add(account)
    assert account.id is not None
    assert pkind is not None
    revoke_all_sessions(session, kind=pkind, principal_id=account.id)
    record(
        session,
        actor=None,
        actor_label=identifier[:254],
        action="auth.password_reset",
        ip=ip,
        target_type=str(pkind),
        target_id=account.id,
    )
    return {}
