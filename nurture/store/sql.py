"""Small SQL statements that differ by dialect, written once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Integer


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


class unindexed(FunctionElement[Any]):  # noqa: N801 - used like a SQL function
    """A column, written so that the planner does not pick an index on it (SQLite: unary plus;
    PostgreSQL: + 0 for an integer). SQLite, without statistics, takes an equality on any
    indexed column over a narrower range on another (every sent email over those of one day);
    PostgreSQL reads every event naming no email through the index on that column."""

    inherit_cache = True
    name = "unindexed"

    def __init__(self, column: ColumnElement[Any]) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"+{column}"


@compiles(unindexed, "postgresql")
def _unindexed_postgresql(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"({column} + 0)" if isinstance(element.type, Integer) else column
