"""Small SQL statements that differ by dialect, written once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def dialect_insert(connection: Connection, table: Table) -> Any:
    """INSERT for the connection's dialect, with ON CONFLICT support."""
    return (postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert)(table)


def insert_ignoring_duplicates(connection: Connection, table: Table,
                               values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when a row was inserted.

    Told by RETURNING, not the row count: psycopg reports -1 for an INSERT that SQLAlchemy
    gives an implicit RETURNING (for the new primary key)."""
    key = list(table.primary_key.columns)
    statement = (dialect_insert(connection, table).values(**values).on_conflict_do_nothing()
                 .returning(*key))
    return connection.execute(statement).first() is not None
