"""The migrations build exactly the schema the models describe: a model change
without its migration (or a migration that drifted) fails here, on the database
the suite runs on."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import prm_saas.schema  # noqa: F401  (every model in the metadata)
from tests.database import owner_url


def test_migrated_schema_matches_the_models() -> None:
    engine = sa.create_engine(owner_url())
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == []
