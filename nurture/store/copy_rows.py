"""Writing many rows at once, for the reports' summaries (a lead import writes a thousand at a
time, a rebuild millions): COPY on PostgreSQL, the driver's own executemany on SQLite.
SQLAlchemy's executemany would process every value in Python first (an aware datetime costs two
calls), which was most of the time of both. Values go in as the columns store them: aware
datetimes become SQLite's naive UTC text, as UTCDateTime writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, inspect

SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


def copy_rows(connection: Connection, table: Table, columns: Sequence[str],
              rows: Sequence[Sequence[Any]]) -> None:
    """Insert `rows` (values of `columns`, in order) into `table`, in the caller's transaction."""
    if not rows:
        return
    driver: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    driver.executemany(
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' * len(columns))})",
        ([_sqlite_value(value) for value in row] for row in rows))


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(SQLITE_DATETIME)
    return value


@contextmanager
def indexes_dropped(connection: Connection, table: Table) -> Any:
    """Drop the table's own indexes (not its primary key) while rows pour in, and build them
    again after: faster than keeping them up row by row."""
    present = {index["name"] for index in inspect(connection).get_indexes(table.name)}
    dropped = [index for index in table.indexes if index.name in present]
    for index in dropped:
        index.drop(connection)
    yield
    for index in dropped:
        index.create(connection)
