"""The test database: migrate it, empty it (as the schema owner, below the tenant wall).

Kept out of conftest.py so other test modules can import it without importing
a conftest a second time.
"""

from __future__ import annotations

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
    """Empty every table (as the owner, below the tenant wall)."""
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    eng = sa.create_engine(owner_url(), poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
        else:
            for t in tables:
                conn.execute(sa.text(f'DELETE FROM "{t}"'))
    eng.dispose()
