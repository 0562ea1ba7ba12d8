"""Writing many rows of one table in one statement, for the assessment of a batch of leads.

SQLAlchemy's executemany processes every parameter of every row in Python (a UTCDateTime
costs two calls) and psycopg then runs one statement per row; a rules sweep writes a million
rows. Here the values go to the driver as they are: on PostgreSQL as one array per column,
unnested by the server (`UPDATE … FROM unnest(…)`, `INSERT … SELECT FROM unnest(…)`), one
statement with one text, so it stays prepared; on SQLite, where a statement costs no round
trip, through sqlite3's own executemany, datetimes written as the naive UTC text UTCDateTime
stores.

Only the column types of the rows assessments and tracking hits write are handled: integers,
floats, text, booleans, aware datetimes and (on PostgreSQL, returning ids) JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Boolean, Column, Connection, Dialect, Float, Integer, String, Table
from sqlalchemy.types import TypeDecorator

from nurture.store.types import UTCDateTime

Row = Sequence[Any]


def update_rows(connection: Connection, table: Table, columns: Sequence[str],
                rows: Sequence[Row]) -> None:
    """Set `columns` of the rows of `table` whose id is each row's first value, to the rest."""
    if not rows:
        return
    names = ("id", *columns)
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_pg_update(table, names), _arrays(table, names, rows))
    else:
        connection.exec_driver_sql(_sqlite_update(table, names),
                                   _sqlite_rows(table, names, rows, id_last=True))


def insert_rows(connection: Connection, table: Table, columns: Sequence[str],
                rows: Sequence[Row]) -> None:
    """Insert `rows` (values of `columns`, in order) into `table`."""
    if not rows:
        return
    names = tuple(columns)
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_pg_insert(table, names), _arrays(table, names, rows))
    else:
        connection.exec_driver_sql(_sqlite_insert(table, names), _sqlite_rows(
            table, names, rows, id_last=False, dialect=connection.dialect))


def insert_returning_ids(connection: Connection, table: Table, columns: Sequence[str],
                         rows: Sequence[Row]) -> list[int]:
    """`insert_rows`, returning the new rows' ids in the order of `rows` (JSON columns too)."""
    if not rows:
        return []
    names = tuple(columns)
    if connection.dialect.name == "postgresql":
        # The rows go in in their order, so the ids the sequence gives them rise in that order.
        return sorted(connection.exec_driver_sql(_pg_insert_returning(table, names),
                                                 _arrays(table, names, rows)).scalars())
    # SQLite: the caller's transaction holds the write lock (store.engine.writing), so the ids
    # after the largest can be given here; sqlite3's executemany then writes them all.
    first = connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) + 1 FROM {table.name}"
                                       ).scalar_one()
    ids = list(range(first, first + len(rows)))
    connection.exec_driver_sql(_sqlite_insert(table, ("id", *names)), _sqlite_rows(
        table, ("id", *names), [(new_id, *row) for new_id, row in zip(ids, rows, strict=True)],
        id_last=False, dialect=connection.dialect))
    return ids


def _arrays(table: Table, names: Sequence[str], rows: Sequence[Row]) -> dict[str, list[Any]]:
    """One list per column; psycopg dumps a list of one type only, so floats are made floats."""
    arrays: dict[str, list[Any]] = {}
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        kind = _pg_type(table.c[name])
        if kind == "float8":
            arrays[name] = [None if value is None else float(value) for value in values]
        elif kind == "jsonb":
            arrays[name] = [None if value is None else Jsonb(value) for value in values]
        else:
            arrays[name] = list(values)
    return arrays


@lru_cache(maxsize=64)
def _pg_update(table: Table, names: tuple[str, ...]) -> str:
    values = ", ".join(f"{name} = v.{name}" for name in names[1:])
    return (f"UPDATE {table.name} SET {values} FROM {_pg_unnest(table, names)} "
            f"AS v({', '.join(names)}) WHERE {table.name}.id = v.id")


@lru_cache(maxsize=64)
def _pg_insert(table: Table, names: tuple[str, ...]) -> str:
    return (f"INSERT INTO {table.name} ({', '.join(names)}) "
            f"SELECT * FROM {_pg_unnest(table, names)}")


@lru_cache(maxsize=64)
def _pg_insert_returning(table: Table, names: tuple[str, ...]) -> str:
    return (f"INSERT INTO {table.name} ({', '.join(names)}) "
            f"SELECT {', '.join(names)} FROM {_pg_unnest(table, names)} WITH ORDINALITY "
            f"AS v({', '.join(names)}, position) ORDER BY position RETURNING id")


def _pg_unnest(table: Table, names: tuple[str, ...]) -> str:
    arrays = ", ".join(f"%({name})b::{_pg_type(table.c[name])}[]" for name in names)
    return f"unnest({arrays})"


def _pg_type(column: Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return "timestamptz"
    if isinstance(kind, TypeDecorator):  # SQLModel's AutoString: text
        kind = kind.impl_instance
    if isinstance(kind, JSON):
        return "jsonb"
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, Float):
        return "float8"
    if isinstance(kind, String):
        return "text"
    raise TypeError(f"{column.table.name}.{column.name}: no bulk write for {kind!r}")


@lru_cache(maxsize=64)
def _sqlite_update(table: Table, names: tuple[str, ...]) -> str:
    values = ", ".join(f"{name} = ?" for name in names[1:])
    return f"UPDATE {table.name} SET {values} WHERE id = ?"


@lru_cache(maxsize=64)
def _sqlite_insert(table: Table, names: tuple[str, ...]) -> str:
    return (f"INSERT INTO {table.name} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' * len(names))})")


def _sqlite_rows(table: Table, names: tuple[str, ...], rows: Sequence[Row], *, id_last: bool,
                 dialect: Dialect | None = None) -> Sequence[Row]:
    """The rows as sqlite3 takes them: datetimes as stored text, JSON as the column's own
    processor writes it (with `dialect`); with `id_last`, the first value (an update's id)
    moved to the end, where its WHERE clause takes it."""
    conversions: list[tuple[int, Callable[[Any], Any]]] = []
    for index, name in enumerate(names):
        kind = table.c[name].type
        if isinstance(kind, UTCDateTime):
            conversions.append((index, sqlite_time))
        elif isinstance(kind, JSON) and dialect is not None:
            processor = kind.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                conversions.append((index, processor))
    if not conversions and not id_last:
        return [tuple(row) for row in rows]
    converted: list[Row] = []
    for row in rows:
        values = list(row)
        for index, convert in conversions:
            values[index] = convert(values[index])
        if id_last:
            values.append(values.pop(0))
        converted.append(tuple(values))
    return converted


def sqlite_time(value: datetime | None) -> str | None:
    """An aware datetime as UTCDateTime stores it on SQLite: naive UTC text with microseconds."""
    if value is None:
        return None
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"naive datetime {value.isoformat()} given to the database")
    if offset:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without its "+00:00"
