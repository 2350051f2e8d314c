"""The second wall: PostgreSQL row-level security, below the ORM.

Every test here talks to the database with raw SQL (``sqlalchemy.text``) as the
app role, mostly through the one session factory, so the ORM wall (``with_loader_criteria`` and the
flush guard) is not in play: whatever isolation these tests see comes from the
policies, grants and roles created by the migrations (tenants/rls.py).

The structural tests discover tables from the catalog, so a table added later
is covered without editing this file.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.orm import Session

from prm_saas.accounts.models import (
    OidcLoginState,
    OperatorSession,
    PasswordResetCode,
    Patient,
    PrincipalKind,
    TenantSsoConfig,
    UserSession,
)
from prm_saas.audit.models import AuditEvent, PlatformAuditEvent
from tenants.db import bind_tenant, get_engine, platform_session, tenant_session
from tenants.errors import NoTenantContext
from tenants.models import TenantDomain
from tenants.types import utcnow
from tests.factories import World

pytestmark = pytest.mark.postgres_only

# Tables the tests below must find rows of in both tenants (tenant_id tables
# seeded by _seed_every_table); a tenant table added later is still checked by
# the structural tests and the INSERT test, which need no rows.
SEEDED_TENANT_TABLES = {
    "audit_event",
    "oidc_login_state",
    "password_reset_code",
    "patient",
    "staff_member",
    "tenant_sso_config",
    "user_session",
}
PLATFORM_ONLY_TABLES = ["operator", "operator_session", "platform_audit_event"]
APPEND_ONLY_TABLES = ["audit_event", "platform_audit_event"]
# Tables the app role may not UPDATE or DELETE at all (provider events are kept as sent,
# the points ledger, the tag history, the tracking events and package views are append-only).
NOT_UPDATABLE_TABLES = [
    *APPEND_ONLY_TABLES,
    "provider_event",
    "points_entry",
    "tag_event",
    "tracking_event",
    "package_view",
]
# Tables with neither tenant_id nor row-level security, each with the reason it
# is safe. Anything else without RLS fails test_every_table_is_walled_or_declared_shared.
SHARED_WITHOUT_RLS = {
    "alembic_version": "migration bookkeeping; the app role has no privilege on it at all",
    "login_throttle": "keyed by an opaque string covering tenants and operators; "
    "it holds failure counters only, no tenant data",
}

# How PostgreSQL prints the canonical tenant_isolation expression.
CURRENT_TENANT = "(NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::integer"
CANONICAL_TENANT_QUAL = f"(tenant_id = {CURRENT_TENANT})"

# SQLSTATE 42501 covers both; the message tells a policy from a missing grant.
RLS_VIOLATION = "violates row-level security policy"
PERMISSION_DENIED = "permission denied for table"


# --- helpers ----------------------------------------------------------------------


def _catalog(sql: str, **params: object) -> list[tuple[Any, ...]]:
    """Rows of a catalog query, as the app role, outside any tenant."""
    with get_engine().connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


def _tenant_tables() -> list[str]:
    """Every ordinary table in schema public with a tenant_id column."""
    rows = _catalog(
        "SELECT c.table_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' "
        "AND t.table_type = 'BASE TABLE' ORDER BY 1"
    )
    return [r[0] for r in rows]


def _count(s: Session, table: str, where: str = "true", **params: object) -> int:
    sql = f'SELECT count(*) FROM "{table}" WHERE {where}'
    return int(s.execute(text(sql), params).scalar_one())


def _error_of(s: Session, sql: str, **params: object) -> str:
    """Run ``sql`` in a savepoint; the database's error message, or "" if it ran."""
    try:
        with s.begin_nested():
            s.execute(text(sql), params)
    except sa.exc.DBAPIError as exc:
        return str(exc.orig)
    return ""


def _rowcount(s: Session, sql: str, **params: object) -> int:
    result = cast(sa.CursorResult[Any], s.execute(text(sql), params))
    return result.rowcount


def _seed_every_table(world: World) -> None:
    """One row per tenant in every tenant table the world fixture leaves empty,
    plus platform rows (an operator session and a platform audit event)."""
    later = utcnow() + timedelta(hours=1)
    for t in (world.a, world.b):
        with tenant_session(t.id) as s:
            s.add(AuditEvent(actor_kind="system", action=f"seed.{t.slug}"))
            s.add(
                UserSession(
                    token_hash=f"tok-{t.slug}",
                    principal_id=1,
                    expires_at=later,
                    principal_kind=PrincipalKind.PATIENT,
                )
            )
            s.add(
                PasswordResetCode(
                    principal_kind=PrincipalKind.STAFF,
                    principal_id=1,
                    code_hash=f"code-{t.slug}",
                    expires_at=later,
                )
            )
            s.add(TenantSsoConfig(issuer=f"https://idp.{t.slug}.test", client_id=t.slug))
            s.add(
                OidcLoginState(
                    state=f"state-{t.slug}",
                    nonce="n",
                    code_verifier="v",
                    redirect_uri=f"https://{t.slug}.test/cb",
                    expires_at=later,
                )
            )
    with platform_session() as s:
        s.add(
            OperatorSession(token_hash="op-tok", principal_id=world.operator.id, expires_at=later)
        )
        s.add(PlatformAuditEvent(actor_kind="operator", action="seed.platform"))
        s.add(TenantDomain(host="a.example.cn", serves_tenant_id=world.a.id))
        s.add(TenantDomain(host="b.example.cn", serves_tenant_id=world.b.id))


@pytest.fixture
def seeded(world: World) -> World:
    """The two-tenant world with a row of each tenant in every tenant table."""
    _seed_every_table(world)
    return world


# --- reads ------------------------------------------------------------------------


def test_raw_sql_in_a_tenant_sees_only_that_tenants_rows(seeded: World) -> None:
    # given: both tenants have rows in every seeded tenant table
    tables = _tenant_tables()
    assert set(tables) >= SEEDED_TENANT_TABLES
    with tenant_session(seeded.b.id) as s:
        b_rows = {t: _count(s, t) for t in tables}
    assert all(b_rows[t] > 0 for t in SEEDED_TENANT_TABLES), b_rows

    # when: tenant A reads every tenant table with raw SQL, no tenant filter
    with tenant_session(seeded.a.id) as s:
        foreign = {t: _count(s, t, "tenant_id <> :a", a=seeded.a.id) for t in tables}
        by_id = {t: _count(s, t, "tenant_id = :b", b=seeded.b.id) for t in tables}
        own = {t: _count(s, t) for t in tables}

    # then: nothing of B is visible, while A's own rows are
    assert foreign == dict.fromkeys(tables, 0)
    assert by_id == dict.fromkeys(tables, 0)
    assert all(own[t] > 0 for t in SEEDED_TENANT_TABLES), own


def test_raw_sql_at_platform_level_sees_no_tenant_rows(seeded: World) -> None:
    # given: rows of both tenants exist (see the test above)
    tables = _tenant_tables()

    # when: raw SQL runs with no tenant set, through the factory and around it
    with platform_session() as s:
        setting = s.execute(text("SELECT current_setting('app.tenant_id', true)")).scalar()
        in_platform = {t: _count(s, t) for t in tables}
    with get_engine().connect() as bare:
        around_factory = {
            t: bare.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables
        }

    # then: every tenant table reads as empty
    assert setting == ""
    assert in_platform == dict.fromkeys(tables, 0)
    assert around_factory == dict.fromkeys(tables, 0)


def test_tenant_setting_does_not_outlive_its_transaction(seeded: World) -> None:
    # given: pooled connections that just ran tenant transactions
    for _ in range(3):
        with tenant_session(seeded.a.id) as s:
            assert _count(s, "patient") == 1

        # when: the next transactions on the pool run for B, then at platform level
        with tenant_session(seeded.b.id) as s:
            b_patients = s.execute(text("SELECT tenant_id FROM patient")).scalars().all()
        with platform_session() as s:
            platform_patients = _count(s, "patient")

        # then: neither inherits A's setting
        assert b_patients == [seeded.b.id]
        assert platform_patients == 0


def test_a_core_table_select_through_the_session_is_still_walled(seeded: World) -> None:
    # given: a Core select on the Table itself, which with_loader_criteria (keyed to
    # mapped classes) does not reach, so the ORM wall adds no filter to it
    patient = Patient.metadata.tables["patient"]
    statement = sa.select(patient.c.tenant_id)

    # when: tenant A runs it through the session, the ORM wall refuses it
    with pytest.raises(NoTenantContext), tenant_session(seeded.a.id) as s:
        s.execute(statement)
    # and when it goes around the session, on the session's connection
    with tenant_session(seeded.a.id) as s:
        rows = s.connection().execute(statement).scalars().all()

    # then: row-level security still limits it to A
    assert rows == [seeded.a.id]


def test_bind_tenant_moves_the_database_setting_too(seeded: World) -> None:
    # given: a provisioning session that starts at platform level
    with platform_session(allow_tenant_switch=True) as s:
        before = _count(s, "patient")

        # when: it enters tenant A
        bind_tenant(s, seeded.a.id)

        # then: raw SQL now sees A's rows and only those
        rows = s.execute(text("SELECT tenant_id FROM patient")).scalars().all()
    assert before == 0
    assert rows == [seeded.a.id]


# --- writes -----------------------------------------------------------------------


def test_a_tenant_cannot_insert_rows_for_another_tenant(world: World) -> None:
    # given: every tenant table, including ones added after this test was written
    tables = _tenant_tables()

    # when: tenant A inserts a row stamped with B's id into each, with raw SQL
    with tenant_session(world.a.id) as s:
        errors = {
            t: _error_of(s, f'INSERT INTO "{t}" (tenant_id) VALUES (:b)', b=world.b.id)
            for t in tables
        }

    # then: the policy refuses each one (it is checked before NOT NULL constraints)
    assert {t: RLS_VIOLATION in e for t, e in errors.items()} == dict.fromkeys(tables, True), errors


def test_a_full_row_for_another_tenant_is_refused_and_for_its_own_accepted(
    world: World,
) -> None:
    # given: a complete, valid patient row
    sql = (
        "INSERT INTO patient (tenant_id, name, phone, sex, status, created_at, updated_at) "
        "VALUES (:tid, 'x', '+8613911112222', 'unknown', 'active', now(), now())"
    )
    with tenant_session(world.a.id) as s:
        # when: A writes it for B, then for itself
        foreign = _error_of(s, sql, tid=world.b.id)
        own = _error_of(s, sql, tid=world.a.id)

    # then: only its own row goes in
    assert RLS_VIOLATION in foreign
    assert own == ""
    with tenant_session(world.b.id) as s:
        assert _count(s, "patient", "phone = '+8613911112222'") == 0


def test_a_tenant_cannot_update_or_delete_another_tenants_rows(seeded: World) -> None:
    # given: B's rows in every mutable tenant table
    tables = [t for t in _tenant_tables() if t not in NOT_UPDATABLE_TABLES]
    with tenant_session(seeded.b.id) as s:
        b_before = {t: _count(s, t) for t in tables}

    # when: tenant A aims UPDATE and DELETE at them, and tries to pull them into A
    with tenant_session(seeded.a.id) as s:
        updated = {
            t: _rowcount(
                s, f'UPDATE "{t}" SET tenant_id = tenant_id WHERE tenant_id = :b', b=seeded.b.id
            )
            for t in tables
        }
        pulled = {
            t: _rowcount(
                s,
                f'UPDATE "{t}" SET tenant_id = :a WHERE tenant_id = :b',
                a=seeded.a.id,
                b=seeded.b.id,
            )
            for t in tables
        }
        deleted = {
            t: _rowcount(s, f'DELETE FROM "{t}" WHERE tenant_id = :b', b=seeded.b.id)
            for t in tables
        }
        # and pushes one of its own rows over to B
        pushed = _error_of(s, "UPDATE patient SET tenant_id = :b", b=seeded.b.id)

    # then: no statement touched a row of B, and B still has all of them
    assert updated == dict.fromkeys(tables, 0)
    assert pulled == dict.fromkeys(tables, 0)
    assert deleted == dict.fromkeys(tables, 0)
    assert RLS_VIOLATION in pushed
    with tenant_session(seeded.b.id) as s:
        assert {t: _count(s, t) for t in tables} == b_before


def test_tenant_rows_cannot_be_written_at_platform_level(world: World) -> None:
    # given: a platform transaction (no tenant set)
    with platform_session() as s:
        # when: it inserts a tenant row and updates/deletes tenant rows with raw SQL
        inserted = _error_of(s, "INSERT INTO staff_member (tenant_id) VALUES (:a)", a=world.a.id)
        updated = _rowcount(s, "UPDATE patient SET name = 'x'")
        deleted = _rowcount(s, "DELETE FROM staff_member")

    # then: nothing happens
    assert RLS_VIOLATION in inserted
    assert (updated, deleted) == (0, 0)


# --- platform tables and the tenant registry ---------------------------------------


def test_platform_tables_are_invisible_inside_a_tenant(seeded: World) -> None:
    # given: rows in every platform-only table
    with platform_session() as s:
        at_platform = {t: _count(s, t) for t in PLATFORM_ONLY_TABLES}
    assert all(n > 0 for n in at_platform.values()), at_platform

    # when: a tenant transaction reads and writes them with raw SQL
    with tenant_session(seeded.a.id) as s:
        in_tenant = {t: _count(s, t) for t in PLATFORM_ONLY_TABLES}
        touched = _rowcount(s, "UPDATE operator SET name = 'pwned'")
        forged = _error_of(
            s,
            "INSERT INTO operator (email, name, password_hash, status, created_at) "
            "VALUES ('evil@x.test', 'evil', 'h', 'active', now())",
        )

    # then: they read as empty and accept nothing
    assert in_tenant == dict.fromkeys(PLATFORM_ONLY_TABLES, 0)
    assert touched == 0
    assert RLS_VIOLATION in forged


def test_a_tenant_may_update_its_own_tenant_row_only(world: World) -> None:
    # given: tenant A's transaction
    with tenant_session(world.a.id) as s:
        # when: it renames itself and tries to rename, delete, move or create tenants
        own = _rowcount(s, "UPDATE tenant SET name = 'A2' WHERE id = :a", a=world.a.id)
        other = _rowcount(s, "UPDATE tenant SET status = 'suspended' WHERE id = :b", b=world.b.id)
        deleted = _rowcount(
            s, "DELETE FROM tenant WHERE id IN (:a, :b)", a=world.a.id, b=world.b.id
        )
        moved = _error_of(
            s, "UPDATE tenant SET id = :b + 1000 WHERE id = :a", a=world.a.id, b=world.b.id
        )
        created = _error_of(
            s,
            "INSERT INTO tenant (slug, name, kind, timezone, default_locale, currency, "
            "status, logo_url, primary_color, created_at, updated_at) VALUES ('evil', 'e', "
            "'clinic', 'UTC', 'en', 'CNY', 'active', '', '#000000', now(), now())",
        )
        everyone = _count(s, "tenant")

    # then: only its own row changed; every tenant stays readable (resolution, branding)
    assert (own, other, deleted) == (1, 0, 0)
    assert RLS_VIOLATION in moved
    assert RLS_VIOLATION in created
    assert everyone == 2
    with platform_session() as s:
        rows = dict(s.execute(text("SELECT id, name || '/' || status FROM tenant")).all())
    assert rows == {world.a.id: "A2/active", world.b.id: f"{world.b.name}/active"}


def test_a_tenant_cannot_take_or_drop_another_tenants_domain(seeded: World) -> None:
    # given: each tenant has a custom domain
    with tenant_session(seeded.a.id) as s:
        # when: A tries to point B's domain at itself, drop it, or claim a host for B
        taken = _rowcount(
            s,
            "UPDATE tenant_domain SET serves_tenant_id = :a WHERE host = 'b.example.cn'",
            a=seeded.a.id,
        )
        dropped = _rowcount(s, "DELETE FROM tenant_domain WHERE host = 'b.example.cn'")
        claimed = _error_of(
            s,
            "INSERT INTO tenant_domain (host, serves_tenant_id, created_at) "
            "VALUES ('evil.example.cn', :b, now())",
            b=seeded.b.id,
        )
        readable = _count(s, "tenant_domain")
        own = _rowcount(
            s, "UPDATE tenant_domain SET host = 'a2.example.cn' WHERE host = 'a.example.cn'"
        )

    # then: B's domain is untouched; host routing may still read every domain
    assert (taken, dropped, own) == (0, 0, 1)
    assert RLS_VIOLATION in claimed
    assert readable == 2
    with platform_session() as s:
        hosts = dict(s.execute(text("SELECT host, serves_tenant_id FROM tenant_domain")).all())
    assert hosts == {"a2.example.cn": seeded.a.id, "b.example.cn": seeded.b.id}


# --- audit tables -----------------------------------------------------------------


_AUDIT_VALUES = "now(), 'system', '', 'x', '', '', '', '{}'"
_AUDIT_INSERT = {
    "audit_event": "INSERT INTO audit_event (tenant_id, at, actor_kind, actor_label, action, "
    f"target_type, target_id, ip, details) VALUES (:a, {_AUDIT_VALUES})",
    "platform_audit_event": "INSERT INTO platform_audit_event (at, actor_kind, actor_label, "
    f"action, target_type, target_id, ip, details) VALUES ({_AUDIT_VALUES})",
}


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_audit_rows_cannot_be_changed_by_the_app_role(seeded: World, table: str) -> None:
    # given: a transaction that can see its own audit rows
    scope = platform_session() if table == "platform_audit_event" else tenant_session(seeded.a.id)
    with scope as s:
        visible = _count(s, table)

        # when: it inserts, then tries to rewrite or erase the trail
        inserted = _error_of(s, _AUDIT_INSERT[table], a=seeded.a.id)
        updated = _error_of(s, f"UPDATE \"{table}\" SET action = 'tampered'")
        deleted = _error_of(s, f'DELETE FROM "{table}"')
        truncated = _error_of(s, f'TRUNCATE "{table}"')
        after = _count(s, table)

    # then: INSERT and SELECT work; UPDATE, DELETE and TRUNCATE are not granted
    assert visible == 1
    assert inserted == ""
    assert after == 2
    for error in (updated, deleted, truncated):
        assert f"{PERMISSION_DENIED} {table}" in error


# --- structure: every table walled, the app role powerless --------------------------


def test_every_tenant_table_has_forced_rls_and_the_tenant_policy(database: str) -> None:
    # given: every table in schema public with a tenant_id column (found, not listed)
    tables = _tenant_tables()
    assert set(tables) >= SEEDED_TENANT_TABLES

    # when: we read their security settings and policies from the catalog
    problems: dict[str, list[str]] = {}
    for table in tables:
        [(enabled, forced)] = _catalog(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE oid = format('public.%I', CAST(:t AS text))::regclass",
            t=table,
        )
        policies = _catalog(
            "SELECT policyname, permissive, cmd, coalesce(qual, ''), coalesce(with_check, '') "
            "FROM pg_policies WHERE schemaname = 'public' AND tablename = :t",
            t=table,
        )
        found = []
        if not enabled:
            found.append("row level security not enabled")
        if not forced:
            found.append("row level security not forced (the owner would bypass it)")
        if not policies:
            found.append("no policy in pg_policies")
        # Permissive policies are OR-ed together: one loose policy opens the table.
        canonical = ("ALL", _squash(CANONICAL_TENANT_QUAL), _squash(CANONICAL_TENANT_QUAL))
        for name, permissive, cmd, qual, check in policies:
            if permissive == "PERMISSIVE" and (cmd, _squash(qual), _squash(check)) != canonical:
                found.append(
                    f"permissive policy {name} ({cmd}) is not the tenant policy: "
                    f"USING {qual} WITH CHECK {check}"
                )
        if found:
            problems[table] = found

    # then: all of them are walled by the one tenant policy
    assert problems == {}, "use tenants.rls.tenant_table_sql() in the migration"


def test_every_table_is_walled_or_declared_shared(database: str) -> None:
    # given: every table in schema public
    rows = _catalog(
        "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity, "
        "EXISTS (SELECT FROM pg_policies p "
        "        WHERE p.schemaname = 'public' AND p.tablename = c.relname) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1"
    )

    # when: we pick those neither forced under a policy nor declared shared
    unwalled = [
        name
        for name, forced, has_policy in rows
        if not (forced and has_policy) and name not in SHARED_WITHOUT_RLS
    ]

    # then: there are none (a new table must get a policy or a reason to be shared)
    assert len(rows) > len(SHARED_WITHOUT_RLS)
    assert unwalled == []


def test_the_app_role_owns_nothing_and_bypasses_nothing(database: str) -> None:
    # given: the role the application engine connects as
    [role] = _catalog(
        "SELECT rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb "
        "FROM pg_roles WHERE rolname = current_user"
    )

    # when: we look for anything it owns, could become, or could create
    owned = _catalog(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' "
        "AND pg_has_role(current_user, c.relowner, 'MEMBER')"
    )
    [powers] = _catalog(
        "SELECT (SELECT pg_has_role(current_user, datdba, 'MEMBER') FROM pg_database "
        "        WHERE datname = current_database()), "
        "has_schema_privilege(current_user, 'public', 'CREATE'), "
        "has_table_privilege(current_user, 'public.alembic_version', "
        "                    'SELECT, INSERT, UPDATE, DELETE')"
    )

    # then: a plain role that owns no table and cannot create or alter any
    name, superuser, bypassrls, createrole, createdb = role
    assert name == "prm_app"
    assert (superuser, bypassrls, createrole, createdb) == (False, False, False, False)
    assert owned == []
    owns_database, creates_in_public, touches_alembic = powers
    assert (owns_database, creates_in_public, touches_alembic) == (False, False, False)


def test_the_app_role_cannot_switch_the_wall_off(seeded: World) -> None:
    # given: tenant A's transaction
    with tenant_session(seeded.a.id) as s:
        # when: it tries to disable row-level security or drop a policy
        disabled = _error_of(s, "ALTER TABLE patient NO FORCE ROW LEVEL SECURITY")
        dropped = _error_of(s, "DROP POLICY tenant_isolation ON patient")
        foreign = _count(s, "patient", "tenant_id = :b", b=seeded.b.id)

    # then: only the owner could
    assert "must be owner of table patient" in disabled
    assert "must be owner of" in dropped
    assert foreign == 0


def test_row_security_off_fails_closed(seeded: World) -> None:
    # given: tenant A's transaction with row_security turned off
    with tenant_session(seeded.a.id) as s:
        s.execute(text("SET LOCAL row_security = off"))
        # when: it reads a tenant table
        error = _error_of(s, "SELECT count(*) FROM patient")

    # then: PostgreSQL refuses instead of bypassing the policy
    assert "query would be affected by row-level security policy" in error


def _squash(sql: str) -> str:
    return re.sub(r"\s+", "", sql)
