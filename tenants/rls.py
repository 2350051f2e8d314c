"""PostgreSQL row-level security: the second tenancy wall, created by migrations.

Every table with a ``tenant_id`` column gets FORCE ROW LEVEL SECURITY and a
policy comparing ``tenant_id`` with the transaction's ``app.tenant_id``
setting (set by tenants.db at the start of every transaction). With the
setting empty, ``NULLIF(...)::integer`` is NULL and no row matches.
The app connects as a role that owns no table and lacks BYPASSRLS.
"""

from __future__ import annotations

import os
from typing import Any

CURRENT_TENANT_SQL = "NULLIF(current_setting('app.tenant_id', true), '')::integer"
PLATFORM_LEVEL_SQL = "COALESCE(current_setting('app.tenant_id', true), '') = ''"


def app_role() -> str:
    """The database role the application connects as."""
    role = os.environ.get("PRM_DB_APP_ROLE", "prm_app")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"bad role name {role!r}")
    return role


def tenant_table_sql(table: str) -> list[str]:
    """Statements that wall off one tenant-owned table."""
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"',
        f'CREATE POLICY tenant_isolation ON "{table}" '
        f"USING (tenant_id = {CURRENT_TENANT_SQL}) "
        f"WITH CHECK (tenant_id = {CURRENT_TENANT_SQL})",
    ]


def platform_table_sql(table: str) -> list[str]:
    """Statements that hide a platform table (operators, their sessions and audit)
    from any transaction running inside a tenant."""
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS platform_only ON "{table}"',
        f'CREATE POLICY platform_only ON "{table}" USING ({PLATFORM_LEVEL_SQL}) '
        f"WITH CHECK ({PLATFORM_LEVEL_SQL})",
    ]


def tenant_registry_sql() -> list[str]:
    """The tenant table: everyone may read it (resolution, branding); a tenant
    transaction may change only its own row; the platform level may change any."""
    own_or_platform = f"({PLATFORM_LEVEL_SQL} OR id = {CURRENT_TENANT_SQL})"
    return [
        'ALTER TABLE "tenant" ENABLE ROW LEVEL SECURITY',
        'ALTER TABLE "tenant" FORCE ROW LEVEL SECURITY',
        'DROP POLICY IF EXISTS tenant_read ON "tenant"',
        'DROP POLICY IF EXISTS tenant_insert ON "tenant"',
        'DROP POLICY IF EXISTS tenant_update ON "tenant"',
        'DROP POLICY IF EXISTS tenant_delete ON "tenant"',
        'CREATE POLICY tenant_read ON "tenant" FOR SELECT USING (true)',
        f'CREATE POLICY tenant_insert ON "tenant" FOR INSERT WITH CHECK ({PLATFORM_LEVEL_SQL})',
        f'CREATE POLICY tenant_update ON "tenant" FOR UPDATE USING {own_or_platform} '
        f"WITH CHECK {own_or_platform}",
        f'CREATE POLICY tenant_delete ON "tenant" FOR DELETE USING ({PLATFORM_LEVEL_SQL})',
    ]


def tenant_domain_sql() -> list[str]:
    """Custom host names: everyone may read them (host routing runs before any
    tenant is known); a tenant transaction may add, change or remove only its own
    (it cannot take over or drop another tenant's host); the platform level any."""
    own_or_platform = f"({PLATFORM_LEVEL_SQL} OR serves_tenant_id = {CURRENT_TENANT_SQL})"
    return [
        'ALTER TABLE "tenant_domain" ENABLE ROW LEVEL SECURITY',
        'ALTER TABLE "tenant_domain" FORCE ROW LEVEL SECURITY',
        'DROP POLICY IF EXISTS domain_read ON "tenant_domain"',
        'DROP POLICY IF EXISTS domain_write ON "tenant_domain"',
        'CREATE POLICY domain_read ON "tenant_domain" FOR SELECT USING (true)',
        # FOR ALL also covers SELECT, where it only ORs with domain_read (true).
        f'CREATE POLICY domain_write ON "tenant_domain" FOR ALL USING {own_or_platform} '
        f"WITH CHECK {own_or_platform}",
    ]


def grants_sql(append_only_tables: list[str]) -> list[str]:
    """Grant the app role what it needs on every table (present and future);
    append-only tables get INSERT and SELECT only. The role must exist (the
    deployment creates it with LOGIN, a password and NOBYPASSRLS)."""
    role = app_role()
    stmts = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        f"REVOKE ALL ON alembic_version FROM {role}",
    ]
    stmts += [f'REVOKE UPDATE, DELETE, TRUNCATE ON "{t}" FROM {role}' for t in append_only_tables]
    return stmts


def new_tables_sql(
    tenant_tables: list[str],
    *,
    append_only: tuple[str, ...] = (),
    platform_tables: tuple[str, ...] = (),
) -> list[str]:
    """What a later migration runs for the tables it adds: each tenant table
    walled off, each platform table hidden from tenants, the append-only ones
    INSERT / SELECT only for the app role (0001's default privileges granted it
    the rest)."""
    role = app_role()
    stmts = [stmt for table in tenant_tables for stmt in tenant_table_sql(table)]
    stmts += [stmt for table in platform_tables for stmt in platform_table_sql(table)]
    stmts += [f'REVOKE UPDATE, DELETE, TRUNCATE ON "{t}" FROM {role}' for t in append_only]
    return stmts


def wall_new_tables(
    op: Any,
    tenant_tables: list[str],
    *,
    append_only: tuple[str, ...] = (),
    platform_tables: tuple[str, ...] = (),
) -> None:
    """Run ``new_tables_sql`` in a migration (``op`` is alembic's), on PostgreSQL only:
    SQLite has no row-level security or roles."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for stmt in new_tables_sql(
        tenant_tables, append_only=append_only, platform_tables=platform_tables
    ):
        op.execute(stmt)
