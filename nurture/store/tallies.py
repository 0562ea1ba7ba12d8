"""Writing the Daily* tables (report_models.py): writers append pending rows of changes, added
up per key (`Deltas`); `fold` adds the pending rows into one folded row per key.

Appending takes no lock another transaction waits on, whatever the key: many workers counting
the same day and stage never queue on one row (and never deadlock on two). A reader sums the
folded and the pending rows of a key in one statement, so folding never changes what it reads.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, insert

from nurture.store.report_models import DailyEmails, DailyEntries, DailyGaps, DailyLeads

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def day_of(moment: datetime) -> int:
    """The UTC day number of `moment`: whole days since 1970-01-01."""
    return (moment - EPOCH) // DAY


def day_start(day: int) -> datetime:
    return EPOCH + day * DAY


@dataclass(frozen=True)
class Daily:
    """One Daily* table: its key columns, the columns added up, and those folded by least."""

    table: Table
    keys: tuple[str, ...]
    sums: tuple[str, ...]
    least: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.keys, *self.sums, *self.least)


ENTRIES = Daily(DailyEntries.__table__,  # type: ignore[attr-defined]
                ("day", "stage", "prev_day", "earlier", "later", "tied"), ("n",))
GAPS = Daily(DailyGaps.__table__,  # type: ignore[attr-defined]
             ("day", "stage_order", "from_stage"), ("n", "seconds"))
LEADS = Daily(DailyLeads.__table__,  # type: ignore[attr-defined]
              ("day", "source", "industry", "visited"), ("n", "value"))
EMAILS = Daily(DailyEmails.__table__,  # type: ignore[attr-defined]
               ("day", "sequence_id", "touch_index", "variant"),
               ("sent", "bounced", "opened", "clicked", "replied", "unsubscribed"), ("subject",))
DAILY = (ENTRIES, GAPS, LEADS, EMAILS)
Key = tuple[Any, ...]


class Deltas:
    """Changes to the Daily* tables, added up per key until `write`."""

    def __init__(self) -> None:
        self.sums: dict[Daily, dict[Key, list[Any]]] = defaultdict(dict)
        self.least: dict[Daily, dict[Key, list[Any]]] = defaultdict(dict)

    def add(self, daily: Daily, key: Key, values: tuple[Any, ...], sign: int = 1,
            least: tuple[Any, ...] = ()) -> None:
        """Add (sign 1) or take back (sign -1) `values` (of daily.sums) under `key`; `least`
        (of daily.least) only ever lowers what is stored."""
        by_key = self.sums[daily]
        found = by_key.get(key)
        if found is None:
            by_key[key] = [sign * value for value in values]
        else:
            for index, value in enumerate(values):
                found[index] += sign * value
        if least:
            lowest = self.least[daily].setdefault(key, [None] * len(daily.least))
            for index, value in enumerate(least):
                if value is not None and (lowest[index] is None or value < lowest[index]):
                    lowest[index] = value

    def write(self, connection: Connection, pending: bool = True) -> None:
        """Append the changes as pending rows, skipping keys whose changes cancel out (or as
        folded rows, into tables that hold none of these keys: a rebuild)."""
        for daily, by_key in self.sums.items():
            lowest = self.least.get(daily, {})
            rows = [{"pending": pending, **dict(zip(daily.keys, key, strict=True)),
                     **dict(zip(daily.sums, sums, strict=True)),
                     **dict(zip(daily.least, lowest.get(key, [None] * len(daily.least)),
                                strict=True))}
                    for key, sums in by_key.items() if any(sums) or key in lowest]
            if rows:
                connection.execute(insert(daily.table), rows)
        self.sums.clear()
        self.least.clear()


def fold(connection: Connection) -> None:
    """Add every pending row into the folded row of its key, in the caller's transaction; keys
    left with nothing counted are dropped. Safe to run in several processes at once: on
    PostgreSQL each moves the pending rows it deletes, and one waits for the other."""
    for daily in DAILY:
        for statement in _fold_sql(daily, connection.dialect.name):
            connection.exec_driver_sql(statement)


@cache
def _fold_sql(daily: Daily, dialect: str) -> tuple[str, ...]:
    table, keys = daily.table.name, ", ".join(daily.keys)
    columns = ", ".join(daily.columns)
    added = ", ".join([f"sum({c})" for c in daily.sums] + [f"min({c})" for c in daily.least])
    update = ", ".join(
        [f"{c} = {table}.{c} + excluded.{c}" for c in daily.sums]
        + [f"{c} = CASE WHEN excluded.{c} IS NULL OR {table}.{c} <= excluded.{c} "
           f"THEN {table}.{c} ELSE excluded.{c} END" for c in daily.least])
    conflict = f"ON CONFLICT ({keys}) WHERE NOT pending DO UPDATE SET {update}"
    drop_empty = (f"DELETE FROM {table} WHERE NOT pending AND n = 0",) if "n" in daily.sums \
        else ()
    if dialect == "postgresql":
        return (f"WITH moved AS (DELETE FROM {table} WHERE pending RETURNING {columns}) "
                f"INSERT INTO {table} (pending, {columns}) SELECT false, {keys}, {added} "
                f"FROM moved GROUP BY {keys} {conflict}", *drop_empty)
    # SQLite: one writer at a time, so nothing is appended between the two statements.
    return (f"INSERT INTO {table} (pending, {columns}) SELECT 0, {keys}, {added} "
            f"FROM {table} WHERE pending GROUP BY {keys} {conflict}",
            f"DELETE FROM {table} WHERE pending", *drop_empty)
