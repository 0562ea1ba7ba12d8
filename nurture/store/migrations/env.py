"""Alembic environment: nurture.store.engine.upgrade() passes an open connection in
`config.attributes["connection"]`; the alembic command connects to NURTURE_DATABASE_URL instead.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import nurture.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from nurture.store.engine import make_engine, migration_connection

config = context.config
target_metadata = SQLModel.metadata


def _database_url() -> str:
    return os.environ.get("NURTURE_DATABASE_URL", "sqlite:///nurture.db")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    if config.config_file_name:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = make_engine(_database_url())
    try:
        with migration_connection(engine) as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


def run_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL for a DBA to run."""
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
