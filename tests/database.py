"""The test database: migrate it, empty it (as the schema owner, below the tenant wall).

Kept out of conftest.py so other test modules can import it without importing
a conftest a second time.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from prm_saas.schema import metadata

ROOT = Path(__file__).resolve().parent.parent


def owner_url() -> str:
    """URL of the schema owner (migrations, cleanup)."""
    return os.environ.get("MIGRATION_DATABASE_URL") or os.environ["DATABASE_URL"]


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.attributes["skip_logging"] = True
    old = os.environ.get("MIGRATION_DATABASE_URL")
    os.environ["MIGRATION_DATABASE_URL"] = url
    try:
        command.upgrade(cfg, "head")
    finally:
        if old is None:
            os.environ.pop("MIGRATION_DATABASE_URL", None)
        else:
            os.environ["MIGRATION_DATABASE_URL"] = old


def wipe_database() -> None:
    """Empty every table (as the owner, below the tenant wall).

    On PostgreSQL a TRUNCATE of every table costs file work per table (about
    0.15 s for ~80 tables, after every test), so only the tables that hold rows
    are truncated (found in one statement, when the owner reads past the tenant
    policies as scripts/pg.sh makes it; else all), and every sequence starts again at 1
    as RESTART IDENTITY would have done (a rolled-back insert advances a
    sequence of a table left empty)."""
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    eng = _owner_engine(owner_url())
    with eng.begin() as conn:
        if conn.dialect.name == "postgresql":
            probe = " UNION ALL ".join(
                f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables
            )
            bypass = conn.execute(
                sa.text(
                    "SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user"
                )
            ).scalar_one()
            # An owner under the tenant policies would see tenant tables as empty.
            full = [row[0] for row in conn.execute(sa.text(probe))] if bypass else tables
            if full:
                conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in full) + " CASCADE"))
            conn.execute(
                sa.text(
                    "SELECT setval(c.oid, 1, false) FROM pg_class c "
                    "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"
                )
            )
        else:
            for t in tables:
                conn.execute(sa.text(f'DELETE FROM "{t}"'))


@functools.cache
def _owner_engine(url: str) -> sa.Engine:
    """One owner connection kept for the wipes after every test (a new one each
    time cost more than the wipe)."""
    return sa.create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)
