"""The sweep services: which rows go, which stay, and only in the given tenant."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select

from prm_saas.accounts.auth import FAILURE_WINDOW
from prm_saas.accounts.models import (
    LoginThrottle,
    OidcLoginState,
    OperatorSession,
    PasswordResetCode,
    PrincipalKind,
    UserSession,
)
from prm_saas.housekeeping.services import (
    OIDC_STATE_RETENTION,
    RESET_CODE_RETENTION,
    SESSION_RETENTION,
    PlatformSweep,
    TenantSweep,
    sweep_platform_auth,
    sweep_tenant_auth,
)
from tenants.db import platform_session, tenant_session
from tenants.errors import NoTenantContext
from tenants.models import TenantStatus
from tenants.types import utcnow
from tests.factories import World, make_tenant

NOW = utcnow()
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


def add_tenant_rows(tenant_id: int, now: datetime = NOW) -> None:
    """Rows named by what should happen to them: "gone-*" are swept, "kept-*" stay."""
    old = now - SESSION_RETENTION - MINUTE
    recent = now - SESSION_RETENTION + DAY
    with tenant_session(tenant_id) as s:
        for name, expires, revoked in (
            ("gone-expired", old, None),
            ("gone-revoked", now + DAY, old),
            ("kept-expired-recently", recent, None),
            ("kept-revoked-recently", now + DAY, recent),
            ("kept-live", now + DAY, None),
        ):
            s.add(
                UserSession(
                    token_hash=f"{name}-{tenant_id}",
                    principal_id=1,
                    principal_kind=PrincipalKind.PATIENT,
                    created_at=old - DAY,
                    expires_at=expires,
                    revoked_at=revoked,
                )
            )
        spent = now - RESET_CODE_RETENTION - MINUTE
        for name, created, expires, used in (
            ("gone-used", spent, spent + 15 * MINUTE, spent + MINUTE),
            ("gone-expired", spent, spent + 15 * MINUTE, None),
            # Spent but inside the window request_reset's per-hour throttle counts.
            ("kept-used-recently", now - 30 * MINUTE, now - 15 * MINUTE, now - 20 * MINUTE),
            ("kept-live", now - 5 * MINUTE, now + 10 * MINUTE, None),
        ):
            s.add(
                PasswordResetCode(
                    principal_kind=PrincipalKind.PATIENT,
                    principal_id=1,
                    code_hash=name,
                    created_at=created,
                    expires_at=expires,
                    used_at=used,
                )
            )
        stale = now - OIDC_STATE_RETENTION - MINUTE
        for name, expires, used in (
            ("gone-used", now + DAY, stale),
            ("gone-expired", stale, None),
            ("kept-expired-recently", now - 5 * MINUTE, None),
            ("kept-used-recently", now + 5 * MINUTE, now - 5 * MINUTE),
            ("kept-live", now + 5 * MINUTE, None),
        ):
            s.add(
                OidcLoginState(
                    state=f"{name}-{tenant_id}",
                    nonce="n",
                    code_verifier="v",
                    redirect_uri="https://x.test/cb",
                    expires_at=expires,
                    used_at=used,
                )
            )


def remaining(tenant_id: int) -> dict[str, list[str]]:
    """The names of the rows left in one tenant."""
    with tenant_session(tenant_id) as s:
        return {
            "sessions": sorted(
                t.removesuffix(f"-{tenant_id}") for t in s.exec(select(UserSession.token_hash))
            ),
            "codes": sorted(s.exec(select(PasswordResetCode.code_hash)).all()),
            "states": sorted(
                t.removesuffix(f"-{tenant_id}") for t in s.exec(select(OidcLoginState.state))
            ),
        }


EVERYTHING = {
    "sessions": sorted(
        [
            "gone-expired",
            "gone-revoked",
            "kept-expired-recently",
            "kept-live",
            "kept-revoked-recently",
        ]
    ),
    "codes": sorted(["gone-expired", "gone-used", "kept-live", "kept-used-recently"]),
    "states": sorted(
        ["gone-expired", "gone-used", "kept-expired-recently", "kept-live", "kept-used-recently"]
    ),
}
KEPT = {k: [n for n in v if n.startswith("kept-")] for k, v in EVERYTHING.items()}


def test_the_tenant_sweep_deletes_only_ended_and_spent_rows(world: World) -> None:
    # given sessions, reset codes and SSO states in every stage of life in tenant A
    add_tenant_rows(world.a.id)
    # when A is swept
    with tenant_session(world.a.id) as s:
        swept = sweep_tenant_auth(session=s, now=NOW)
    # then exactly the ended / spent rows past their retention are gone
    assert swept == TenantSweep(user_sessions=2, reset_codes=2, oidc_states=2)
    assert remaining(world.a.id) == KEPT


def test_sweeping_one_tenant_never_touches_another(world: World) -> None:
    # given the same rows in tenants A and B
    add_tenant_rows(world.a.id)
    add_tenant_rows(world.b.id)
    # when only A is swept
    with tenant_session(world.a.id) as s:
        sweep_tenant_auth(session=s, now=NOW)
    # then B still has every row, including its sweepable ones
    assert remaining(world.b.id) == EVERYTHING
    assert remaining(world.a.id) == KEPT


def test_a_suspended_tenant_is_swept_too(world: World) -> None:
    # given a suspended tenant (read-only for its business data) with ended sessions
    c = make_tenant("clinic-c", status=TenantStatus.SUSPENDED)
    add_tenant_rows(c.id)
    # when it is swept, then its sign-in rows go as usual
    with tenant_session(c.id) as s:
        sweep_tenant_auth(session=s, now=NOW)
    assert remaining(c.id) == KEPT


def test_sweeping_twice_is_harmless(world: World) -> None:
    add_tenant_rows(world.a.id)
    with tenant_session(world.a.id) as s:
        sweep_tenant_auth(session=s, now=NOW)
    with tenant_session(world.a.id) as s:
        again = sweep_tenant_auth(session=s, now=NOW)
    assert again == TenantSweep(user_sessions=0, reset_codes=0, oidc_states=0)
    assert remaining(world.a.id) == KEPT


def test_the_tenant_sweep_refuses_a_platform_session(world: World) -> None:
    add_tenant_rows(world.a.id)
    with pytest.raises(NoTenantContext), platform_session() as s:
        sweep_tenant_auth(session=s, now=NOW)
    assert remaining(world.a.id) == EVERYTHING


def test_the_platform_sweep_deletes_ended_operator_sessions_and_stale_throttles(
    world: World,
) -> None:
    # given operator sessions and throttle rows in every stage
    old = NOW - SESSION_RETENTION - MINUTE
    window = NOW - FAILURE_WINDOW
    with platform_session() as s:
        for name, expires, revoked in (
            ("gone-expired", old, None),
            ("gone-revoked", NOW + DAY, old),
            ("kept-expired-recently", NOW - DAY, None),
            ("kept-live", NOW + DAY, None),
        ):
            s.add(
                OperatorSession(
                    token_hash=name,
                    principal_id=world.operator.id,
                    created_at=old - DAY,
                    expires_at=expires,
                    revoked_at=revoked,
                )
            )
        for key, last, locked in (
            ("gone-old-failures", window - MINUTE, None),
            ("gone-lock-long-over", window - DAY, window - MINUTE),
            ("kept-recent-failure", NOW - MINUTE, None),
            # The lock ended, but recently enough that a new failure doubles it.
            ("kept-lock-just-over", window - DAY, window + MINUTE),
            ("kept-still-locked", window - MINUTE, NOW + DAY),
        ):
            s.add(LoginThrottle(key=key, failures=5, last_failure_at=last, locked_until=locked))
    # when the platform rows are swept
    with platform_session() as s:
        swept = sweep_platform_auth(session=s, now=NOW)
    # then only the ended sessions and the throttles that no longer count are gone
    assert swept == PlatformSweep(operator_sessions=2, login_throttles=2)
    with platform_session() as s:
        sessions = s.exec(select(OperatorSession.token_hash)).all()
        keys = s.exec(select(LoginThrottle.key).order_by(col(LoginThrottle.key))).all()
    assert sorted(sessions) == ["kept-expired-recently", "kept-live"]
    assert list(keys) == ["kept-lock-just-over", "kept-recent-failure", "kept-still-locked"]


def test_the_platform_sweep_refuses_a_tenant_session(world: World) -> None:
    with pytest.raises(ValueError, match="platform-level"), tenant_session(world.a.id) as s:
        sweep_platform_auth(session=s, now=NOW)
