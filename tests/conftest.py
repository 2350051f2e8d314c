"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when PRM_TEST_PG=1),
emptied after every test, and the two-tenant world.

On PostgreSQL the tests connect as the app role (no table ownership, no
BYPASSRLS) exactly like production, and migrate and clean up as the owner.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Cheap argon2 parameters for tests (production parameters are in prm_saas.settings);
# the algorithm and code path stay the same.
os.environ.setdefault("PRM_ARGON2_TIME_COST", "1")
os.environ.setdefault("PRM_ARGON2_MEMORY_KIB", "8192")
os.environ.setdefault("PRM_SECRET_KEY", "test-secret-key")

_TMP = Path(tempfile.mkdtemp(prefix="prm-test-"))
USE_PG = os.environ.get("PRM_TEST_PG") == "1"
if not USE_PG:
    os.environ["DATABASE_URL"] = f"sqlite:///{_TMP / 'test.sqlite'}"
    os.environ.pop("MIGRATION_DATABASE_URL", None)
os.environ.setdefault("PRM_VAR_DIR", str(_TMP))

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from tenants.db import get_engine, make_engine, set_engine  # noqa: E402
from tenants.resolution import invalidate_tenant_cache  # noqa: E402
from tests.database import migrate, owner_url, wipe_database  # noqa: E402
from tests.factories import World, make_world  # noqa: E402


@pytest.fixture(scope="session")
def database() -> Iterator[str]:
    """The migrated test database; yields its dialect name."""
    url = owner_url()
    if USE_PG:
        eng = sa.create_engine(url)
        with eng.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            conn.execute(sa.text("GRANT USAGE ON SCHEMA public TO PUBLIC"))
        eng.dispose()
    migrate(url)
    set_engine(make_engine(os.environ["DATABASE_URL"]))
    yield get_engine().dialect.name
    set_engine(None)


@pytest.fixture(autouse=True)
def clean_db(database: str, request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts and ends with empty tables (the tests of one module sharing
    ``demo_loaded`` share its rows: that fixture empties the tables when they are done)."""
    invalidate_tenant_cache()
    yield
    if "demo_loaded" not in request.fixturenames:
        wipe_database()
    invalidate_tenant_cache()


@pytest.fixture(scope="module")
def demo_loaded(database: str) -> Iterator[list[str]]:
    """The README's demo, loaded once for the read-only tests of a module (a load
    takes 20-40 s) with a localstripe as ``scripts/run.sh`` has one; yields what
    ``load_demo`` reported creating."""
    from prm_saas.demo import load_demo
    from tests.localstripe import run_localstripe

    invalidate_tenant_cache()
    with run_localstripe():
        created = load_demo()
        yield created
    wipe_database()
    invalidate_tenant_cache()


@pytest.fixture
def world() -> World:
    """Two tenants with an admin, a staff member and a patient each, and an operator."""
    return make_world()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip PostgreSQL-only tests on SQLite, saying why."""
    if USE_PG:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run with PRM_TEST_PG=1)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)
