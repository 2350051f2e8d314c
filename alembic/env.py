"""Alembic environment: targets SQLModel.metadata (every model, via prm_saas.schema).

Migrations run as the schema owner: MIGRATION_DATABASE_URL if set (PostgreSQL,
where the app itself connects as a non-owner role), else DATABASE_URL, else
the embedded SQLite file.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

import sqlalchemy as sa

from alembic import context
from prm_saas.schema import metadata
from tenants.settings import VAR_DIR, load_kernel_settings

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = os.environ.get("MIGRATION_DATABASE_URL") or load_kernel_settings().database_url
if url.startswith("sqlite"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
