"""Deleting sign-in rows that no longer serve anyone.

Tenant rows (user sessions, password reset codes, SSO login states) are deleted
through a session bound to one tenant, so the ORM wall (and row-level security
on PostgreSQL) limits every DELETE to that tenant. Platform rows (operator
sessions, login throttles) are deleted at platform level. Every function is
idempotent: running it twice, or for the same tenant from two workers, is
harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, delete

from prm_saas.accounts.auth import FAILURE_WINDOW
from prm_saas.accounts.models import (
    LoginThrottle,
    OidcLoginState,
    OperatorSession,
    PasswordResetCode,
    UserSession,
)
from tenants.db import TenantSession
from tenants.errors import NoTenantContext
from tenants.types import utcnow

# An ended (expired or revoked) session is kept this long so "where am I signed in /
# recent sign-ins" views and incident reviews can still show it; the audit log keeps
# the sign-in events themselves for longer.
SESSION_RETENTION = timedelta(days=30)
# Longer than the one-hour window over which request_reset counts a principal's
# codes: deleting younger spent codes would reset that throttle.
RESET_CODE_RETENTION = timedelta(days=1)
# A spent or expired SSO state is kept briefly so a late or repeated callback is told
# "expired / already used" rather than "unknown"; it can never be used again either way.
OIDC_STATE_RETENTION = timedelta(hours=1)


@dataclass(frozen=True)
class TenantSweep:
    """Rows deleted in one tenant."""

    user_sessions: int
    reset_codes: int
    oidc_states: int


@dataclass(frozen=True)
class PlatformSweep:
    """Platform rows deleted."""

    operator_sessions: int
    login_throttles: int


def _delete(session: TenantSession, stmt: Any) -> int:
    # Nothing is loaded in the session, so there is nothing to synchronise.
    result = session.exec(stmt.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def sweep_tenant_auth(*, session: TenantSession, now: datetime | None = None) -> TenantSweep:
    """Delete the session's tenant's ended sessions, spent reset codes and SSO states.

    A user session goes once it ended (expired or was revoked) more than
    SESSION_RETENTION ago; a reset code once it is used or expired and older
    than RESET_CODE_RETENTION; an SSO login state once it was used or expired
    more than OIDC_STATE_RETENTION ago. Live rows are never touched.
    """
    if session.tenant_id is None:
        raise NoTenantContext("sweep_tenant_auth needs a session bound to a tenant")
    now = now or utcnow()
    session_cutoff = now - SESSION_RETENTION
    sessions = _delete(
        session,
        delete(UserSession).where(
            or_(
                col(UserSession.expires_at) <= session_cutoff,
                col(UserSession.revoked_at) <= session_cutoff,
            )
        ),
    )
    codes = _delete(
        session,
        delete(PasswordResetCode).where(
            or_(
                col(PasswordResetCode.used_at).is_not(None),
                col(PasswordResetCode.expires_at) <= now,
            ),
            col(PasswordResetCode.created_at) <= now - RESET_CODE_RETENTION,
        ),
    )
    state_cutoff = now - OIDC_STATE_RETENTION
    states = _delete(
        session,
        delete(OidcLoginState).where(
            or_(
                col(OidcLoginState.used_at) <= state_cutoff,
                col(OidcLoginState.expires_at) <= state_cutoff,
            )
        ),
    )
    return TenantSweep(user_sessions=sessions, reset_codes=codes, oidc_states=states)


def sweep_platform_auth(*, session: TenantSession, now: datetime | None = None) -> PlatformSweep:
    """Delete ended operator sessions and login throttles that no longer count.

    Operator sessions follow the same retention as user sessions. A throttle
    row is stale when its last failure and its lock (if any) both ended more
    than FAILURE_WINDOW ago: the sign-in code would reset such a row to zero
    on the next failure anyway, so deleting it changes no outcome.
    """
    if session.tenant_id is not None:
        raise ValueError("sweep_platform_auth needs a platform-level session")
    now = now or utcnow()
    session_cutoff = now - SESSION_RETENTION
    operator_sessions = _delete(
        session,
        delete(OperatorSession).where(
            or_(
                col(OperatorSession.expires_at) <= session_cutoff,
                col(OperatorSession.revoked_at) <= session_cutoff,
            )
        ),
    )
    throttle_cutoff = now - FAILURE_WINDOW
    throttles = _delete(
        session,
        delete(LoginThrottle).where(
            col(LoginThrottle.last_failure_at) < throttle_cutoff,
            or_(
                col(LoginThrottle.locked_until).is_(None),
                col(LoginThrottle.locked_until) <= throttle_cutoff,
            ),
        ),
    )
    return PlatformSweep(operator_sessions=operator_sessions, login_throttles=throttles)
